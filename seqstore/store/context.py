"""The service layer's root: settings, database, blob store, and one object per resource."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..blobs import BlobStore
from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from .access_keys import AccessKeys
from .common import Arns

if TYPE_CHECKING:
    from .read_set_jobs import ReadSetJobs
    from .read_sets import ReadSets
    from .references import References
    from .s3_access import S3AccessPolicies
    from .sequence_stores import SequenceStores
    from .tags import Tags
    from .uploads import Uploads


class StoreContext:
    """Everything the domain needs, passed in rather than imported, so tests and scale-out
    deployments assemble the same service with other parts."""

    def __init__(self, settings: Settings, db: Database, blobs: BlobStore, keys: AccessKeys) -> None:
        from .read_set_jobs import ReadSetJobs
        from .read_sets import ReadSets
        from .references import References
        from .s3_access import S3AccessPolicies
        from .sequence_stores import SequenceStores
        from .tags import Tags
        from .uploads import Uploads

        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.keys = keys
        self.arns = Arns(settings.region, settings.account_id)
        self.tags: Tags = Tags(self)
        self.sequence_stores: SequenceStores = SequenceStores(self)
        self.read_sets: ReadSets = ReadSets(self)
        self.uploads: Uploads = Uploads(self)
        self.read_set_jobs: ReadSetJobs = ReadSetJobs(self)
        self.references: References = References(self)
        self.s3_access: S3AccessPolicies = S3AccessPolicies(self)
        # Set by whoever runs workers in this process, so new jobs start without waiting for a poll.
        self.wake_workers: Callable[[], None] = lambda: None

    def references_fasta(self, reference_arn: str | None) -> Path | None:
        """A local copy of the FASTA (with its .fai beside it) of an ACTIVE reference, or None."""
        if not reference_arn:
            return None
        words = self.arns.parse(reference_arn)
        if words is None or len(words) != 4 or words[0] != "referenceStore":
            return None
        with self.db.read() as connection:
            row = connection.execute(
                select(t.reference_files.c.blob_key)
                .join(t.references, t.references.c.id == t.reference_files.c.reference_id)
                .where(
                    t.references.c.id == words[3],
                    t.references.c.reference_store_id == words[1],
                    t.references.c.status == "ACTIVE",
                    t.reference_files.c.file == "source",
                )
            ).first()
        if row is None:
            return None
        self.blobs.cached_file(f"{row.blob_key}.fai")
        return self.blobs.cached_file(row.blob_key)

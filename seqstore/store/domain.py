"""The domain assembled: one object per resource, each given the parts it uses, built in the
order they depend on each other. The API handlers and the job runners both act through it."""

from __future__ import annotations

from ..blobs import BlobStore
from ..config import Settings
from ..db.engine import Database
from ..queue import WakeSignal
from ..queue import jobs as queue_jobs
from .access_keys import AccessKeys
from .arns import Arns
from .disk import DiskSpace
from .read_set_jobs import ReadSetJobs
from .read_set_lifecycle import ReadSetLifecycle
from .read_set_objects import ReadSetObjects
from .read_sets import ReadSets
from .reference_imports import ReferenceImports
from .reference_stores import ReferenceStores
from .references import References
from .s3_access import S3AccessPolicies
from .s3_objects import S3Objects
from .scrub import ScrubState
from .sequence_stores import SequenceStores
from .tagging import Tagging
from .uploads import Uploads


class Domain:
    """Everything the service does, on these parts (passed in, so tests and scale-out deployments
    assemble the same service with others). `wake` is notified whenever a job is queued."""

    def __init__(
        self, settings: Settings, db: Database, blobs: BlobStore, keys: AccessKeys, wake: WakeSignal
    ) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.keys = keys
        self.wake = wake
        # The data dir (database, work dir, cache) and the local blob dir, if blobs are local.
        local = {"data": settings.data_dir} | ({} if settings.blob_url else {"blobs": settings.blob_dir})
        self.disk = DiskSpace(local, settings.min_free_bytes)
        self.arns = arns = Arns(settings.region, settings.account_id)
        self.sequence_stores = SequenceStores(db, settings, arns, blobs, wake)
        self.read_set_objects = ReadSetObjects(db, blobs, arns, self.sequence_stores)
        self.lifecycle = ReadSetLifecycle(db, settings, arns, blobs, self.sequence_stores)
        self.read_sets = ReadSets(db, settings, arns, blobs, self.sequence_stores, self.lifecycle)
        self.uploads = Uploads(db, blobs, wake, self.sequence_stores, self.read_sets, self.lifecycle)
        self.read_set_jobs = ReadSetJobs(db, wake, self.sequence_stores, self.read_sets, self.lifecycle)
        self.reference_stores = ReferenceStores(db, settings, arns)
        self.references = References(db, settings, arns, blobs, self.reference_stores)
        self.reference_imports = ReferenceImports(db, wake, self.reference_stores)
        self.s3_access = S3AccessPolicies(db, settings)
        self.tagging = Tagging(db, arns, self.read_set_objects)
        self.s3_objects = S3Objects(
            db, settings.account_id, self.sequence_stores, self.lifecycle, self.read_set_objects
        )
        self.scrub = ScrubState(db)  # the background scrub's lease, cursor and findings

    def queue_depth(self) -> dict[str, int]:
        """Runnable jobs by kind (for the metrics)."""
        return queue_jobs.depth(self.db)

    def recover(self) -> None:
        """Finish what a crash interrupted: deletions, abandoned upload parts."""
        self.lifecycle.recover()
        self.uploads.recover()

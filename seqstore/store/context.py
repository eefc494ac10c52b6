"""The service layer's root: settings, database, blob store, and one object per resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..blobs.local import LocalBlobStore
from ..config import Settings
from ..db.engine import Database
from .common import Arns

if TYPE_CHECKING:
    from .sequence_stores import SequenceStores
    from .tags import Tags


class StoreContext:
    """Everything the domain needs, passed in rather than imported, so tests and scale-out
    deployments assemble the same service with other parts."""

    def __init__(self, settings: Settings, db: Database, blobs: LocalBlobStore) -> None:
        from .sequence_stores import SequenceStores
        from .tags import Tags

        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.arns = Arns(settings.region, settings.account_id)
        self.tags: Tags = Tags(self)
        self.sequence_stores: SequenceStores = SequenceStores(self)

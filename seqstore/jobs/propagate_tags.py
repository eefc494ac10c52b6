"""Runner of PROPAGATE_TAGS jobs: after a store's propagatedSetLevelTags changed, write the object
tags of each of its read sets again (docs/behaviour.md, "Tag propagation"). Safe to repeat: each read
set's tags are computed afresh."""

from __future__ import annotations

from typing import Any

from .. import queue
from ..store.domain import Domain


class PropagateTagsRunner:
    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def run(self, job: Any) -> None:
        objects = self.domain.read_set_objects
        for read_set_id in objects.ids_with_objects(job.store_id):
            objects.apply_object_tags(read_set_id)
        queue.finish_job(self.domain.db, job.id, "COMPLETED")

    def fail(self, job: Any, message: str) -> None:
        queue.finish_job(self.domain.db, job.id, "FAILED", message)

"""Runner of PROPAGATE_TAGS jobs: after a store's propagatedSetLevelTags changed, write the object
tags of each of its read sets again (spec §14). Safe to repeat: each read set's tags are computed
afresh."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db import schema as t
from ..store.context import StoreContext
from . import queue

PAGE = 500


class PropagateTagsRunner:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def run(self, job: Any) -> None:
        c = t.read_sets.c
        after = 0
        while True:
            with self.ctx.db.read() as connection:
                rows = connection.execute(
                    select(c.seq, c.id)
                    .where(c.sequence_store_id == job.store_id, c.seq > after, c.status.in_(("ACTIVE", "ARCHIVED")))
                    .order_by(c.seq)
                    .limit(PAGE)
                ).all()
            for row in rows:
                self.ctx.read_sets.apply_object_tags(row.id)
            if len(rows) < PAGE:
                break
            after = rows[-1].seq
        with self.ctx.db.write() as connection:
            queue.finish(connection, job.id, "COMPLETED")

    def fail(self, job: Any, message: str) -> None:
        with self.ctx.db.write() as connection:
            queue.finish(connection, job.id, "FAILED", message)

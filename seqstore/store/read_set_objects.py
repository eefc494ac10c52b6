"""The blobs of a read set as objects: their tags (docs/behaviour.md, "Object tags") and their
moves between the standard and the archive prefix."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from ..blobs import BlobStore
from ..db import schema as t
from ..db.engine import Database
from . import read_set_rows as rows
from . import tags
from .arns import Arns
from .sequence_stores import SequenceStores

log = logging.getLogger("seqstore.read_sets")

PAGE = 500


class ReadSetObjects:
    def __init__(self, db: Database, blobs: BlobStore, arns: Arns, sequence_stores: SequenceStores) -> None:
        self.db = db
        self.blobs = blobs
        self.arns = arns
        self.sequence_stores = sequence_stores

    def object_tags(self, connection: Connection, read_set: Any) -> dict[str, str]:
        """The tags a read set's objects carry: `omics:sampleId`, `omics:subjectId`, and the read
        set's tags whose keys the store propagates."""
        store = self.sequence_stores.require(connection, read_set.sequence_store_id)
        own = tags.get(connection, self.arns.read_set(read_set.sequence_store_id, read_set.id))
        found = {"omics:sampleId": read_set.sample_id, "omics:subjectId": read_set.subject_id}
        found.update({k: own[k] for k in store.propagated_set_level_tags or [] if k in own})
        return found

    def tag_files(self, read_set_id: str, keys: list[str]) -> dict[str, str] | None:
        """Give these blobs of a read set its object tags as they are now (files just moved, or
        stored by ingestion before the read set becomes ACTIVE, so that a client never sees it
        ACTIVE with untagged objects); return the tags written (None on a blob store without
        object tags). After ingestion's mark, `apply_object_tags(..., written=)` catches a tag
        change made in between."""
        if not self.blobs.object_tags:
            return None
        with self.db.read() as connection:
            row = rows.by_id(connection, read_set_id)
            if row is None:
                return None
            found = self.object_tags(connection, row)
        self._tag_objects(read_set_id, keys, found)
        return found

    def apply_object_tags(self, read_set_id: str, written: dict[str, str] | None = None) -> None:
        """Write the object tags of an ACTIVE or ARCHIVED read set's files (after ingestion, a tag
        change or a move), on a blob store that has object tags; not when they are `written`
        already."""
        if not self.blobs.object_tags:
            return
        with self.db.read() as connection:
            row = rows.by_id(connection, read_set_id)
            if row is None or row.status not in ("ACTIVE", "ARCHIVED"):
                return
            found = self.object_tags(connection, row)
            if found == written:
                return
            stored = rows.files(connection, read_set_id)
        keys = [rows.archive_key(f.blob_key) if row.status == "ARCHIVED" else f.blob_key for f in stored]
        self._tag_objects(read_set_id, keys, found)

    def _tag_objects(self, read_set_id: str, keys: list[str], found: dict[str, str]) -> None:
        """Set the tags of these blobs; a failure is logged: the bytes and the metadata stay right."""
        for key in keys:
            try:
                self.blobs.set_tags(key, found)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                log.warning("read set %s: could not tag %s: %s", read_set_id, key, exc)

    def move_files(self, read_set_id: str, *, archived: bool) -> None:
        """Move a read set's files to the archive prefix (`archived`) or back. Safe to repeat."""
        with self.db.read() as connection:
            stored = rows.files(connection, read_set_id)
        targets = []
        for file in stored:
            cold = rows.archive_key(file.blob_key)
            source, target = (file.blob_key, cold) if archived else (cold, file.blob_key)
            self.blobs.move(source, target)
            targets.append(target)
        self.tag_files(read_set_id, targets)  # a copy by parts does not carry object tags over

    def ids_with_objects(self, store_id: str) -> Iterator[str]:
        """The ids of the store's read sets whose files are stored (ACTIVE or ARCHIVED), a page
        at a time."""
        c = t.read_sets.c
        after = 0
        while True:
            with self.db.read() as connection:
                page = connection.execute(
                    select(c.seq, c.id)
                    .where(c.sequence_store_id == store_id, c.seq > after, c.status.in_(("ACTIVE", "ARCHIVED")))
                    .order_by(c.seq)
                    .limit(PAGE)
                ).all()
            yield from (row.id for row in page)
            if len(page) < PAGE:
                return
            after = page[-1].seq

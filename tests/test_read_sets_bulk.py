"""`ReadSets.insert_active_many` (bulk filling, used by bench/scale.py) leaves the rows, files and
tags that `insert_processing` + `mark_active` leave, one read set at a time."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import TEST_DATABASE, new_postgres_database_url
from sqlalchemy import select

from seqstore.api.app import build_store
from seqstore.config import Settings
from seqstore.db import schema as t
from seqstore.store import read_sets as read_sets_module
from seqstore.store.context import StoreContext
from seqstore.store.read_sets import IngestedReadSet, StoredFile


@pytest.fixture
def ctx(tmp_path: Path) -> Any:
    database_url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else ""
    context = build_store(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield context
    context.db.dispose()


def item(name: str, tags: dict[str, str]) -> IngestedReadSet:
    source = SimpleNamespace(
        name=name, description="d", subject_id="subject-1", sample_id="sample-1", generated_from="g",
        reference_arn="arn:aws:omics:us-east-1:123456789012:referenceStore/1/reference/2",
        source_file_type="BAM", tags=tags,
    )  # fmt: skip
    return IngestedReadSet(
        source=source, creation_type="IMPORT", creation_job_id="1234567890", read_count=10, base_count=1500,
        alignment="ALIGNED", etag_algorithm="BAM_MD5up", etags={"source1": "a" * 32},
        files=[StoredFile("source1", f"k/{name}.bam", f"{name}.bam", 1000),
               StoredFile("index", f"k/{name}.bam.bai", f"{name}.bai", 10)],
    )  # fmt: skip


def state(ctx: StoreContext, store_id: str, read_set_id: str) -> dict[str, Any]:
    """Everything stored about a read set, without what differs by nature (id, ARN, times)."""
    with ctx.db.read() as connection:
        row = connection.execute(select(t.read_sets).where(t.read_sets.c.id == read_set_id)).one()
        files = connection.execute(
            select(t.read_set_files).where(t.read_set_files.c.read_set_id == read_set_id)
        ).all()
        tags = ctx.tags.get(connection, ctx.arns.read_set(store_id, read_set_id))
    columns = {k: v for k, v in row._mapping.items() if k not in ("seq", "id")}
    times = (columns.pop("creation_time"), columns.pop("update_time"), columns.pop("last_access_time"))
    assert all(times)
    return {
        "row": columns,
        "files": sorted((f.file, f.blob_key, f.file_name, f.content_length, f.part_size) for f in files),
        "tags": tags,
    }


def test_bulk_equals_one_by_one(ctx: StoreContext) -> None:
    store_id = ctx.sequence_stores.create({"name": "bulk"})["id"]
    with ctx.db.write() as connection:
        store = ctx.sequence_stores.require(connection, store_id)
        one = item("rs", {"k": "v"})
        single = ctx.read_sets.insert_processing(
            connection,
            store,
            one.source,
            creation_type=one.creation_type,
            creation_job_id=one.creation_job_id,
        )
        ctx.read_sets.mark_active(
            connection, single, read_count=one.read_count, base_count=one.base_count, alignment=one.alignment,
            etag_algorithm=one.etag_algorithm, etags=one.etags, files=one.files,
        )  # fmt: skip
        bulk = ctx.read_sets.insert_active_many(
            connection, store, [item("rs", {"k": "v"}), item("other", {})]
        )
    assert len(bulk) == 2 and len(set(bulk) | {single}) == 3
    assert state(ctx, store_id, bulk[0]) == state(ctx, store_id, single)
    other = state(ctx, store_id, bulk[1])
    assert other["row"]["name"] == "other" and other["tags"] == {} and len(other["files"]) == 2
    listed = ctx.read_sets.list_read_sets({"sequenceStoreId": store_id})["readSets"]
    assert [r["id"] for r in listed] == [single, *bulk]  # created in this order
    assert ctx.read_sets.get_metadata(store_id, bulk[0])["status"] == "ACTIVE"


def test_bulk_skips_taken_ids(ctx: StoreContext, monkeypatch: pytest.MonkeyPatch) -> None:
    store_id = ctx.sequence_stores.create({"name": "bulk"})["id"]
    with ctx.db.write() as connection:
        store = ctx.sequence_stores.require(connection, store_id)
        [taken] = ctx.read_sets.insert_active_many(connection, store, [item("first", {})])
        assert ctx.read_sets.insert_active_many(connection, store, []) == []
    fresh = (f"{n:010d}" for n in itertools.count(1))
    draws = itertools.chain([taken, taken], fresh)  # the first two draws collide
    monkeypatch.setattr(read_sets_module, "new_id", lambda: next(draws))
    with ctx.db.write() as connection:
        ids = ctx.read_sets.insert_active_many(connection, store, [item("a", {}), item("b", {})])
    assert taken not in ids and len(set(ids)) == 2

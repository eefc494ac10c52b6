"""`store.bulk.insert_active_many` (bulk filling, used by bench/scale.py) leaves the rows, files and
tags that `insert_processing` + `mark_active` leave, one read set at a time. And ListReadSets
filtered by creation time, paged through read sets filled in bulk with chosen creation times
while more arrive."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update

from seqstore.config import Settings
from seqstore.db import schema as t
from seqstore.errors import ValidationException
from seqstore.server import build_domain
from seqstore.store import bulk
from seqstore.store import tags as tag_rows
from seqstore.store.bulk import IngestedReadSet
from seqstore.store.domain import Domain
from seqstore.store.read_set_lifecycle import Analysis
from seqstore.store.read_set_rows import StoredFile
from tests.helpers.backends import TEST_DATABASE, new_postgres_database_url


@pytest.fixture
def ctx(tmp_path: Path) -> Any:
    database_url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else ""
    context = build_domain(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield context
    context.db.dispose()


def item(name: str, tags: dict[str, str]) -> IngestedReadSet:
    source = SimpleNamespace(
        name=name, description="d", subject_id="subject-1", sample_id="sample-1", generated_from="g",
        reference_arn="arn:aws:omics:us-east-1:123456789012:referenceStore/1/reference/2",
        source_file_type="BAM", tags=tags,
    )  # fmt: skip
    return IngestedReadSet(
        source=source, creation_type="IMPORT", creation_job_id="1234567890",
        analysis=Analysis(read_count=10, base_count=1500, alignment="ALIGNED", etag_algorithm="BAM_MD5up",
                          etags={"source1": "a" * 32}),
        files=[StoredFile("source1", f"k/{name}.bam", f"{name}.bam", 1000),
               StoredFile("index", f"k/{name}.bam.bai", f"{name}.bai", 10)],
    )  # fmt: skip


def insert_many(ctx: Domain, connection: Any, store: Any, items: list[IngestedReadSet]) -> list[str]:
    return bulk.insert_active_many(connection, ctx.arns, ctx.settings.part_size, store, items)


def state(ctx: Domain, store_id: str, read_set_id: str) -> dict[str, Any]:
    """Everything stored about a read set, without what differs by nature (id, ARN, times)."""
    with ctx.db.read() as connection:
        row = connection.execute(select(t.read_sets).where(t.read_sets.c.id == read_set_id)).one()
        files = connection.execute(
            select(t.read_set_files).where(t.read_set_files.c.read_set_id == read_set_id)
        ).all()
        tags = tag_rows.get(connection, ctx.arns.read_set(store_id, read_set_id))
    columns = {k: v for k, v in row._mapping.items() if k not in ("seq", "id")}
    times = (columns.pop("creation_time"), columns.pop("update_time"), columns.pop("last_access_time"))
    assert all(times)
    return {
        "row": columns,
        "files": sorted((f.file, f.blob_key, f.file_name, f.content_length, f.part_size) for f in files),
        "tags": tags,
    }


def test_bulk_equals_one_by_one(ctx: Domain) -> None:
    store_id = ctx.sequence_stores.create({"name": "bulk"})["id"]
    with ctx.db.write() as connection:
        store = ctx.sequence_stores.require(connection, store_id)
        one = item("rs", {"k": "v"})
        single = ctx.lifecycle.insert_processing(
            connection,
            store,
            one.source,
            creation_type=one.creation_type,
            creation_job_id=one.creation_job_id,
        )
    ctx.lifecycle.mark_active(single, one.analysis, one.files)
    with ctx.db.write() as connection:
        many = insert_many(ctx, connection, store, [item("rs", {"k": "v"}), item("other", {})])
    assert len(many) == 2 and len(set(many) | {single}) == 3
    assert state(ctx, store_id, many[0]) == state(ctx, store_id, single)
    other = state(ctx, store_id, many[1])
    assert other["row"]["name"] == "other" and other["tags"] == {} and len(other["files"]) == 2
    listed = ctx.read_sets.list_read_sets({"sequenceStoreId": store_id})["readSets"]
    assert [r["id"] for r in listed] == [single, *many]  # created in this order
    assert ctx.read_sets.get_metadata(store_id, many[0])["status"] == "ACTIVE"


def test_bulk_skips_taken_ids(ctx: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    store_id = ctx.sequence_stores.create({"name": "bulk"})["id"]
    with ctx.db.write() as connection:
        store = ctx.sequence_stores.require(connection, store_id)
        [taken] = insert_many(ctx, connection, store, [item("first", {})])
        assert insert_many(ctx, connection, store, []) == []
    fresh = (f"{n:010d}" for n in itertools.count(1))
    draws = itertools.chain([taken, taken], fresh)  # the first two draws collide
    monkeypatch.setattr(bulk, "new_id", lambda: next(draws))
    with ctx.db.write() as connection:
        ids = insert_many(ctx, connection, store, [item("a", {}), item("b", {})])
    assert taken not in ids and len(set(ids)) == 2


# --- ListReadSets filtered by creation time (pages on (creation_time, seq))

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def add(ctx: Domain, store_id: str, *seconds: float) -> list[str]:
    """Read sets created at these times (in this order, so in `seq` order), in one transaction."""
    with ctx.db.write() as connection:
        store = ctx.sequence_stores.require(connection, store_id)
        ids = insert_many(ctx, connection, store, [item(f"rs{s}", {}) for s in seconds])
        for read_set_id, second in zip(ids, seconds, strict=True):
            connection.execute(
                update(t.read_sets).where(t.read_sets.c.id == read_set_id).values(creation_time=at(second))
            )
    return ids


def key_of(ctx: Domain) -> dict[str, tuple[datetime, int]]:
    with ctx.db.read() as connection:
        rows = connection.execute(select(t.read_sets.c.id, t.read_sets.c.creation_time, t.read_sets.c.seq))
        return {r.id: (r.creation_time, r.seq) for r in rows}


@pytest.mark.parametrize(
    "flt",
    [
        {"createdAfter": at(10)},
        {"createdBefore": at(50)},
        {"createdAfter": at(10), "createdBefore": at(50)},
    ],
    ids=["after", "before", "between"],
)
def test_created_filter_pages_neither_repeat_nor_skip_while_read_sets_arrive(
    ctx: Domain, flt: dict[str, datetime]
) -> None:
    store_id = ctx.sequence_stores.create({"name": "timed"})["id"]
    # Times out of `seq` order, ties (a batch shares one time), both bounds exactly, rows outside.
    existing = add(ctx, store_id, 5, 30, 10, 20, 20, 20, 50, 45, 60, 20, 40, 10, 55, 30, 30, 25)
    lo, hi = flt.get("createdAfter", at(-1e6)), flt.get("createdBefore", at(1e6))
    keys = key_of(ctx)
    wanted = [i for i in existing if lo <= keys[i][0] <= hi]
    assert len(wanted) >= 10
    # Arrivals, one batch before each next page: behind the cursor, ahead of it, on its own time
    # (None: a later seq, so ahead) and outside the filter.
    arrivals = [(20, 31, None, 60), (10, 35, 5), (30, None, 50, 61), (25, 10, 49.5), (45, 50, 70)]
    seen: list[str] = []
    added: list[str] = []
    ahead: list[str] = []  # arrivals the listing must still reach: after the cursor and in the filter
    params: dict[str, Any] = {"sequenceStoreId": store_id, "filter": flt, "maxResults": 3}
    pages = 0
    while True:
        result = ctx.read_sets.list_read_sets(params)
        pages += 1
        seen += [r["id"] for r in result["readSets"]]
        assert len(result["readSets"]) <= 3 and pages < 30  # a token that does not advance fails
        if not result["nextToken"]:
            break
        params["nextToken"] = result["nextToken"]
        if pages <= len(arrivals):
            cursor = key_of(ctx)[seen[-1]]
            on_cursor = (cursor[0] - T0).total_seconds()
            new = add(ctx, store_id, *(on_cursor if s is None else s for s in arrivals[pages - 1]))
            added += new
            keys = key_of(ctx)
            ahead += [i for i in new if lo <= keys[i][0] <= hi and keys[i] > cursor]
    keys = key_of(ctx)
    assert pages >= 4
    assert len(seen) == len(set(seen))  # nothing twice
    assert [keys[i] for i in seen] == sorted(keys[i] for i in seen)  # in (creation_time, seq) order
    assert set(wanted) <= set(seen)  # nothing that was there is skipped
    assert set(ahead) <= set(seen)  # arrivals ahead of the cursor show on a later page
    assert set(seen) <= set(wanted) | set(added)
    assert all(lo <= keys[i][0] <= hi for i in seen)
    assert ahead and set(added) - set(seen)  # the arrivals did land on both sides of the cursor


def test_a_created_filter_token_is_refused_for_another_filter(ctx: Domain) -> None:
    store_id = ctx.sequence_stores.create({"name": "tokens"})["id"]
    add(ctx, store_id, 1, 2, 3, 4)

    def token(flt: dict[str, Any]) -> str:
        result = ctx.read_sets.list_read_sets({"sequenceStoreId": store_id, "filter": flt, "maxResults": 2})
        assert result["nextToken"]
        return result["nextToken"]

    after = {"createdAfter": at(0)}
    filters: list[dict[str, Any]] = [
        after,
        {"createdAfter": at(1)},
        {"createdBefore": at(10)},
        {"createdAfter": at(0), "createdBefore": at(10)},
        {"createdAfter": at(0), "name": "rs1"},
        {},  # unfiltered: pages on seq
    ]
    tokens = {i: token(flt) for i, flt in enumerate(filters) if "name" not in flt}
    for i, issued in tokens.items():
        for j, flt in enumerate(filters):
            params = {"sequenceStoreId": store_id, "filter": flt, "maxResults": 2, "nextToken": issued}
            if i == j:
                assert len(ctx.read_sets.list_read_sets(params)["readSets"]) == 2
            else:
                with pytest.raises(ValidationException):
                    ctx.read_sets.list_read_sets(params)
    other = ctx.sequence_stores.create({"name": "other"})["id"]
    with pytest.raises(ValidationException):
        ctx.read_sets.list_read_sets({"sequenceStoreId": other, "filter": after, "nextToken": tokens[0]})

"""Reads answered from the per-process response cache never show a stale database: a write
through the same server or through another process on the same database shows at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqstore.protocol.cache import MAX_ANSWER_BYTES, ResponseCache
from tests.helpers.clients import error_code, make_client
from tests.helpers.servers import Server


class Counter:
    def __init__(self) -> None:
        self.value: int | None = 1

    def __call__(self) -> int | None:
        return self.value


def store_key(number: int) -> tuple[str, str, str, bytes, None]:
    return ("GetSequenceStore", f"/sequencestore/{number}", "", b"", None)


def test_an_answer_is_reused_only_while_the_version_stands() -> None:
    counter = Counter()
    cache = ResponseCache(counter)
    key = store_key(1)
    version = cache.version()
    assert cache.get(key, version) is None
    cache.put(key, version, b'{"id":"1"}')
    assert cache.get(key, cache.version()) == b'{"id":"1"}'
    counter.value = 2  # a commit anywhere in the database
    assert cache.get(key, cache.version()) is None
    assert cache.get(key, 2) is None  # dropped, not kept for a later return to the old version


def test_an_answer_computed_across_a_commit_is_not_kept() -> None:
    counter = Counter()
    cache = ResponseCache(counter)
    before = cache.version()
    assert cache.get(store_key(1), before) is None
    counter.value = 2
    assert cache.get(store_key(2), cache.version()) is None  # another request saw the new version
    cache.put(store_key(1), before, b"old")  # computed under the old version: dropped
    assert cache.get(store_key(1), 2) is None


def test_no_counter_means_no_cache_and_the_bounds_hold() -> None:
    counter = Counter()
    counter.value = None
    cache = ResponseCache(counter)
    key = store_key(1)
    cache.put(key, cache.version(), b"x")
    assert cache.get(key, cache.version()) is None

    counter.value = 7
    small = ResponseCache(counter, max_entries=2)
    keys = [store_key(i) for i in range(3)]
    small.get(keys[0], 7)
    for number, k in enumerate(keys):
        small.put(k, 7, str(number).encode())
    # Full at the third: the cache starts again with it.
    assert [small.get(k, 7) for k in keys] == [None, None, b"2"]
    small.put(keys[0], 7, b"0")
    small.put(keys[0], 7, b"y" * (MAX_ANSWER_BYTES + 1))
    assert small.get(keys[0], 7) == b"0"  # the oversized answer was not kept

    by_size = ResponseCache(counter, max_total_bytes=100)
    by_size.get(keys[0], 7)
    by_size.put(keys[0], 7, b"a" * 60)
    by_size.put(keys[1], 7, b"b" * 30)
    by_size.put(keys[2], 7, b"c" * 30)  # 120 bytes would be over the budget: start again
    assert [by_size.get(k, 7) for k in keys] == [None, None, b"c" * 30]


@pytest.fixture
def two_servers(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two API processes on one database and one blob store (as `serve --workers 2` runs)."""
    first = Server(tmp_path / "data", options=("--no-worker",))
    first.start()
    second = Server(tmp_path / "data", extra_env=first.extra_env, options=("--no-worker",))
    try:
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()


def test_reads_follow_writes_of_this_and_other_processes(two_servers) -> None:  # type: ignore[no-untyped-def]
    first, second = two_servers
    a, b = make_client(first.url), make_client(second.url)
    store_id = a.create_sequence_store(name="before")["id"]
    for _ in range(3):  # answered from the cache after the first
        assert a.get_sequence_store(id=store_id)["name"] == "before"
        assert [s["name"] for s in a.list_sequence_stores()["sequenceStores"]] == ["before"]

    b.update_sequence_store(id=store_id, name="renamed-elsewhere")
    assert a.get_sequence_store(id=store_id)["name"] == "renamed-elsewhere"
    assert [s["name"] for s in a.list_sequence_stores()["sequenceStores"]] == ["renamed-elsewhere"]

    a.update_sequence_store(id=store_id, name="renamed-here")
    assert a.get_sequence_store(id=store_id)["name"] == "renamed-here"

    other = b.create_sequence_store(name="second")["id"]
    assert [s["id"] for s in a.list_sequence_stores()["sequenceStores"]] == [store_id, other]

    reference_store = a.create_reference_store(name="refs")["id"]
    assert b.get_reference_store(id=reference_store)["name"] == "refs"
    a.delete_reference_store(id=reference_store)
    with pytest.raises(b.exceptions.ResourceNotFoundException) as excinfo:
        b.get_reference_store(id=reference_store)
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert b.list_reference_stores()["referenceStores"] == []

    b.delete_sequence_store(id=other)
    with pytest.raises(a.exceptions.ResourceNotFoundException):
        a.get_sequence_store(id=other)

"""Handlers: read sets (metadata, listing, download, batch delete)."""

import asyncio
from typing import Any

from ..protocol.streams import ResponseStream
from ..store.context import StoreContext
from ..store.read_sets import PartRange


def get_read_set_metadata(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.read_sets.get_metadata(params["sequenceStoreId"], params["id"])


def list_read_sets(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.read_sets.list_read_sets(params)


def batch_delete_read_set(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.read_sets.batch_delete(params["sequenceStoreId"], params["ids"])


async def get_read_set(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    part = await asyncio.to_thread(
        store.read_sets.part_range,
        params["sequenceStoreId"],
        params["id"],
        params.get("file"),
        params["partNumber"],
    )
    return {"payload": part_stream(store, part)}


def part_stream(store: StoreContext, part: PartRange) -> ResponseStream:
    """The response body of a GetReadSet or GetReference part."""
    return ResponseStream(
        part.length, lambda: store.blobs.read_range(part.blob_key, part.offset, part.length)
    )


HANDLERS = {
    "GetReadSetMetadata": get_read_set_metadata,
    "ListReadSets": list_read_sets,
    "BatchDeleteReadSet": batch_delete_read_set,
    "GetReadSet": get_read_set,
}

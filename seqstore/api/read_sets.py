"""Handlers: read sets (metadata, listing, download, batch delete)."""

import asyncio
from typing import Any

from ..protocol.streams import ResponseStream
from ..store.domain import Domain
from ..store.read_set_rows import PartRange


def get_read_set_metadata(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_sets.get_metadata(params["sequenceStoreId"], params["id"])


def list_read_sets(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_sets.list_read_sets(params)


def batch_delete_read_set(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_sets.batch_delete(params["sequenceStoreId"], params["ids"])


async def get_read_set(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    part = await asyncio.to_thread(
        domain.read_sets.part_range,
        params["sequenceStoreId"],
        params["id"],
        params.get("file"),
        params["partNumber"],
    )
    return {"payload": part_stream(domain, part)}


def part_stream(domain: Domain, part: PartRange) -> ResponseStream:
    """The response body of a GetReadSet or GetReference part."""
    return ResponseStream(
        part.length, lambda: domain.blobs.read_range(part.blob_key, part.offset, part.length)
    )


HANDLERS = {
    "GetReadSetMetadata": get_read_set_metadata,
    "ListReadSets": list_read_sets,
    "BatchDeleteReadSet": batch_delete_read_set,
    "GetReadSet": get_read_set,
}

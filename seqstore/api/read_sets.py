"""Handlers: read sets (metadata, listing, download, batch delete)."""

import asyncio
from typing import Any

from ..protocol.operations import OMICS_ARN, Operation
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


STORE = OMICS_ARN + "sequenceStore/{sequenceStoreId}"
READ_SET = STORE + "/readSet/{id}"

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates").
OPERATIONS = (
    # GetReadSetMetadata is what pipelines poll while a read set is ingested.
    Operation("GetReadSetMetadata", get_read_set_metadata, read_only=True, cacheable=True, resource=READ_SET,
              quota_tps=5.0),
    Operation("ListReadSets", list_read_sets, read_only=True, cacheable=True, resource=STORE, quota_tps=5.0),
    Operation("BatchDeleteReadSet", batch_delete_read_set, read_only=False, resource=STORE, quota_tps=1.0),
    Operation("GetReadSet", get_read_set, read_only=True, resource=READ_SET, quota_tps=30.0),
)

"""Handlers: direct multipart upload of read sets. UploadReadSetPart streams its body here, in
the API layer (the domain records the part once its bytes are stored)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from ..errors import ValidationException, is_out_of_space
from ..protocol.operations import OMICS_ARN, Operation
from ..protocol.streams import RequestBody
from ..store.domain import Domain

# Bytes of a part body gathered before each blob write (off the event loop).
WRITE_BATCH = 1024 * 1024


def create_multipart_read_set_upload(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.uploads.create(params)


async def upload_read_set_part(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return await receive_part(domain, params)


def complete_multipart_read_set_upload(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    domain.disk.check(0, "ingesting the upload")  # the upload stays open: Complete may be retried
    return domain.uploads.complete(params)


def abort_multipart_read_set_upload(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.uploads.abort(params["sequenceStoreId"], params["uploadId"])


def list_multipart_read_set_uploads(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.uploads.list_uploads(params)


def list_read_set_upload_parts(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.uploads.list_parts(params)


STORE = OMICS_ARN + "sequenceStore/{sequenceStoreId}"
# The concurrency class of streamed part uploads: each holds a connection and a blob writer, so
# their number in flight per access key is bounded (Settings.max_concurrent_parts).
PART_UPLOADS = "part uploads"

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates").
OPERATIONS = (
    Operation("CreateMultipartReadSetUpload", create_multipart_read_set_upload, read_only=False, resource=STORE,
              quota_tps=1.0),
    Operation("UploadReadSetPart", upload_read_set_part, read_only=False, resource=STORE, quota_tps=10.0,
              concurrency=PART_UPLOADS),
    Operation("CompleteMultipartReadSetUpload", complete_multipart_read_set_upload, read_only=False,
              resource=STORE, quota_tps=1.0),
    Operation("AbortMultipartReadSetUpload", abort_multipart_read_set_upload, read_only=False, resource=STORE,
              quota_tps=1.0),
    Operation("ListMultipartReadSetUploads", list_multipart_read_set_uploads, read_only=True, resource=STORE),
    Operation("ListReadSetUploadParts", list_read_set_upload_parts, read_only=True, resource=STORE),
)


async def receive_part(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    """UploadReadSetPart: stream the body into the blob store while hashing it, never holding
    more than one chunk; a body cut short or over the part limit stores nothing."""
    body: RequestBody = params["payload"]
    store_id, upload_id = params["sequenceStoreId"], params["uploadId"]
    source, number = params["partSource"], params["partNumber"]
    limit = domain.settings.part_size
    if body.content_length is not None and body.content_length > limit:
        raise ValidationException(
            f"'payload': a part may have at most {limit} bytes, this one has {body.content_length}"
        )
    await asyncio.to_thread(domain.uploads.check_part, store_id, upload_id, source)
    domain.disk.check(body.content_length or 0, f"part {number}")
    key = domain.uploads.part_blob_key(upload_id, source, number)
    try:
        writer = domain.blobs.writer(key)
    except OSError as exc:
        if is_out_of_space(exc):
            raise domain.disk.write_failed(exc, f"part {number} of upload {upload_id}") from None
        raise
    sha256 = hashlib.sha256()
    # Chunks are hashed and written off the event loop, WRITE_BATCH bytes at a time, as received
    # (joining them here would copy every byte once more).
    batch: list[bytes] = []
    batch_size = 0
    size = 0
    try:
        async for chunk in body.chunks():
            size += len(chunk)
            if size > limit:
                raise ValidationException(f"'payload': a part may have at most {limit} bytes")
            batch.append(chunk)
            batch_size += len(chunk)
            if batch_size >= WRITE_BATCH:
                await asyncio.to_thread(_hash_and_write, sha256, writer, batch)
                batch, batch_size = [], 0
        if size == 0:
            raise ValidationException("'payload': the part is empty")
        if batch:
            await asyncio.to_thread(_hash_and_write, sha256, writer, batch)
        await asyncio.to_thread(writer.commit)
    except BaseException as exc:
        await asyncio.shield(asyncio.to_thread(writer.abort))
        if is_out_of_space(exc):  # nothing half-written stays: abort removed the temporary file
            raise domain.disk.write_failed(exc, f"part {number} of upload {upload_id}") from None
        raise
    checksum = await asyncio.to_thread(
        domain.uploads.record_part, store_id, upload_id, source, number, key, size, sha256.digest()
    )
    return {"checksum": checksum}


def _hash_and_write(sha256: Any, writer: Any, chunks: list[bytes]) -> None:
    """Hash and store a batch of a part (in a thread: hashlib releases the GIL on large inputs,
    so this overlaps with receiving the next batch)."""
    for chunk in chunks:
        sha256.update(chunk)
        writer.write(chunk)

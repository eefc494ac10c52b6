"""Read sets through boto3 as a user makes them: direct multipart uploads, waiting for ingestion
to end, downloads, and the blobs the server keeps for them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tests.helpers.names import ACCOUNT, unique
from tests.helpers.servers import Server

INGEST_TIMEOUT = 30.0


def start_upload(omics, store_id: str, file_type: str = "FASTQ", **fields: Any) -> str:  # type: ignore[no-untyped-def]
    """CreateMultipartReadSetUpload with `fields` (those given as None are left out), a new name
    and the sample and subject IDs unless given; returns the upload id."""
    fields = {name: value for name, value in fields.items() if value is not None}
    fields.setdefault("name", unique("readset"))
    fields.setdefault("subjectId", "subject-1")
    fields.setdefault("sampleId", "sample-1")
    response = omics.create_multipart_read_set_upload(
        sequenceStoreId=store_id, sourceFileType=file_type, **fields
    )
    return str(response["uploadId"])


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given byte offsets."""
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def send_parts(  # type: ignore[no-untyped-def]
    omics, store_id: str, upload_id: str, data: bytes, source: str = "SOURCE1", cuts: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """Upload `data` cut at `cuts` as parts 1..n of `source`; return the parts for Complete."""
    parts = []
    for number, chunk in enumerate(split_at(data, cuts), start=1):
        response = omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId=upload_id, partSource=source, partNumber=number, payload=chunk
        )
        parts.append({"partNumber": number, "partSource": source, "checksum": response["checksum"]})
    return parts


def upload(  # type: ignore[no-untyped-def]
    omics,
    store_id: str,
    file_type: str,
    source1: bytes,
    source2: bytes | None = None,
    *,
    cuts: Sequence[int] = (),
    **fields: Any,
) -> str:
    """A complete direct upload through boto3; returns the read set id (ingestion may still run)."""
    upload_id = start_upload(omics, store_id, file_type, **fields)
    parts = send_parts(omics, store_id, upload_id, source1, "SOURCE1", cuts)
    if source2 is not None:
        parts += send_parts(omics, store_id, upload_id, source2, "SOURCE2", cuts)
    response = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )
    return str(response["readSetId"])


def wait_for_status(
    omics, store_id: str, read_set_id: str, timeout: float = INGEST_TIMEOUT
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """GetReadSetMetadata, polled until the read set is no longer PROCESSING_UPLOAD."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
        if metadata["status"] != "PROCESSING_UPLOAD":
            return dict(metadata)
        if time.monotonic() > deadline:
            raise AssertionError(f"read set {read_set_id} still PROCESSING_UPLOAD after {timeout} s")
        time.sleep(0.05)


def ingest(
    omics, store_id: str, file_type: str, source1: bytes, source2: bytes | None = None, **kwargs: Any
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Upload and wait for the outcome; returns the final metadata."""
    read_set_id = upload(omics, store_id, file_type, source1, source2, **kwargs)
    return wait_for_status(omics, store_id, read_set_id)


def download(omics, store_id: str, read_set_id: str, file: str | None = None, part: int = 1) -> bytes:  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {"sequenceStoreId": store_id, "id": read_set_id, "partNumber": part}
    if file is not None:
        kwargs["file"] = file
    return bytes(omics.get_read_set(**kwargs)["payload"].read())


def upload_files(server: Server, upload_id: str) -> list[str]:
    """The blob keys of an upload's parts (in DATA_DIR/blobs or the server's S3 bucket)."""
    return server.blob_keys(f"uploads/{upload_id}")


def read_set_files(server: Server, store_id: str, read_set_id: str) -> list[str]:
    return server.blob_keys(f"{ACCOUNT}/sequenceStore/{store_id}/readSet/{read_set_id}")


def eventually_no_upload_files(server: Server, upload_id: str, timeout: float = 10.0) -> list[str]:
    """The files left under blobs/uploads/<uploadId> once the server had `timeout` seconds to
    drop them (ingestion releases the parts just after it records the outcome)."""
    deadline = time.monotonic() + timeout
    while (left := upload_files(server, upload_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left

"""A blob being written to S3: buffered into parts sent in the background, completed on
`commit()`, aborted on `abort()` (seqstore/blobs/s3.py's `writer()`)."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .s3 import S3BlobStore

log = logging.getLogger("seqstore.blobs")

# Bytes buffered before a multipart part is sent: above S3's 5 MiB minimum for all parts but the last.
WRITE_PART = 8 * 1024 * 1024
IN_FLIGHT = 3  # parts one writer may have on their way to S3 at once


class S3BlobWriter:
    """A blob being written: `write()` bytes, then `commit()` or `abort()`. Full parts are sent
    in the background (at most IN_FLIGHT of them per writer, so memory stays bounded) while more
    bytes arrive. Each call may block on the network: call it off the event loop."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self.store = store
        self.object_key = store.object_key(key)
        # Chunks not sent yet, kept as they came: a part is joined from them once (one copy).
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.upload_id: str | None = None
        self.sending: list[Future[dict[str, Any]]] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.pending.append(bytes(data))
        self.pending_size += len(data)
        self.size += len(data)
        while self.pending_size >= WRITE_PART:
            self._send(self._take(WRITE_PART))

    def _take(self, count: int) -> bytes:
        """The first `count` pending bytes, joined; only a chunk that straddles the end is split."""
        taken: list[bytes] = []
        size = 0
        while size < count:
            chunk = self.pending.pop(0)
            if size + len(chunk) > count:
                keep = count - size
                self.pending.insert(0, chunk[keep:])
                chunk = chunk[:keep]
            taken.append(chunk)
            size += len(chunk)
        self.pending_size -= size
        return b"".join(taken)

    def _send(self, data: bytes) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            # CRC32 per part, as boto3's own upload_file asks: each part carries the CRC32 botocore
            # computes anyway, and the server combines those at completion. Without an algorithm,
            # servers may compute a full-object checksum over every byte again (moto: CRC64NVME
            # in Python, a fifth of its work on an upload).
            self.upload_id = client.create_multipart_upload(
                Bucket=bucket, Key=self.object_key, ChecksumAlgorithm="CRC32"
            )["UploadId"]
        unfinished = [f for f in self.sending if not f.done()]
        if len(unfinished) >= IN_FLIGHT:
            wait(unfinished, return_when=FIRST_COMPLETED)
        for done in self.sending:
            if done.done():
                done.result()  # a failed part fails the write now
        number = len(self.sending) + 1
        self.sending.append(self.store.senders.submit(self._upload_part, number, self.upload_id, data))

    def _upload_part(self, number: int, upload_id: str, data: bytes) -> dict[str, Any]:
        answer = self.store.client.upload_part(
            Bucket=self.store.bucket,
            Key=self.object_key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if answer.get("ChecksumCRC32"):  # a server without checksum support sends none
            part["ChecksumCRC32"] = answer["ChecksumCRC32"]
        return part

    def commit(self) -> None:
        client, bucket = self.store.client, self.store.bucket
        rest = self._take(self.pending_size)
        if self.upload_id is None:
            client.put_object(Bucket=bucket, Key=self.object_key, Body=rest)
        else:
            if rest:
                self._send(rest)
            parts = [f.result() for f in self.sending]
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=self.object_key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )

    def abort(self) -> None:
        self.pending, self.pending_size = [], 0
        wait(self.sending)  # nothing may land after the abort
        if self.upload_id is not None:
            try:
                self.store.client.abort_multipart_upload(
                    Bucket=self.store.bucket, Key=self.object_key, UploadId=self.upload_id
                )
            except Exception as exc:  # noqa: BLE001 - recover() sweeps what is left
                log.warning("could not abort the multipart upload of %s: %s", self.object_key, exc)

"""Bytes in an S3-compatible object store (AWS S3, MinIO, Ceph RGW): the blob store of a
scaled-out deployment, where API processes and workers on several hosts share one bucket.

Blob keys map to `<prefix>/<key>` in the bucket, so `uri()` names the real object and any S3
tool can read an ACTIVE read set's files with its own credentials. Writes become visible only
when complete: a small blob is one PutObject, a larger one an S3 multipart upload that is
completed on `commit()` and aborted on `abort()`. Nothing is staged on a local disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import BlobStoreUnavailable, CopySource
from .s3_writer import S3BlobWriter

log = logging.getLogger("seqstore.blobs")

READ_CHUNK = 1024 * 1024
SENDERS = 16  # threads sending parts, for all writers of a process
MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
TRANSFER_PART = 64 * 1024 * 1024  # part size of put_file / copies of large objects
# Storage classes whose objects can be read at once (the archive tier must be readable by an
# activation job without a restore request).
INSTANT_CLASSES = (
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "REDUCED_REDUNDANCY",
)


def split_s3_uri(uri: str) -> tuple[str, str] | str:
    """`s3://bucket/key` → (bucket, key), or the reason it is not such a URI."""
    if not uri.startswith("s3://"):
        return f"{uri} is not an s3:// URI"
    bucket, _, key = uri[5:].partition("/")
    return (bucket, key) if bucket else f"{uri} names no bucket"


def parse_blob_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` → (bucket, prefix without slashes at its ends)."""
    parts = split_s3_uri(url)
    if isinstance(parts, str):
        raise BlobStoreUnavailable(f"SEQSTORE_BLOB_URL must look like s3://bucket/prefix: {parts}")
    return parts[0], parts[1].strip("/")


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class S3BlobStore:
    object_tags = True

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None,
        region: str,
        cache_dir: Path,
        archive_storage_class: str = "",
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = parse_blob_url(url)
        if archive_storage_class and archive_storage_class not in INSTANT_CLASSES:
            raise BlobStoreUnavailable(
                f"SEQSTORE_ARCHIVE_STORAGE_CLASS {archive_storage_class!r} cannot be read without a restore; "
                f"use one of {', '.join(INSTANT_CLASSES)}"
            )
        self.archive_storage_class = archive_storage_class
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            config=Config(
                max_pool_connections=64,
                retries={"mode": "standard", "max_attempts": 5},
                # Over plain HTTP botocore would SHA-256 every body for the signature (it does
                # not over HTTPS): the CRC32 checksum header it sends, which is signed and which
                # S3 checks, already covers the bytes. Saves a hash pass over every byte stored.
                s3={"payload_signing_enabled": False},
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=TRANSFER_PART, multipart_chunksize=TRANSFER_PART, max_concurrency=4
        )
        self.cache_dir = cache_dir
        self._cache_lock = threading.Lock()
        self.senders = ThreadPoolExecutor(SENDERS, thread_name_prefix="seqstore-s3-part")

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            reason = {
                "404": "does not exist",
                "NoSuchBucket": "does not exist",
                "403": "is not accessible with these credentials",
            }.get(code, code)
            raise BlobStoreUnavailable(f"the blob bucket {self.bucket} {reason}") from None
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(f"the blob bucket {self.bucket} cannot be reached: {exc}") from None

    # --- names

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        # Unchecked (cheap: lists describe every item's files with it); keys are checked where used.
        return f"s3://{self.bucket}/{self.prefix}/{key}" if self.prefix else f"s3://{self.bucket}/{key}"

    # --- writing

    def writer(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self, key)

    def put_file(self, key: str, source: Path, *, move: bool = False) -> int:
        size = source.stat().st_size
        self.client.upload_file(str(source), self.bucket, self.object_key(key), Config=self.transfer)
        if move:
            source.unlink()
        return size

    def move(self, source: str, target: str) -> None:
        """Move a blob (copy, then delete the source). The target takes the archive storage
        class when it lies under `archive/`. Repeating a move that already happened is not an error."""
        source_key, target_key = self.object_key(source), self.object_key(target)
        if not self._exists(source_key):
            if self._exists(target_key):
                return
            raise FileNotFoundError(f"blob {source} is missing and was not moved to {target}")
        extra = {}
        if self.archive_storage_class and target.startswith("archive/"):
            extra["StorageClass"] = self.archive_storage_class
        self.client.copy(
            {"Bucket": self.bucket, "Key": source_key},
            self.bucket,
            target_key,
            ExtraArgs=extra,
            Config=self.transfer,
        )
        self.client.delete_object(Bucket=self.bucket, Key=source_key)

    def join(self, key: str, part_keys: list[str]) -> bool:
        """Concatenate objects into `key` with a server-side multipart copy (UploadPartCopy), if
        every part but the last has S3's minimum part size."""
        if not part_keys or len(part_keys) > 10_000:
            return False
        sizes = [self.size(part) for part in part_keys]
        if any(size < MIN_PART for size in sizes[:-1]) or any(size > 5 * 1024**3 for size in sizes):
            return False
        target = self.object_key(key)
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target)["UploadId"]
        try:
            parts = []
            for number, part in enumerate(part_keys, start=1):
                answer = self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": self.object_key(part)},
                )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id)
            raise
        return True

    def copy_in(self, key: str, source: CopySource) -> bool:
        """Make `key` a server-side copy of another object of this endpoint (an import source),
        only if it still has the ETag it had when it was read; False when the server refuses
        (another endpoint's or another account's bucket, no permission, the object changed):
        then the caller writes its local copy instead."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.copy(
                {"Bucket": source.bucket, "Key": source.key},
                self.bucket,
                self.object_key(key),
                ExtraArgs={"CopySourceIfMatch": source.etag},
                Config=self.transfer,
            )
        except (BotoCoreError, ClientError) as exc:
            log.info("server-side copy of s3://%s/%s refused (%s); uploading it", source.bucket, source.key, exc)
            return False
        return True

    # --- reading

    def assemble(self, part_keys: Iterable[str], destination: Path) -> int:
        """Write the parts, in order, into one local file; return its size."""
        size = 0
        with open(destination, "wb") as out:
            for part_key in part_keys:
                body = self.client.get_object(Bucket=self.bucket, Key=self.object_key(part_key))["Body"]
                try:
                    while chunk := body.read(READ_CHUNK):
                        out.write(chunk)
                        size += len(chunk)
                finally:
                    body.close()
        return size

    @contextlib.contextmanager
    def local_file(self, key: str, work_dir: Path) -> Iterator[Path]:
        """A local copy of a blob in `work_dir`, removed afterwards."""
        work_dir.mkdir(parents=True, exist_ok=True)
        path = work_dir / f"{uuid.uuid4().hex}-{key.rsplit('/', 1)[-1]}"
        try:
            self.client.download_file(self.bucket, self.object_key(key), str(path), Config=self.transfer)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def cached_file(self, key: str) -> Path:
        """A local copy of an immutable blob (a reference's FASTA or index), kept in the cache
        directory under its key so that `<key>.fai` lies beside `<key>`."""
        path = self.cache_dir.joinpath(*check_key(key).split("/"))
        with self._cache_lock:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                try:
                    self.client.download_file(
                        self.bucket, self.object_key(key), str(temp), Config=self.transfer
                    )
                    os.replace(temp, path)
                finally:
                    temp.unlink(missing_ok=True)
        return path

    async def read_range(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """Yield `length` bytes of a blob from `offset` (one ranged GET), in READ_CHUNK pieces."""
        if length <= 0:
            return
        answer = await asyncio.to_thread(
            self.client.get_object,
            Bucket=self.bucket,
            Key=self.object_key(key),
            Range=f"bytes={offset}-{offset + length - 1}",
        )
        body = answer["Body"]
        try:
            remaining = length
            while remaining:
                chunk = await asyncio.to_thread(body.read, min(READ_CHUNK, remaining))
                if not chunk:
                    raise OSError(f"blob {key} ended early, {remaining} of {length} bytes missing")
                remaining -= len(chunk)
                yield chunk
        finally:
            body.close()

    def _exists(self, object_key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def exists(self, key: str) -> bool:
        return self._exists(self.object_key(key))

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))["ContentLength"])

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        self.client.put_object_tagging(
            Bucket=self.bucket,
            Key=self.object_key(key),
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]},
        )

    def children(self, prefix: str) -> list[str]:
        """The names directly under `prefix/` (for sweeping up after a crash)."""
        start = self.object_key(prefix) + "/"
        names: set[str] = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start, Delimiter="/"
        ):
            names.update(p["Prefix"][len(start) :].rstrip("/") for p in page.get("CommonPrefixes", []))
            names.update(o["Key"][len(start) :] for o in page.get("Contents", []))
        return sorted(names)

    def keys(self, prefix: str) -> list[str]:
        """Every blob key under `prefix/`."""
        start = self.object_key(prefix) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        return [
            o["Key"][strip:]
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for o in page.get("Contents", [])
        ]

    # --- deleting

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under `prefix/` (and any local cached copy of them)."""
        batch: list[dict[str, str]] = []
        for key in self.keys(prefix):
            batch.append({"Key": self.object_key(key)})
            if len(batch) == 1000:
                self._delete_objects(batch)
                batch = []
        if batch:
            self._delete_objects(batch)
        shutil.rmtree(self.cache_dir.joinpath(*check_key(prefix).split("/")), ignore_errors=True)

    def _delete_objects(self, batch: list[dict[str, str]]) -> None:
        answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise OSError(f"could not delete {first.get('Key')}: {first.get('Code')} {first.get('Message')}")

    def abort_stale_writes(self, older_than: float, in_use: Callable[[str], bool] = lambda key: False) -> int:
        """Abort multipart uploads under the prefix that started more than `older_than` seconds
        ago (a process killed while writing leaves them); return how many."""
        start = f"{self.prefix}/" if self.prefix else ""
        strip = len(start)
        cutoff = time.time() - older_than
        aborted = 0
        for page in self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=start
        ):
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < cutoff and not in_use(upload["Key"][strip:]):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

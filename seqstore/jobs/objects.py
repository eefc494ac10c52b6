"""Where `s3://` URIs of import sources and export destinations lead: a local buckets directory
(the embedded default) or a real S3-compatible endpoint."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Protocol

from ..blobs import CopySource
from ..blobs.s3 import split_s3_uri
from .following import FollowedDownload


class ObjectAccessError(Exception):
    """An object could not be read or written; str() says which and why, for a statusMessage."""


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key)."""
    parts = split_s3_uri(uri)
    if isinstance(parts, str):
        raise ObjectAccessError(parts)
    return parts


class ObjectStore(Protocol):
    def fetch(self, uri: str, work_dir: Path) -> Path:
        """A local file holding the object (the object itself where it is already local)."""

    def fetch_copyable(self, uri: str, work_dir: Path) -> tuple[Path, CopySource | None]:
        """`fetch`, and the object as it was read, for a server-side copy into the blob store
        (None where there is no such object)."""

    def put(self, uri: str, source: Path) -> None:
        """Write a local file to the object `uri`."""


class LocalBuckets:
    """`s3://bucket/key` is the file `root/bucket/key`. Keys that would leave the bucket's
    directory (`..`, absolute paths, symbolic links pointing outside) are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, uri: str) -> Path:
        bucket, key = split_uri(uri)
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in key:
            raise ObjectAccessError(
                f"{uri}: the key is not allowed (empty, absolute or with '.'/'..' segments)"
            )
        bucket_dir = self.root / bucket
        if not bucket_dir.is_dir():
            raise ObjectAccessError(f"{uri}: the bucket {bucket} does not exist")
        path = bucket_dir.joinpath(*parts)
        if not path.resolve().is_relative_to(bucket_dir.resolve()):
            raise ObjectAccessError(f"{uri}: the key leads outside the bucket (symbolic link); access denied")
        return path

    def fetch(self, uri: str, work_dir: Path) -> Path:
        path = self._path(uri)
        if not path.is_file():
            raise ObjectAccessError(f"{uri}: no such object")
        if not os.access(path, os.R_OK):
            raise ObjectAccessError(f"{uri}: access denied")
        return path

    def fetch_copyable(self, uri: str, work_dir: Path) -> tuple[Path, CopySource | None]:
        return self.fetch(uri, work_dir), None

    def put(self, uri: str, source: Path) -> None:
        path = self._path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(source, temp)
            os.replace(temp, path)
        except OSError as exc:
            raise ObjectAccessError(f"{uri}: cannot write ({exc.strerror})") from None


class S3Objects:
    """A real S3-compatible endpoint (AWS S3, MinIO, Ceph), credentials from the standard AWS
    chain. Objects are streamed to and from disk in ranged parts by boto3's transfer manager."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        import boto3

        self.client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region)

    def fetch(self, uri: str, work_dir: Path) -> Path:
        return self.fetch_copyable(uri, work_dir)[0]

    def fetch_copyable(self, uri: str, work_dir: Path) -> tuple[Path, CopySource | None]:
        from botocore.exceptions import ClientError
        from s3transfer.manager import TransferManager

        bucket, key = split_uri(uri)
        target = work_dir / f"{uuid.uuid4().hex}-{Path(key).name or 'object'}"
        try:
            # s3transfer reads every range of the object with IfMatch on the ETag it saw first;
            # a server-side copy checked against that ETag stores the bytes validated here.
            with TransferManager(self.client) as transfers:
                future = transfers.download(bucket, key, str(target))
                future.result()
        except ClientError as exc:
            raise ObjectAccessError(f"{uri}: {_s3_reason(exc)}") from None
        etag = getattr(future.meta, "etag", None)
        return target, (CopySource(bucket, key, etag) if etag else None)

    def follow(self, uri: str, work_dir: Path) -> FollowedDownload:
        """Start downloading the object into a file of `work_dir` that a reader may follow as it
        grows (jobs/following.py); a missing or unreadable object raises here."""
        from botocore.exceptions import ClientError

        def describe(exc: BaseException) -> ObjectAccessError:
            if isinstance(exc, ClientError):
                return ObjectAccessError(f"{uri}: {_s3_reason(exc)}")
            return ObjectAccessError(f"{uri}: cannot be read ({exc})")

        bucket, key = split_uri(uri)
        target = work_dir / f"{uuid.uuid4().hex}-{Path(key).name or 'object'}"
        try:
            return FollowedDownload(self.client, bucket, key, target, describe)
        except ClientError as exc:
            raise describe(exc) from None

    def put(self, uri: str, source: Path) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import ClientError

        bucket, key = split_uri(uri)
        try:
            self.client.upload_file(str(source), bucket, key)
        except (ClientError, S3UploadFailedError) as exc:
            raise ObjectAccessError(f"{uri}: cannot write ({exc})") from None


def _s3_reason(exc: Any) -> str:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchKey", "NotFound"):
        return "no such object"
    if code == "NoSuchBucket":
        return "the bucket does not exist"
    if code in ("403", "AccessDenied"):
        return "access denied"
    if code in ("412", "PreconditionFailed"):
        return "the object changed while it was being read; start the import again"
    return f"cannot be read ({code or exc})"

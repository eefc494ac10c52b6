"""Where the bytes of read sets, references and upload parts live: a local directory (the
embedded default) or an S3-compatible bucket (`SEQSTORE_BLOB_URL=s3://bucket/prefix`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Settings


class BlobStoreUnavailable(Exception):
    """The configured blob store cannot be reached or used; str() says why."""


@dataclass(frozen=True)
class CopySource:
    """An object of the S3 endpoint as an import read it: a server-side copy of it must find
    the same ETag, so that what is stored is what was validated."""

    bucket: str
    key: str
    etag: str


class BlobWriter(Protocol):
    size: int

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Keys are `/`-separated relative paths. A blob is visible under its key only once
    completely written; every method that can block is called off the event loop."""

    object_tags: bool  # whether set_tags() does anything

    def check(self) -> None:
        """Raise BlobStoreUnavailable, saying why, if the store cannot be used."""

    def uri(self, key: str) -> str:
        """The `s3://` URI that names the blob (files.*.s3Access.s3Uri)."""

    def writer(self, key: str) -> BlobWriter: ...

    def put_file(self, key: str, source: Path, *, move: bool = False) -> int:
        """Store a local file under `key` (the local file is removed when `move`); return its size."""

    def join(self, key: str, part_keys: list[str]) -> bool:
        """Make `key` the concatenation of the blobs `part_keys` inside the store, without moving
        the bytes through this process, if the store can; False when it cannot (then write it)."""

    def copy_in(self, key: str, source: CopySource) -> bool:
        """Make `key` a server-side copy of `source` (an object of the same endpoint, as it was
        read), if the store can; False when it cannot (then write the local file)."""

    def assemble(self, part_keys: Iterable[str], destination: Path) -> int:
        """Write the blobs, in order, into one local file; return its size."""

    def move(self, source: str, target: str) -> None:
        """Rename a blob; repeating a move that already happened is not an error."""

    def local_file(self, key: str, work_dir: Path) -> contextlib.AbstractContextManager[Path]:
        """A local file holding the blob for the duration of a `with`."""

    def cached_file(self, key: str) -> Path:
        """A long-lived local copy of an immutable blob; `<key>.fai` and the like lie beside it."""

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """Make `tags` the blob's object tags (where the store has them; a local directory has none)."""

    def children(self, prefix: str) -> list[str]: ...

    def keys(self, prefix: str) -> list[str]:
        """Every blob key under `prefix/`."""

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def abort_stale_writes(self, older_than: float, in_use: Callable[[str], bool] = lambda key: False) -> int:
        """Drop writes that a killed process left unfinished more than `older_than` seconds ago,
        except those of keys `in_use` says a live process may still be writing."""

    def read_range(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]: ...


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: SEQSTORE_BLOB_URL, else DATA_DIR/blobs."""
    if settings.blob_url:
        from .s3 import S3BlobStore

        return S3BlobStore(
            settings.blob_url,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.region,
            cache_dir=settings.data_dir / "cache",
            archive_storage_class=settings.archive_storage_class,
        )
    from .local import LocalBlobStore

    return LocalBlobStore(settings.blob_dir, bucket=settings.blob_bucket)

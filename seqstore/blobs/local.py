"""Bytes in a local directory: the embedded default blob store.

Keys are `/`-separated relative paths. Every write goes to a temporary file first and is renamed
into place, so a crash never leaves a half-written blob under its final key."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path

from . import CopySource

READ_CHUNK = 1024 * 1024  # 1 MiB chunks: 3x the download rate of 64 KiB (PERFORMANCE.md); 4-8 MiB measured no faster


class BlobWriter:
    """A blob being written: `write()` bytes, then `commit()` or `abort()`."""

    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        self.temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        self._file = open(self.temp, "wb")  # noqa: SIM115 - closed by commit/abort
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> None:
        self._file.close()
        os.replace(self.temp, self.final)

    def abort(self) -> None:
        try:
            self._file.close()  # may fail to flush what it buffered (a full disk): drop it anyway
        except OSError:
            pass
        finally:
            self.temp.unlink(missing_ok=True)


class LocalBlobStore:
    object_tags = False
    def __init__(self, root: Path, bucket: str = "seqstore") -> None:
        self.root = root
        self.bucket = bucket  # the bucket name `uri()` gives these files
        root.mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        pass

    def uri(self, key: str) -> str:
        # No Path here: lists describe every item's files with it (keys are checked where read).
        return f"s3://{self.bucket}/{key}"

    def path(self, key: str) -> Path:
        """The local file of a key (refusing keys that would leave the root)."""
        return Path(self.file_name(key))

    def file_name(self, key: str) -> str:
        """path() as a string (no Path to build on a ranged read's path: ~10 µs)."""
        if not key or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError(f"invalid blob key {key!r}")
        return f"{self.root}/{key}"

    def writer(self, key: str) -> BlobWriter:
        return BlobWriter(self.path(key))

    def put_file(self, key: str, source: Path, *, move: bool = False) -> int:
        """Store a local file under `key` (moved when `move` and on the same disk); return its size."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            if move:
                try:
                    os.rename(source, temp)
                except OSError:
                    shutil.copyfile(source, temp)
                    source.unlink()
            else:
                shutil.copyfile(source, temp)
            os.replace(temp, final)
        except BaseException:  # a full disk, say: no half-copied file stays behind
            temp.unlink(missing_ok=True)
            raise
        return final.stat().st_size

    def join(self, key: str, part_keys: list[str]) -> bool:
        return False  # the assembled local file is renamed into place: as cheap

    def copy_in(self, key: str, source: CopySource) -> bool:
        return False  # import sources are local files here: put_file links or copies them

    def assemble(self, part_keys: Iterable[str], destination: Path) -> int:
        """Write the parts, in order, into one local file; return its size. One part is linked,
        not copied (nothing writes to an assembled file, and a part file is replaced by a new
        file, never rewritten); several are copied with copy_file_range, so the bytes do not
        pass through Python."""
        part_keys = list(part_keys)
        # Never open an earlier attempt's file for writing: it may be a link to a part.
        destination.unlink(missing_ok=True)
        if len(part_keys) == 1:
            with contextlib.suppress(OSError):
                os.link(self.path(part_keys[0]), destination)
                return destination.stat().st_size
        size = 0
        with open(destination, "wb") as out:
            for part_key in part_keys:
                with open(self.path(part_key), "rb") as part:
                    remaining = os.fstat(part.fileno()).st_size
                    while remaining:
                        copied = _copy_range(part.fileno(), out.fileno(), remaining)
                        remaining -= copied
                        size += copied
        return size

    def move(self, source: str, target: str) -> None:
        """Rename a blob. Repeating a move that already happened is not an error."""
        src, dst = self.path(source), self.path(target)
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        elif not dst.exists():
            raise FileNotFoundError(f"blob {source} is missing and was not moved to {target}")

    @contextlib.contextmanager
    def local_file(self, key: str, work_dir: Path) -> Iterator[Path]:
        yield self.path(key)

    def cached_file(self, key: str) -> Path:
        return self.path(key)

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        pass  # files have no tags; the read set's tags stay in the database

    def keys(self, prefix: str) -> list[str]:
        """Every blob key under `prefix/` (temporary files of writes in progress excluded)."""
        directory = self.path(prefix)
        return sorted(
            "/".join((Path(root) / name).relative_to(self.root).parts)
            for root, _, names in os.walk(directory)
            for name in names
            if not name.endswith(".tmp")
        )

    def abort_stale_writes(self, older_than: float, in_use: Callable[[str], bool] = lambda key: False) -> int:
        """Remove temporary files of upload parts a killed process left behind."""
        cutoff = time.time() - older_than
        removed = 0
        for root, _, names in os.walk(self.root / "uploads"):
            for name in names:
                path = Path(root) / name
                if not name.endswith(".tmp") or in_use("/".join(path.relative_to(self.root).parts)):
                    continue
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:  # finished or removed meanwhile
                    pass
        return removed

    def children(self, prefix: str) -> list[str]:
        """The names directly under `prefix/` (for sweeping up after a crash)."""
        directory = self.path(prefix)
        return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under `prefix/`."""
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    async def read_range(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """Yield `length` bytes of a blob from `offset`, in READ_CHUNK pieces."""
        fd = os.open(self.file_name(key), os.O_RDONLY)
        try:
            position, end = offset, offset + length
            while position < end:
                chunk = os.pread(fd, min(READ_CHUNK, end - position), position)
                if not chunk:
                    raise OSError(f"blob {key} ended at {position}, expected {end} bytes")
                position += len(chunk)
                yield chunk
        finally:
            os.close(fd)


def _copy_range(in_fd: int, out_fd: int, count: int) -> int:
    try:
        copied = os.copy_file_range(in_fd, out_fd, min(count, 1 << 30))
    except OSError:
        copied = 0
    if copied == 0:  # copy_file_range unsupported here: fall back to a read/write copy
        data = os.read(in_fd, min(count, READ_CHUNK))
        if not data:
            raise OSError("part file shorter than its size")
        os.write(out_fd, data)
        return len(data)
    return copied

"""Shared plumbing for ingestion: hash families, a hashing thread, magic-byte sniffing and
streamed gzip reading with errors a person can read."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from isal import igzip_threaded, isal_zlib

from .errors import IngestError, show_bytes

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough that hashlib and ISA-L release the GIL for real work

HASH_FAMILIES: dict[str, Callable[[], Any]] = {
    "MD5up": hashlib.md5,
    "SHA256up": hashlib.sha256,
    "SHA512up": hashlib.sha512,
}

GZIP_MAGIC = b"\x1f\x8b"
CRAM_MAGIC = b"CRAM"
BAM_MAGIC = b"BAM\x01"
# The 28-byte empty block every complete BGZF file (BAM, bgzip) ends with.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# The 38-byte end-of-file container every complete CRAM 3.x file ends with (CRAM spec §9).
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")

# Compressions people upload by mistake, named so the error says what to do.
_OTHER_COMPRESSIONS = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}

_SAM_HEADER_TAGS = (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t")


def hash_factory(family: str) -> Callable[[], Any]:
    """Returns the hashlib constructor for an ETag family ("MD5up", "SHA256up", "SHA512up")."""
    try:
        return HASH_FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown ETag family {family!r}; expected one of {sorted(HASH_FAMILIES)}") from None


class ChunkHasher:
    """Hashes chunks in its own thread so hashing runs beside decompression and parsing.

    Use as a context manager; ``hexdigest()`` waits for every queued chunk and returns the digest.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._hash = factory()
        # Bounded so a slow hash applies back-pressure instead of queueing the whole file.
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="ingest-hash", daemon=True)
        self._thread.start()
        self._finished = False

    def _run(self) -> None:
        update = self._hash.update
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        done = False
        while not done:
            # Hash everything already queued in one call. While a parsing thread keeps the GIL
            # busy, each return from update() waits up to the interpreter's switch interval
            # (5 ms) for the GIL, so 1 MiB per call would starve hashing; batches grow by
            # themselves under that pressure and stay at one chunk when there is none.
            batch: list[bytes] = []
            item = get()
            while item is not None:
                batch.append(item)
                if len(batch) == 8:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if len(batch) == 1:
                update(batch[0])
            elif batch:
                update(b"".join(batch))

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def _finish(self) -> None:
        if not self._finished:
            self._finished = True
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        """Returns the lowercase hex digest of everything passed to ``update``."""
        self._finish()
        return str(self._hash.hexdigest())

    def __enter__(self) -> ChunkHasher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._finish()


@dataclass(frozen=True)
class Sniffed:
    """What a file is, judged from its first bytes."""

    container: str  # "empty", "gzip", "bgzf", "cram", "plain", or another compression's name
    head: bytes  # the first bytes of the content, decompressed for gzip and BGZF

    @property
    def is_gzip(self) -> bool:
        return self.container in ("gzip", "bgzf")

    def describe(self) -> str:
        """Returns what the file looks like, for messages such as 'this looks like a BAM file'."""
        if self.container == "empty":
            return "an empty file"
        if self.container == "cram":
            return "a CRAM file"
        if self.container not in ("gzip", "bgzf", "plain"):
            return f"{self.container}-compressed data"
        head = self.head
        if head.startswith(BAM_MAGIC):
            return "a BAM file"
        if head.startswith(b"BCF"):
            return "a BCF file"
        prefix = (
            ""
            if self.container == "plain"
            else f"{'BGZF' if self.container == 'bgzf' else 'gzip'}-compressed "
        )
        if not head:
            return prefix + "empty content"
        if head.startswith(_SAM_HEADER_TAGS):
            return prefix + "SAM text"
        if head.startswith(b"##fileformat=VCF"):
            return prefix + "VCF text"
        if head.startswith(b"@"):
            return prefix + "FASTQ text"
        if head.startswith(b">"):
            return prefix + "FASTA text"
        if looks_like_text(head):
            first_line = head.split(b"\n", 1)[0]
            return prefix + f"text starting with {show_bytes(first_line, 30)}"
        return prefix + f"binary data (first bytes {head[:8].hex(' ')})"


def looks_like_text(data: bytes) -> bool:
    """Returns True when ``data`` is printable ASCII with ordinary white space."""
    return data.isascii() and not data.translate(None, b"\t\n\r" + bytes(range(32, 127)))


def sniff(name: str, path: Path) -> Sniffed:
    """Returns what ``path`` contains, judged by magic bytes (never by its file name)."""
    with open_source(path) as handle:
        raw = handle.read(1 << 16)
    if not raw:
        return Sniffed("empty", b"")
    if raw.startswith(CRAM_MAGIC):
        return Sniffed("cram", raw[:64])
    for magic, compression in _OTHER_COMPRESSIONS.items():
        if raw.startswith(magic):
            return Sniffed(compression, b"")
    if not raw.startswith(GZIP_MAGIC):
        return Sniffed("plain", raw[:256])
    # BGZF is gzip with an extra field whose subfield is 'BC' (SAM spec, section 4.1).
    is_bgzf = len(raw) >= 18 and raw[3] & 4 and raw[12:14] == b"BC"
    try:
        head = isal_zlib.decompressobj(31).decompress(raw, 256)
    except Exception as exc:  # ISA-L raises its own error type for bad deflate data
        raise gzip_error(name, exc) from None
    return Sniffed("bgzf" if is_bgzf else "gzip", head)


def gzip_error(name: str, exc: BaseException) -> IngestError:
    """Returns the IngestError for a failure while decompressing ``name``."""
    if isinstance(exc, EOFError):
        return IngestError(
            f"{name}: gzip stream is truncated (it ends before the gzip end-of-stream marker); "
            "the file is incomplete, upload it again"
        )
    return IngestError(f"{name}: gzip data is corrupt ({exc})")


# What ISA-L raises for truncated (EOFError), malformed (OSError, e.g. BadGzipFile) or corrupt
# deflate data (isal_zlib.error).
_GZIP_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    OSError,
    cast(type[BaseException], isal_zlib.error),
)


@contextmanager
def open_content(name: str, path: Path, sniffed: Sniffed) -> Iterator[Callable[[int], bytes]]:
    """Yields ``read(size)`` returning the next ``size`` bytes of content (fewer only at the end).

    gzip and BGZF (all members, in order) are decompressed by ISA-L in a separate thread; a
    decompression failure becomes an IngestError naming ``name``.
    """
    if not sniffed.is_gzip:
        with open_source(path) as handle:
            yield handle.read
        return
    handle = open_source(path)
    reader = igzip_threaded.open(handle, "rb", threads=1, block_size=CHUNK_SIZE)

    def read(size: int) -> bytes:
        try:
            return reader.read(size)
        except _GZIP_ERRORS as exc:
            raise gzip_error(name, exc) from None

    try:
        yield read
    finally:
        reader.close()
        handle.close()


def file_md5(path: Path, chunk: int = 1 << 20) -> str:
    """The MD5 of a file's bytes, hex (hashlib releases the GIL: callers may run it in a thread
    beside other work)."""
    digest = hashlib.md5()
    with open_source(path) as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# A source still arriving (docs/streaming.md): while `<path>.feeding` exists, more bytes will be
# appended to `path`; `<path>.cancelled` means they never will.
FEEDING, CANCELLED = ".feeding", ".cancelled"


class StreamCancelled(Exception):
    """The source being read as it arrived will not be completed."""


def open_source(path: Path) -> io.BufferedReader:
    """`path` opened for reading; a file still being fed (docs/streaming.md) is followed: at its
    current end a read waits for more bytes, or for the feed's end."""
    if not os.path.exists(f"{path}{FEEDING}"):
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    return io.BufferedReader(_GrowingFile(path), buffer_size=CHUNK_SIZE)


class _GrowingFile(io.RawIOBase):
    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        self._feeding = f"{path}{FEEDING}"
        self._cancelled = f"{path}{CANCELLED}"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        pause = 0.001
        while True:
            count = self._file.readinto(buffer)
            if count:
                return count
            if os.path.exists(self._cancelled):
                raise StreamCancelled(self._file.name)
            if not os.path.exists(self._feeding):  # the feed ended: what is there is all
                return self._file.readinto(buffer) or 0
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()

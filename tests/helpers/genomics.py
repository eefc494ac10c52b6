"""Files on disk for the genomics unit tests (seqstore.genomics called directly, no server), and
what an ingestion error must look like."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pysam
import pytest

from seqstore.genomics import IngestError
from tests.helpers.data import digest


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_gzip(path: Path, data: bytes, members: int = 1) -> Path:
    """Writes ``data`` as ``members`` concatenated gzip members."""
    step = max(1, len(data) // members + 1)
    path.write_bytes(b"".join(gzip.compress(data[i : i + step]) for i in range(0, len(data), step)))
    return path


def write_bgzf(path: Path, data: bytes) -> Path:
    """Writes ``data`` BGZF-compressed (bgzip) via htslib."""
    plain = path.with_name(path.name + ".plain")
    plain.write_bytes(data)
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    return path


def gunzip_digest(path: Path, algorithm: str = "md5") -> str:
    """The FASTQ ETag truth: the hash of `gzip -dc path`."""
    with gzip.open(path, "rb") as handle:
        return digest(handle.read(), algorithm)


def readable_ingest_error(match: str, ingest: Callable[..., object], *args: object) -> str:
    """`ingest(*args)` must raise an IngestError matching `match` whose message a user can read
    in a status message: one line, at most 240 characters, no traceback. Returns the message."""
    with pytest.raises(IngestError, match=match) as caught:
        ingest(*args)
    message = str(caught.value)
    assert "\n" not in message and len(message) <= 240 and "Traceback" not in message
    return message

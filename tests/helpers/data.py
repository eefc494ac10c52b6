"""Bytes as the tests compress and hash them: gzip, BGZF (written by htslib through pysam) and
hashlib digests, never seqstore's own code."""

from __future__ import annotations

import base64
import gzip
import hashlib
import uuid
from pathlib import Path

import pysam

GZIP_MAGIC = b"\x1f\x8b"


def gz(data: bytes, level: int = 9) -> bytes:
    """`data` as one gzip member, without a time stamp (so the same bytes every run)."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def gunzip(data: bytes) -> bytes:
    """All gzip members, decompressed in order (what `gzip -dc` prints)."""
    return gzip.decompress(data)


def bgzf(data: bytes, tmp_path: Path) -> bytes:
    """`data` BGZF-compressed by htslib (pysam.tabix_compress writes BGZF, as bgzip does)."""
    plain = tmp_path / f"{uuid.uuid4().hex}.txt"
    compressed = tmp_path / f"{plain.name}.gz"
    plain.write_bytes(data)
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    return compressed.read_bytes()


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each BGZF block of `data`."""
    blocks, offset = [], 0
    while offset < len(data):
        assert data[offset : offset + 2] == GZIP_MAGIC and data[offset + 12 : offset + 14] == b"BC"
        size = int.from_bytes(data[offset + 16 : offset + 18], "little") + 1
        blocks.append((offset, size))
        offset += size
    return blocks


def digest(data: bytes, algorithm: str = "md5") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def part_checksum(data: bytes) -> str:
    """What the spec (§9, proposed) says UploadReadSetPart returns: base64 of the SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()

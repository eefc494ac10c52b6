"""Which bytes of a stored BAM or CRAM hold the records of a genomic region, from its index
(BAI or CRAI): what an htsget ticket hands out. Pure functions over the index bytes and small
reads of the file; the caller fetches the bytes.

BAM ranges are whole BGZF blocks: a chunk of the index starts at a record inside a block, so its
range starts where that block starts and ends where the chunk's last block ends. Concatenated
after the header blocks they are a valid BAM as long as every block starts at a record boundary,
which is how htslib (and Picard) write BGZF: a record that would not fit is put in the next block.
The records of a range may include some outside the region; htsget allows that."""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import IngestError

BAI_MAGIC = b"BAI\x01"
PSEUDO_BIN = 37450  # the bin where htslib keeps per-reference counts, not chunks
LINEAR_SHIFT = 14  # the linear index has one offset per 16 kbp window
BGZF_HEADER = 18  # bytes of a BGZF block header, whose last two hold the block size - 1
# Reads `length` bytes of the stored file at `offset` (fewer at its end).
ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end` inclusive of the stored file."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """Records between two BGZF virtual offsets (block offset << 16 | offset in the block)."""

    begin: int
    end: int


def parse_bai(data: bytes) -> list[tuple[dict[int, list[Chunk]], list[int]]]:
    """Per reference, its bins (bin number → chunks) and its linear index."""
    if data[:4] != BAI_MAGIC:
        raise IngestError("the index is not a BAI file (no BAI magic)")
    (n_ref,) = struct.unpack_from("<i", data, 4)
    position = 8
    references = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, position)
        position += 4
        bins: dict[int, list[Chunk]] = {}
        for _ in range(n_bin):
            number, n_chunk = struct.unpack_from("<Ii", data, position)
            position += 8
            pairs = struct.unpack_from(f"<{2 * n_chunk}Q", data, position)
            position += 16 * n_chunk
            if number != PSEUDO_BIN:
                bins[number] = [Chunk(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
        (n_intv,) = struct.unpack_from("<i", data, position)
        position += 4
        linear = list(struct.unpack_from(f"<{n_intv}Q", data, position))
        position += 8 * n_intv
        references.append((bins, linear))
    return references


def region_bins(begin: int, end: int) -> list[int]:
    """The bins of the UCSC binning scheme that may hold records overlapping [begin, end)."""
    end -= 1
    bins = [0]
    for shift, first in ((26, 1), (23, 9), (20, 73), (17, 585), (14, 4681)):
        bins.extend(range(first + (begin >> shift), first + (end >> shift) + 1))
    return bins


def bam_region_chunks(index: bytes, reference: int, begin: int, end: int) -> list[Chunk]:
    """The merged chunks of reference number `reference` that hold its records overlapping
    [begin, end) (0-based, end exclusive)."""
    references = parse_bai(index)
    if reference >= len(references):
        return []
    bins, linear = references[reference]
    window = begin >> LINEAR_SHIFT
    floor = linear[window] if window < len(linear) else (linear[-1] if linear else 0)
    chunks = [
        chunk
        for number in region_bins(begin, end)
        for chunk in bins.get(number, [])
        if chunk.end > floor
    ]
    return merge_chunks(chunks)


def bam_unplaced_start(index: bytes) -> int | None:
    """The virtual offset after the last placed record (where unplaced unmapped reads, `*`,
    begin), or None when the index holds no placed record."""
    ends = [chunk.end for bins, _ in parse_bai(index) for chunks in bins.values() for chunk in chunks]
    return max(ends) if ends else None


def merge_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """Sorted chunks, those that touch the same or overlapping blocks made one."""
    merged: list[Chunk] = []
    for chunk in sorted(chunks, key=lambda c: c.begin):
        if merged and chunk.begin >> 16 <= merged[-1].end >> 16:
            last = merged[-1]
            merged[-1] = Chunk(last.begin, max(last.end, chunk.end))
        else:
            merged.append(chunk)
    return merged


def block_size(read_at: ReadAt, offset: int) -> int:
    """The compressed size of the BGZF block that starts at `offset`."""
    header = read_at(offset, BGZF_HEADER)
    if len(header) < BGZF_HEADER or header[:4] != b"\x1f\x8b\x08\x04":
        raise IngestError(f"no BGZF block starts at byte {offset} of the BAM")
    (bsize,) = struct.unpack_from("<H", header, 16)
    return bsize + 1


def chunk_ranges(chunks: list[Chunk], read_at: ReadAt) -> list[ByteRange]:
    """Whole-block byte ranges covering the chunks, adjacent ones joined."""
    ranges: list[ByteRange] = []
    for chunk in chunks:
        start = chunk.begin >> 16
        last_block, inside = chunk.end >> 16, chunk.end & 0xFFFF
        end = last_block - 1 if inside == 0 else last_block + block_size(read_at, last_block) - 1
        if ranges and start <= ranges[-1].end + 1:
            ranges[-1] = ByteRange(ranges[-1].start, max(end, ranges[-1].end))
        elif end >= start:
            ranges.append(ByteRange(start, end))
    return ranges


@dataclass(frozen=True)
class BamHeader:
    """A BAM's reference names, in the order its records number them, and where its header ends."""

    references: list[str]
    # The byte offset of the first block after the header, when the header ends at a block's end
    # (as htslib writes it); None when the last header block also holds records.
    end: int | None
    text: bytes  # the header's uncompressed bytes (magic to the last reference)


def read_bam_header(read_at: ReadAt) -> BamHeader:
    """Parse a BAM's header from its first blocks."""
    data = b""
    offset = 0
    ends: list[tuple[int, int]] = []  # (uncompressed length so far, byte offset after that block)
    needed: int | None = None
    while needed is None or len(data) < needed:
        size = block_size(read_at, offset)
        payload = zlib.decompress(read_at(offset, size)[BGZF_HEADER:-8], -15)
        if not payload:
            raise IngestError("the BAM ends inside its header")
        data += payload
        offset += size
        ends.append((len(data), offset))
        needed = _header_length(data)
    assert needed is not None
    text = data[:needed]
    aligned = next((after for length, after in ends if length == needed), None)
    return BamHeader(_reference_names(text), aligned, text)


def _header_length(data: bytes) -> int | None:
    """The length of the BAM header at the start of `data`, or None if `data` is too short to tell."""
    if len(data) < 12:
        return None
    if data[:4] != b"BAM\x01":
        raise IngestError("the file is not a BAM (no BAM magic)")
    (l_text,) = struct.unpack_from("<i", data, 4)
    position = 8 + l_text
    if len(data) < position + 4:
        return None
    (n_ref,) = struct.unpack_from("<i", data, position)
    position += 4
    for _ in range(n_ref):
        if len(data) < position + 4:
            return None
        (l_name,) = struct.unpack_from("<i", data, position)
        position += 4 + l_name + 4
    return position if len(data) >= position else None


def _reference_names(text: bytes) -> list[str]:
    (l_text,) = struct.unpack_from("<i", text, 4)
    position = 8 + l_text
    (n_ref,) = struct.unpack_from("<i", text, position)
    position += 4
    names = []
    for _ in range(n_ref):
        (l_name,) = struct.unpack_from("<i", text, position)
        names.append(text[position + 4 : position + 4 + l_name - 1].decode())
        position += 4 + l_name + 4
    return names


def bgzf_block(data: bytes) -> bytes:
    """`data` (at most 64 KiB) as one BGZF block."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", len(body) + 25)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


@dataclass(frozen=True)
class CraiEntry:
    """One slice of a CRAI: reference number (-1 unmapped), 1-based start, span, and where its
    container starts in the file."""

    reference: int
    start: int
    span: int
    container: int


def parse_crai(data: bytes) -> list[CraiEntry]:
    text = gzip.decompress(data).decode()
    entries = []
    for line in text.splitlines():
        if line.strip():
            fields = [int(field) for field in line.split("\t")]
            entries.append(CraiEntry(fields[0], fields[1], fields[2], fields[3]))
    return entries


def cram_ranges(
    entries: list[CraiEntry], data_end: int, reference: int | None, begin: int = 0, end: int | None = None
) -> list[ByteRange]:
    """The containers holding slices of `reference` (None: every container; -1: unmapped) that
    overlap [begin, end) (0-based), as byte ranges up to the next container; `data_end` is where
    the EOF container starts."""
    starts = sorted({entry.container for entry in entries})
    following = {start: (starts[i + 1] if i + 1 < len(starts) else data_end) for i, start in enumerate(starts)}
    chosen = sorted(
        {
            entry.container
            for entry in entries
            if reference is None
            or (
                entry.reference == reference
                and (reference == -1 or _overlaps(entry, begin, end))
            )
        }
    )
    ranges: list[ByteRange] = []
    for start in chosen:
        last = following[start] - 1
        if ranges and start <= ranges[-1].end + 1:
            ranges[-1] = ByteRange(ranges[-1].start, last)
        else:
            ranges.append(ByteRange(start, last))
    return ranges


def _overlaps(entry: CraiEntry, begin: int, end: int | None) -> bool:
    first = entry.start - 1  # CRAI starts are 1-based
    return first + entry.span > begin and (end is None or first < end)


def cram_header_end(entries: list[CraiEntry]) -> int | None:
    """Where the first data container starts (the file definition and header container end)."""
    return min((entry.container for entry in entries), default=None)

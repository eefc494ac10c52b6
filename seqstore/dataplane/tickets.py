"""htsget tickets for a stored BAM or CRAM: the byte ranges of the header, of each requested
region's records (from the stored BAI or CRAI) and the end-of-file marker, in order."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pysam

from ..genomics import regions
from ..genomics.regions import ByteRange
from ..genomics.streams import BGZF_EOF, CRAM3_EOF


class TicketError(Exception):
    """A request htsget answers with an error: `code` is the htsget error name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Region:
    """A requested region: a reference name (`*`: unplaced unmapped reads), 0-based start and
    exclusive end (None: to the reference's end)."""

    reference_name: str
    start: int = 0
    end: int | None = None


@dataclass(frozen=True)
class Piece:
    """One URL of a ticket: a byte range of the stored file, or inline bytes (a data: URI)."""

    data_class: str | None  # "header", "body" or None (the whole file)
    byte_range: ByteRange | None = None
    inline: bytes | None = None

    def data_uri(self, mime: str) -> str:
        assert self.inline is not None
        return f"data:{mime};base64,{base64.b64encode(self.inline).decode()}"


def reader(path: Path) -> regions.ReadAt:
    def read_at(offset: int, length: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    return read_at


def bam_ticket(source: Path, index: Path, wanted: list[Region] | None, header_only: bool) -> list[Piece]:
    """The pieces of a BAM ticket: the whole file (no region), the header alone, or the header,
    the regions' blocks and the EOF block."""
    size = source.stat().st_size
    if wanted is None and not header_only:
        return [Piece(None, ByteRange(0, size - 1))]
    read_at = reader(source)
    header = regions.read_bam_header(read_at)
    head = (
        Piece("header", ByteRange(0, header.end - 1))
        if header.end is not None
        else Piece("header", inline=regions.bgzf_block(header.text))
    )
    if header_only:
        return [head, Piece("body", inline=BGZF_EOF)]
    index_bytes = index.read_bytes()
    data_end = size - len(BGZF_EOF) if _ends_with(source, BGZF_EOF) else size
    chunks: list[regions.Chunk] = []
    for region in wanted or []:
        if region.reference_name == "*":
            start = regions.bam_unplaced_start(index_bytes)
            begin = start if start is not None else (header.end or 0) << 16
            chunks.append(regions.Chunk(begin, data_end << 16))
            continue
        number = _reference_number(header.references, region.reference_name)
        chunks.extend(regions.bam_region_chunks(index_bytes, number, region.start, region.end or 2**29))
    ranges = regions.chunk_ranges(regions.merge_chunks(chunks), read_at)
    return [head, *(Piece("body", r) for r in _clip(ranges, data_end)), Piece("body", inline=BGZF_EOF)]


def cram_ticket(
    source: Path, index: Path, reference: Path | None, wanted: list[Region] | None, header_only: bool
) -> list[Piece]:
    """The pieces of a CRAM ticket: the whole file, the header (file definition and header
    container) alone, or the header, the regions' containers and the EOF container."""
    size = source.stat().st_size
    if wanted is None and not header_only:
        return [Piece(None, ByteRange(0, size - 1))]
    entries = regions.parse_crai(index.read_bytes())
    data_end = size - len(CRAM3_EOF) if _ends_with(source, CRAM3_EOF) else size
    first = regions.cram_header_end(entries)
    head = Piece("header", ByteRange(0, (first if first is not None else data_end) - 1))
    if header_only:
        return [head, Piece("body", inline=CRAM3_EOF)]
    names = _cram_references(source, reference)
    ranges: list[ByteRange] = []
    for region in wanted or []:
        number = -1 if region.reference_name == "*" else _reference_number(names, region.reference_name)
        ranges.extend(regions.cram_ranges(entries, data_end, number, region.start, region.end))
    return [head, *(Piece("body", r) for r in _union(ranges)), Piece("body", inline=CRAM3_EOF)]


def _reference_number(names: list[str], name: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise TicketError("NotFound", f"the read set has no reference sequence named {name!r}") from None


def _cram_references(source: Path, reference: Path | None) -> list[str]:
    options = {"reference_filename": str(reference)} if reference is not None else {}
    with pysam.AlignmentFile(str(source), "rc", **options) as cram:  # type: ignore[arg-type]
        return list(cram.references)


def _ends_with(path: Path, marker: bytes) -> bool:
    size = path.stat().st_size
    if size < len(marker):
        return False
    with open(path, "rb") as handle:
        handle.seek(size - len(marker))
        return handle.read() == marker


def _union(ranges: Iterable[ByteRange]) -> list[ByteRange]:
    merged: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if merged and r.start <= merged[-1].end + 1:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return merged


def _clip(ranges: list[ByteRange], data_end: int) -> list[ByteRange]:
    """Ranges kept before the EOF block (which the ticket sends inline)."""
    return [ByteRange(r.start, min(r.end, data_end - 1)) for r in _union(ranges) if r.start < data_end]

"""BAM, uBAM, CRAM and SAM written by htslib (through pysam), and what htslib reads back from
them: the counts and record text the spec's ETags and counts are checked against."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pysam

from tests.helpers.data import digest
from tests.helpers.fastq import QUALITIES

BAI_MAGIC = b"BAI\x01"


def _quality(rng: random.Random, length: int) -> Any:
    return pysam.qualitystring_to_array("".join(chr(33 + rng.randrange(5, 41)) for _ in range(length)))


def write_bam(
    path: Path,
    reference: Path,
    reads: int,
    *,
    seed: int,
    read_length: int = 80,
    extras: bool = True,
    file_format: str = "bam",
) -> Path:
    """A coordinate-sorted BAM (or CRAM with file_format="cram") of reads placed on `reference`:
    forward and reverse reads, and with `extras` also secondary (0x100) and supplementary (0x800)
    records, a read with soft clipping and unmapped reads with and without a placed mate."""
    rng = random.Random(seed)
    fasta = pysam.FastaFile(str(reference))
    contigs = list(zip(fasta.references, fasta.lengths, strict=True))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": length} for name, length in contigs],
        "RG": [{"ID": "rg1", "SM": "sample1", "PL": "ILLUMINA"}],
        "PG": [{"ID": "acceptance-test", "PN": "readset_helpers"}],
    }
    unsorted = path.with_name(f"{path.name}.unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:

        def record(
            name: str, flag: int, tid: int, pos: int, sequence: str, cigar: list[tuple[int, int]]
        ) -> Any:
            segment = pysam.AlignedSegment(out.header)
            segment.query_name = name
            segment.flag = flag
            segment.reference_id = tid
            segment.reference_start = pos
            segment.mapping_quality = 0 if flag & 4 else 60
            segment.query_sequence = sequence
            segment.query_qualities = _quality(rng, len(sequence))
            if not flag & 4:
                segment.cigartuples = cigar
            segment.set_tag("RG", "rg1")
            return segment

        for i in range(reads):
            tid = rng.randrange(len(contigs))
            name, length = contigs[tid]
            pos = rng.randrange(0, length - read_length)
            sequence = fasta.fetch(name, pos, pos + read_length)
            flag = 16 if i % 2 else 0
            out.write(record(f"r{i:05d}", flag, tid, pos, sequence, [(0, read_length)]))
            if extras and i % 25 == 0:
                other = rng.randrange(0, length - read_length)
                out.write(record(f"r{i:05d}", flag | 0x100, tid, other, sequence, [(0, read_length)]))
                half = read_length // 2
                out.write(record(f"r{i:05d}", flag | 0x800, tid, other, sequence[:half], [(0, half)]))
        if extras:
            name, length = contigs[0]
            # soft-clipped read: 10 bases clipped, still 80 query bases
            sequence = "".join(rng.choice("ACGT") for _ in range(10)) + fasta.fetch(
                name, 500, 500 + read_length - 10
            )
            out.write(record("clipped", 0, 0, 500, sequence, [(4, 10), (0, read_length - 10)]))
            for j in range(5):  # unmapped, no coordinates: sorted to the end
                sequence = "".join(rng.choice("ACGTN") for _ in range(read_length - j))
                out.write(record(f"unplaced{j}", 4, -1, -1, sequence, []))
            # an unmapped read given a position (as aligners place a read beside its mapped mate)
            sequence = "".join(rng.choice("ACGT") for _ in range(read_length))
            out.write(record("placed_unmapped", 4, 0, 700, sequence, []))
    if file_format == "cram":
        sorted_bam = path.with_name(f"{path.name}.sorted.bam")
        pysam.sort("--no-PG", "-o", str(sorted_bam), str(unsorted))
        pysam.view(
            "--no-PG", "-C", "-T", str(reference), "-o", str(path), str(sorted_bam), catch_stdout=False
        )
        sorted_bam.unlink()
    else:
        pysam.sort("--no-PG", "-o", str(path), str(unsorted))
    unsorted.unlink()
    return path


def write_ubam(path: Path, reads: int, *, seed: int, read_length: int = 70) -> Path:
    """An unaligned BAM: read pairs (flags 77/141), every record unmapped, no @SQ lines."""
    rng = random.Random(seed)
    header = {"HD": {"VN": "1.6", "SO": "queryname"}, "RG": [{"ID": "rg1", "SM": "sample1"}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in range(reads):
            for flag in (77, 141):
                segment = pysam.AlignedSegment(out.header)
                segment.query_name = f"u{i:05d}"
                segment.flag = flag
                segment.reference_id = -1
                segment.reference_start = -1
                segment.next_reference_id = -1
                segment.next_reference_start = -1
                sequence = "".join(rng.choice("ACGT") for _ in range(read_length - (i % 3)))
                segment.query_sequence = sequence
                segment.query_qualities = _quality(rng, len(sequence))
                segment.set_tag("RG", "rg1")
                out.write(segment)
    return path


def write_alignments(
    path: Path,
    sequences: dict[str, str],
    *,
    seed: int,
    reads: int = 150,
    read_length: int = 50,
    cram_reference: Path | None = None,
    header_lengths: dict[str, int] | None = None,
) -> Path:
    """A coordinate-sorted BAM (or, with `cram_reference`, a CRAM written by htslib against that
    FASTA) of reads copied from `sequences`: forward and reverse primary reads, some secondary
    (0x100) and supplementary (0x800) records, and unmapped reads at the end. `header_lengths`
    overrides the @SQ LN values."""
    rng = random.Random(seed)
    names = list(sequences)
    lengths = {name: len(seq) for name, seq in sequences.items()} | (header_lengths or {})
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": lengths[name]} for name in names],
        "RG": [{"ID": "rg1", "SM": "sample-1", "PL": "ILLUMINA"}],
    }
    placements = []
    for _ in range(reads):
        tid = rng.randrange(len(names))
        placements.append((tid, rng.randrange(len(sequences[names[tid]]) - read_length)))
    placements.sort()
    mode, kwargs = ("wc", {"reference_filename": str(cram_reference)}) if cram_reference else ("wb", {})
    with pysam.AlignmentFile(str(path), mode, header=header, **kwargs) as out:

        def segment(name: str, flag: int, tid: int, pos: int, seq: str, cigar: list[tuple[int, int]]) -> Any:
            record = pysam.AlignedSegment(out.header)
            record.query_name = name
            record.flag = flag
            record.reference_id = tid
            record.reference_start = pos
            record.mapping_quality = 0 if flag & 4 else 60
            record.query_sequence = seq
            record.query_qualities = pysam.qualitystring_to_array(
                "".join(chr(33 + rng.randrange(10, 41)) for _ in seq)
            )
            if not flag & 4:
                record.cigartuples = cigar
            record.set_tag("RG", "rg1")
            return record

        for i, (tid, pos) in enumerate(placements):
            seq = sequences[names[tid]][pos : pos + read_length]
            flag = 16 if i % 3 == 0 else 0
            out.write(segment(f"read{i:05d}", flag, tid, pos, seq, [(0, read_length)]))
            if i % 10 == 0:
                out.write(segment(f"read{i:05d}", flag | 0x100, tid, pos, seq, [(0, read_length)]))
            if i % 15 == 0:
                half = read_length // 2
                out.write(segment(f"read{i:05d}", flag | 0x800, tid, pos, seq[:half], [(0, half), (5, half)]))
        for j in range(4):
            seq = "".join(rng.choice("ACGT") for _ in range(read_length - j))
            out.write(segment(f"unmapped{j}", 4, -1, -1, seq, []))
    return path


def write_sam(path: Path, reference: Path, seed: int, reads: int, unmapped_only: bool = False) -> Path:
    """Writes SAM with primary, secondary, supplementary and unmapped records against ``reference``."""
    rnd = random.Random(seed)
    fasta = pysam.FastaFile(str(reference))
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    if not unmapped_only:
        lines += [
            f"@SQ\tSN:{name}\tLN:{length}"
            for name, length in zip(fasta.references, fasta.lengths, strict=True)
        ]
    lines.append("@RG\tID:rg1\tSM:sample1")
    for number in range(reads):
        length = rnd.randint(40, 120)
        quality = "".join(rnd.choice(QUALITIES) for _ in range(length))
        if unmapped_only or number % 17 == 0:
            sequence = "".join(rnd.choice("ACGTN") for _ in range(length))
            lines.append(f"u{number}\t4\t*\t0\t0\t*\t*\t0\t0\t{sequence}\t{quality}\tRG:Z:rg1")
            continue
        contig = rnd.choice(fasta.references)
        start = rnd.randrange(fasta.get_reference_length(contig) - length)
        sequence = fasta.fetch(contig, start, start + length)
        flag = rnd.choice([0, 16])
        if number % 11 == 0:
            flag |= 0x100
        elif number % 13 == 0:
            flag |= 0x800
        sequence_field = "*" if flag & 0x100 and number % 2 else sequence
        quality_field = "*" if sequence_field == "*" else quality
        lines.append(
            f"r{number}\t{flag}\t{contig}\t{start + 1}\t60\t{length}M\t*\t0\t0\t{sequence_field}\t{quality_field}"
            f"\tNM:i:0\tRG:Z:rg1\tXF:f:{rnd.random():.4f}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def sam_to_bam(sam: Path, bam: Path, sort: bool = True) -> Path:
    """A BAM of a SAM file written by htslib: coordinate-sorted (samtools sort), or with `sort`
    False in the SAM's order (samtools view -b)."""
    if sort:
        pysam.sort("--no-PG", "-o", str(bam), str(sam), catch_stdout=False)
    else:
        pysam.view("--no-PG", "-b", "-o", str(bam), str(sam), catch_stdout=False)
    return bam


def sam_to_cram(sam: Path, cram: Path, reference: Path) -> Path:
    sorted_bam = cram.with_suffix(".sorted.bam")
    pysam.sort("-o", str(sorted_bam), str(sam), catch_stdout=False)
    pysam.view("-C", "-T", str(reference), "-o", str(cram), str(sorted_bam), catch_stdout=False)
    sorted_bam.unlink()
    return cram


def alignment_counts(path: Path, reference: Path | None = None) -> tuple[int, int]:
    """(reads, bases) as the spec counts them: records neither secondary (0x100) nor
    supplementary (0x800); bases = the sum of their SEQ lengths, unmapped reads included."""
    reads = bases = 0
    kwargs: dict[str, Any] = {"check_sq": False}
    if reference is not None:
        kwargs["reference_filename"] = str(reference)
    with pysam.AlignmentFile(str(path), **kwargs) as alignments:
        for r in alignments.fetch(until_eof=True):
            if r.flag & 0x900:
                continue
            reads += 1
            bases += r.query_length
    return reads, bases


def sam_text(path: Path, reference: Path | None = None) -> bytes:
    """The records as `samtools view [-T reference]` prints them (no header), every line ending
    in a newline."""
    args = ["-T", str(reference)] if reference is not None else []
    return str(pysam.view(*args, str(path))).encode()


def samtools_view_digest(path: Path, reference: Path | None = None, algorithm: str = "md5") -> str:
    """The BAM/CRAM ETag truth: the hash of what `samtools view [-T ref] path` prints."""
    return digest(sam_text(path, reference), algorithm)

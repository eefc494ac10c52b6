"""Small deterministic genomic files for the genomics tests, and the htslib/gzip truths to
compare ingestion with (never computed by seqstore's own code)."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pysam

HTSLIB_TESTDATA = Path(__file__).resolve().parents[1] / "data" / "htslib"

_QUALITY = "".join(chr(c) for c in range(33, 75))


def fastq_records(count: int, seed: int, mate: int | None = None, style: str = "illumina") -> bytes:
    """Returns ``count`` FASTQ records of varied length; mates 1 and 2 of one seed share names."""
    rnd = random.Random(seed)
    out = []
    for number in range(count):
        length = rnd.randint(30, 160)
        sequence = "".join(rnd.choice("ACGTN") for _ in range(length))
        quality = "".join(rnd.choice(_QUALITY) for _ in range(length))
        base = f"SIM:1:FC:1:{number // 100}:{number}"
        if style == "illumina":
            header = f"@{base} {mate or 1}:N:0:ACGT"
        elif style == "slash":
            header = f"@{base}/{mate or 1}"
        else:
            header = f"@{base}"
        out.append(f"{header}\n{sequence}\n+\n{quality}\n")
    return "".join(out).encode()


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


def digest(data: bytes, algorithm: str = "md5") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def gunzip_digest(path: Path, algorithm: str = "md5") -> str:
    """The FASTQ ETag truth: the hash of `gzip -dc path`."""
    with gzip.open(path, "rb") as handle:
        return digest(handle.read(), algorithm)


def fastx_counts(path: Path) -> tuple[int, int]:
    """(records, bases) as htslib's FASTQ reader sees them."""
    records = bases = 0
    with pysam.FastxFile(str(path)) as handle:
        for entry in handle:
            records += 1
            bases += len(entry.sequence or "")
    return records, bases


def write_reference(path: Path, seed: int, contigs: dict[str, int]) -> Path:
    """Writes a random FASTA with 60-column lines and indexes it with samtools faidx."""
    rnd = random.Random(seed)
    with open(path, "w") as out:
        for name, length in contigs.items():
            sequence = "".join(rnd.choice("ACGT") for _ in range(length))
            out.write(f">{name} random contig\n")
            out.writelines(sequence[i : i + 60] + "\n" for i in range(0, length, 60))
    pysam.faidx(str(path))
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
        quality = "".join(rnd.choice(_QUALITY) for _ in range(length))
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
    if sort:
        pysam.sort("-o", str(bam), str(sam), catch_stdout=False)
    else:
        pysam.view("-b", "-o", str(bam), str(sam), catch_stdout=False)
    return bam


def sam_to_cram(sam: Path, cram: Path, reference: Path) -> Path:
    sorted_bam = cram.with_suffix(".sorted.bam")
    pysam.sort("-o", str(sorted_bam), str(sam), catch_stdout=False)
    pysam.view("-C", "-T", str(reference), "-o", str(cram), str(sorted_bam), catch_stdout=False)
    sorted_bam.unlink()
    return cram


def samtools_view_digest(path: Path, reference: Path | None = None, algorithm: str = "md5") -> str:
    """The BAM/CRAM ETag truth: the hash of what `samtools view [-T ref] path` prints."""
    args = ["-T", str(reference), str(path)] if reference else [str(path)]
    return digest(pysam.view(*args).encode(), algorithm)


def alignment_counts(path: Path, reference: Path | None = None) -> tuple[int, int]:
    """(reads, bases) over records that are neither secondary nor supplementary, per pysam."""
    reads = bases = 0
    kwargs = {"reference_filename": str(reference)} if reference else {}
    with pysam.AlignmentFile(str(path), check_sq=False, **kwargs) as handle:  # type: ignore[arg-type]
        for record in handle.fetch(until_eof=True):
            if not record.flag & 0x900:
                reads += 1
                bases += record.query_length
    return reads, bases

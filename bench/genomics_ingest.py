"""Benchmark ingestion against the command-line floors (not collected by pytest).

    python bench/genomics_ingest.py DIR [--reads 1000000] [--repeat 3] [--only fastq,bam,...]

Generates into DIR (once) R1/R2 FASTQ (150 bp, plain and gzip), a reference FASTA and a sorted
BAM/CRAM, then prints min and median seconds of each ingest beside the command it should be
compared with.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pysam

from seqstore.genomics import ingest_alignment, ingest_fastq, ingest_reference

READ_LENGTH = 150
_ACGT = bytes.maketrans(bytes(range(256)), bytes(b"ACGT"[i % 4] for i in range(256)))
_QUAL = bytes.maketrans(bytes(range(256)), bytes(33 + (i % 41) for i in range(256)))
_VIEW = "import sys, pysam; pysam.samtools.view(*sys.argv[1:], catch_stdout=False)"


def write_fastq(path: Path, reads: int, mate: int, seed: int) -> None:
    rnd = random.Random(seed)
    with open(path, "wb") as out:
        for start in range(0, reads, 10_000):
            block = min(10_000, reads - start)
            seqs = rnd.randbytes(READ_LENGTH * block).translate(_ACGT)
            quals = rnd.randbytes(READ_LENGTH * block).translate(_QUAL)
            out.write(
                b"".join(
                    b"@SIM:1:FCX:1:%d:%d %d:N:0:ACGTACGT\n%s\n+\n%s\n"
                    % (
                        n // 10_000,
                        n,
                        mate,
                        seqs[i * READ_LENGTH : (i + 1) * READ_LENGTH],
                        quals[i * READ_LENGTH : (i + 1) * READ_LENGTH],
                    )
                    for i, n in enumerate(range(start, start + block))
                )
            )


def write_alignments(directory: Path, reads: int) -> None:
    rnd = random.Random(3)
    contigs = [("chr1", 6_000_000), ("chr2", 4_000_000)]
    references = {}
    with open(directory / "ref.fa", "wb") as fasta:
        for name, length in contigs:
            sequence = rnd.randbytes(length).translate(_ACGT)
            references[name] = sequence
            fasta.write(b">%s\n" % name.encode())
            fasta.writelines(sequence[i : i + 60] + b"\n" for i in range(0, length, 60))
    pysam.faidx(str(directory / "ref.fa"))
    sam = directory / "big.sam"
    with open(sam, "wb") as out:
        out.writelines(b"@SQ\tSN:%s\tLN:%d\n" % (name.encode(), length) for name, length in contigs)
        for contig_index, (name, length) in enumerate(contigs):
            count = reads // len(contigs)
            positions = sorted(rnd.randrange(length - READ_LENGTH) for _ in range(count))
            quals = rnd.randbytes(count * READ_LENGTH).translate(_QUAL)
            reference = references[name]
            out.write(
                b"".join(
                    b"r%d_%d\t%d\t%s\t%d\t60\t150M\t*\t0\t0\t%s\t%s\tNM:i:0\tAS:i:150\n"
                    % (
                        contig_index,
                        i,
                        (16 if i % 2 else 0) | (256 if i % 1000 == 7 else 0),
                        name.encode(),
                        position + 1,
                        reference[position : position + READ_LENGTH],
                        quals[i * READ_LENGTH : (i + 1) * READ_LENGTH],
                    )
                    for i, position in enumerate(positions)
                )
            )
    pysam.view("-b", "-@2", "-o", str(directory / "big.bam"), str(sam), catch_stdout=False)
    pysam.view(
        "-C",
        "-@2",
        "-T",
        str(directory / "ref.fa"),
        "-o",
        str(directory / "big.cram"),
        str(sam),
        catch_stdout=False,
    )
    sam.unlink()


def prepare(directory: Path, reads: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for mate in (1, 2):
        plain = directory / f"R{mate}.fastq"
        if not (directory / f"R{mate}.fastq.gz").exists():
            write_fastq(plain, reads, mate, seed=mate)
            with open(plain, "rb") as src, gzip.open(directory / f"R{mate}.fastq.gz", "wb", 6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    if not (directory / "big.bam").exists():
        write_alignments(directory, reads)


def timed(label: str, repeat: int, action: Callable[[], object]) -> None:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    print(f"{label:<58} min {min(seconds):6.2f} s   median {statistics.median(seconds):6.2f} s", flush=True)


def shell(command: str) -> Callable[[], object]:
    return lambda: subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="fastq,paired,plain,bam,cram,reference")
    args = parser.parse_args()
    d: Path = args.directory
    prepare(d, args.reads)
    only = set(args.only.split(","))
    py = sys.executable
    with tempfile.TemporaryDirectory() as work:
        w = Path(work)
        if "fastq" in only:
            timed("gzip -dc R1.fastq.gz | md5sum", args.repeat, shell(f"gzip -dc {d}/R1.fastq.gz | md5sum"))
            timed(
                "python -m isal.igzip -dc R1.fastq.gz | md5sum",
                args.repeat,
                shell(f"{py} -m isal.igzip -dc {d}/R1.fastq.gz | md5sum"),
            )
            timed(
                "ingest_fastq(R1.fastq.gz) MD5up",
                args.repeat,
                lambda: ingest_fastq(d / "R1.fastq.gz", None, "MD5up", w),
            )
            timed(
                "ingest_fastq(R1.fastq.gz) SHA256up",
                args.repeat,
                lambda: ingest_fastq(d / "R1.fastq.gz", None, "SHA256up", w),
            )
        if "paired" in only:
            timed(
                "gzip -dc R1 | md5sum; gzip -dc R2 | md5sum (in turn)",
                args.repeat,
                shell(f"gzip -dc {d}/R1.fastq.gz | md5sum; gzip -dc {d}/R2.fastq.gz | md5sum"),
            )
            timed(
                "isal -dc R1 | md5sum & isal -dc R2 | md5sum (parallel)",
                args.repeat,
                shell(
                    f"{py} -m isal.igzip -dc {d}/R1.fastq.gz | md5sum & "
                    f"{py} -m isal.igzip -dc {d}/R2.fastq.gz | md5sum; wait"
                ),
            )
            timed(
                "ingest_fastq(R1.fastq.gz, R2.fastq.gz)",
                args.repeat,
                lambda: ingest_fastq(d / "R1.fastq.gz", d / "R2.fastq.gz", "MD5up", w),
            )
        if "plain" in only:
            timed("md5sum R1.fastq (plain)", args.repeat, shell(f"md5sum {d}/R1.fastq"))
            timed(
                "ingest_fastq(R1.fastq) (plain, gzips a copy)",
                args.repeat,
                lambda: ingest_fastq(d / "R1.fastq", None, "MD5up", w),
            )
        if "bam" in only:
            timed(
                "samtools view big.bam | md5sum (pysam in a child)",
                args.repeat,
                shell(f"{py} -c '{_VIEW}' {d}/big.bam | md5sum"),
            )
            timed(
                "samtools view -o file + md5sum file",
                args.repeat,
                shell(f"{py} -c '{_VIEW}' -o {w}/out.sam {d}/big.bam && md5sum {w}/out.sam"),
            )
            timed(
                "ingest_alignment(big.bam, BAM) with BAI",
                args.repeat,
                lambda: ingest_alignment(d / "big.bam", "BAM", "MD5up", w, d / "ref.fa"),
            )
        if "cram" in only:
            timed(
                "samtools view -T ref.fa big.cram | md5sum",
                args.repeat,
                shell(f"{py} -c '{_VIEW}' -T {d}/ref.fa {d}/big.cram | md5sum"),
            )
            timed(
                "ingest_alignment(big.cram, CRAM) with CRAI",
                args.repeat,
                lambda: ingest_alignment(d / "big.cram", "CRAM", "MD5up", w, d / "ref.fa"),
            )
        if "reference" in only:
            timed("md5sum ref.fa", args.repeat, shell(f"md5sum {d}/ref.fa"))
            timed("ingest_reference(ref.fa)", args.repeat, lambda: ingest_reference(d / "ref.fa", w))


if __name__ == "__main__":
    main()

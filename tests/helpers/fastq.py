"""Deterministic FASTQ (a seeded random.Random) and its counts, as htslib or a plain reading of
the records gives them."""

from __future__ import annotations

import random
from pathlib import Path

import pysam

QUALITIES = "".join(chr(c) for c in range(33, 75))


def fastq_text(
    count: int, *, seed: int, read_length: int = 50, prefix: str = "read", mate: int | None = None
) -> bytes:
    """`count` single-line FASTQ records; read lengths vary a little around `read_length`.
    With `mate` 1 or 2 the names end in /1 or /2 (the same reads for the same seed)."""
    rng = random.Random(seed)
    suffix = f"/{mate}" if mate else ""
    lines = []
    for i in range(count):
        length = read_length - rng.randrange(0, 5)
        sequence = "".join(rng.choice("ACGT") for _ in range(length))
        if i % 17 == 3:
            sequence = sequence[:5] + "N" + sequence[6:]
        quality = "".join(chr(33 + rng.randrange(2, 41)) for _ in range(length))
        lines.append(f"@{prefix}{i:06d}{suffix} sample=S1\n{sequence}\n+\n{quality}\n")
    return "".join(lines).encode()


def paired_fastq(count: int, *, seed: int, read_length: int = 50) -> tuple[bytes, bytes]:
    return (
        fastq_text(count, seed=seed, read_length=read_length, mate=1),
        fastq_text(count, seed=seed + 1_000_000, read_length=read_length, mate=2),
    )


def seed_named_fastq_text(count: int, *, seed: int, read_length: int = 40, mate: int | None = None) -> bytes:
    """`count` FASTQ records whose names carry the seed (@s<seed>r<n>), so that files of different
    seeds share no read name; with `mate` the names end in /1 or /2."""
    rng = random.Random(seed)
    suffix = f"/{mate}" if mate else ""
    records = []
    for i in range(count):
        length = read_length - rng.randrange(0, 4)
        sequence = "".join(rng.choice("ACGTN" if i % 11 == 5 else "ACGT") for _ in range(length))
        quality = "".join(chr(33 + rng.randrange(2, 41)) for _ in range(length))
        records.append(f"@s{seed}r{i:06d}{suffix}\n{sequence}\n+\n{quality}\n")
    return "".join(records).encode()


def seed_named_paired_fastq(count: int, *, seed: int, read_length: int = 40) -> tuple[bytes, bytes]:
    """Two mates of seed_named_fastq_text: the same read names, different bases (seed and seed + 1)."""
    first = seed_named_fastq_text(count, seed=seed, read_length=read_length, mate=1)
    second = seed_named_fastq_text(count, seed=seed + 1, read_length=read_length, mate=2).replace(
        f"@s{seed + 1}r".encode(), f"@s{seed}r".encode()
    )
    return first, second


def bulk_fastq_text(count: int, *, seed: int, read_length: int = 100) -> bytes:
    """Many fixed-length records, fast: random bytes mapped onto ACGT and a few quality letters."""
    rng = random.Random(seed)
    bases = rng.randbytes(count * read_length).translate(bytes(b"ACGT"[i % 4] for i in range(256)))
    quality = rng.randbytes(count * read_length).translate(bytes(b"FFFF:,#"[i % 7] for i in range(256)))
    records = []
    for i in range(count):
        start = i * read_length
        end = start + read_length
        records.append(b"@bulk%d_%d\n%s\n+\n%s\n" % (seed, i, bases[start:end], quality[start:end]))
    return b"".join(records)


def fastq_records(count: int, seed: int, mate: int | None = None, style: str = "illumina") -> bytes:
    """``count`` FASTQ records of varied length (30 to 160 bases, N included) with Illumina-style
    names; mates 1 and 2 of one seed share names. `style` "slash" ends the names in /1 or /2,
    anything else leaves the mate out."""
    rnd = random.Random(seed)
    out = []
    for number in range(count):
        length = rnd.randint(30, 160)
        sequence = "".join(rnd.choice("ACGTN") for _ in range(length))
        quality = "".join(rnd.choice(QUALITIES) for _ in range(length))
        base = f"SIM:1:FC:1:{number // 100}:{number}"
        if style == "illumina":
            header = f"@{base} {mate or 1}:N:0:ACGT"
        elif style == "slash":
            header = f"@{base}/{mate or 1}"
        else:
            header = f"@{base}"
        out.append(f"{header}\n{sequence}\n+\n{quality}\n")
    return "".join(out).encode()


def fastq_counts(*plain_sources: bytes) -> tuple[int, int]:
    """(records, bases) over the given uncompressed single-line FASTQ sources."""
    records = bases = 0
    for data in plain_sources:
        lines = data.splitlines()
        assert len(lines) % 4 == 0
        records += len(lines) // 4
        bases += sum(len(line) for line in lines[1::4])
    return records, bases


def fastx_counts(path: Path) -> tuple[int, int]:
    """(records, bases) as htslib's FASTQ reader sees them."""
    records = bases = 0
    with pysam.FastxFile(str(path)) as handle:
        for entry in handle:
            records += 1
            bases += len(entry.sequence or "")
    return records, bases

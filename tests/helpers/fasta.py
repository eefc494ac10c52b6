"""Deterministic FASTA (a seeded random.Random) and the .fai htslib writes for it."""

from __future__ import annotations

import random
import shutil
import uuid
from pathlib import Path

import pysam

# A genome no reference of the server matches (for BAMs whose @SQ lines disagree with theirs).
SMALL_GENOME = {"chr1": 20_000, "chr2": 12_000, "chrM": 1_600}


def random_sequences(lengths: dict[str, int], seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    return {name: "".join(rng.choice("ACGT") for _ in range(length)) for name, length in lengths.items()}


def fasta_bytes(sequences: dict[str, str], width: int = 60, description: str = "") -> bytes:
    """A FASTA of `sequences`, `width` bases a line; a `description` (with `{name}` standing for
    the sequence's name) follows each name."""
    lines = []
    for name, sequence in sequences.items():
        lines.append(f">{name} {description.format(name=name)}" if description else f">{name}")
        lines.extend(sequence[i : i + width] for i in range(0, len(sequence), width))
    return ("\n".join(lines) + "\n").encode()


def write_reference(path: Path, contigs: dict[str, int], *, seed: int = 7, description: str = "") -> Path:
    """A random FASTA of `contigs` (name -> length), 60 bases a line, indexed by samtools faidx."""
    path.write_bytes(fasta_bytes(random_sequences(contigs, seed), description=description))
    pysam.faidx(str(path))
    return path


def faidx_of(fasta: bytes, tmp_path: Path) -> bytes:
    """The .fai samtools faidx (through pysam) writes for this plain FASTA."""
    path = tmp_path / f"{uuid.uuid4().hex}.fa"
    path.write_bytes(fasta)
    pysam.faidx(str(path))
    return Path(f"{path}.fai").read_bytes()


def local_copy(fasta: Path, directory: Path) -> Path:
    """A copy of a FASTA with its .fai (made by htslib), to write and read BAM/CRAM against."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / fasta.name
    shutil.copyfile(fasta, copy)
    pysam.faidx(str(copy))
    return copy

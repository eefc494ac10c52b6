"""What ingestion reports about a read set or a reference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ReadSetIngest:
    """Metadata computed from a read set's source files at ingestion."""

    read_count: int  # totalReadCount
    base_count: int  # totalBaseCount
    etags: dict[str, str]  # {"source1": hex, "source2": hex}, lowercase hex digests
    etag_algorithm: str  # e.g. "FASTQ_MD5up", "BAM_SHA256up", "CRAM_SHA512up"
    alignment: str  # "UNALIGNED" for FASTQ and UBAM, "ALIGNED" for BAM and CRAM
    index_path: Path | None  # BAI for BAM, CRAI for CRAM; None otherwise
    stored_paths: dict[str, Path]  # the file to store and serve for each source


@dataclass
class ReferenceIngest:
    """Metadata computed from a reference FASTA at import."""

    md5: str  # md5 of the stored plain FASTA, lowercase hex
    fasta_path: Path  # the plain FASTA to store
    fai_path: Path  # its .fai index
    sequences: list[tuple[str, int]]  # (name, length) in file order

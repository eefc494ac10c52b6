"""A `seqstore serve` process holding bench/ingest.py's cached BAM as an ACTIVE read set: what the
data-plane benchmarks (htsget, S3) read from."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import serve_with_genome
from ingest import generate, ingest

KEY, SECRET = "bench", "bench-secret"


@dataclass
class Served:
    url: str
    data_dir: Path
    work: Path
    fasta: Path
    bam: Path
    store_id: str
    metadata: dict[str, Any]  # GetReadSetMetadata of the BAM read set
    omics: Any


@contextlib.contextmanager
def served_bam(pairs: int) -> Iterator[Served]:
    fasta, _, _, bam = generate(pairs)
    work = Path(tempfile.mkdtemp(prefix="seqstore-plane-bench-"))
    with serve_with_genome(fasta, KEY, SECRET) as running:
        _, metadata = ingest(running.omics, running.store_id, [bam], "BAM", running.reference_arn)
        yield Served(running.url, running.data_dir, work, fasta, bam, running.store_id, metadata, running.omics)

"""Reading genomic files at ingestion: FASTQ, BAM/uBAM/CRAM read sets and FASTA references.

Everything is streamed; htslib (through pysam) reads the binary formats, ISA-L decompresses gzip.

The names below are imported on first use, so that the ingestion children (``native.main``,
the FASTQ child) start without loading the readers they do not run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alignment import ingest_alignment
    from .errors import IngestError
    from .fastq import ingest_fastq
    from .reference import ingest_reference
    from .results import ReadSetIngest, ReferenceIngest

_HOMES = {
    "IngestError": ".errors",
    "ReadSetIngest": ".results",
    "ReferenceIngest": ".results",
    "ingest_alignment": ".alignment",
    "ingest_fastq": ".fastq",
    "ingest_reference": ".reference",
}

__all__ = [
    "IngestError",
    "ReadSetIngest",
    "ReferenceIngest",
    "ingest_alignment",
    "ingest_fastq",
    "ingest_reference",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value

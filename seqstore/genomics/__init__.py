"""Reading genomic files at ingestion: FASTQ, BAM/uBAM/CRAM read sets and FASTA references.

Everything is streamed; htslib (through pysam) reads the binary formats, ISA-L decompresses gzip.
"""

from .alignment import ingest_alignment
from .errors import IngestError
from .fastq import ingest_fastq
from .reference import ingest_reference
from .results import ReadSetIngest, ReferenceIngest

__all__ = [
    "IngestError",
    "ReadSetIngest",
    "ReferenceIngest",
    "ingest_alignment",
    "ingest_fastq",
    "ingest_reference",
]

"""Builds the optional C helpers for ingestion: seqstore/genomics/_htscan.c (BAM and CRAM, one
decode) and seqstore/genomics/_fastqscan.c (the common case of the FASTQ record checks).

Everything else about the package is in pyproject.toml. _htscan is compiled against the htslib
headers that pysam ships and calls pysam's own htslib at run time. Where a helper cannot be
built (no C compiler, no pysam at build time), the install still succeeds and ingestion takes
its slower path: samtools children (seqstore/genomics/native.py), the record checks in Python
(seqstore/genomics/fastq.py).
"""

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    # FASTQ checks (no dependency).
    extensions = [
        Extension(
            "seqstore.genomics._fastqscan",
            sources=["seqstore/genomics/_fastqscan.c"],
            extra_compile_args=["-O3", "-std=gnu11"],  # -O3: its byte loops become vector code
            optional=True,
        )
    ]
    try:
        import pysam
    except ImportError:
        return extensions
    return [
        *extensions,
        Extension(
            "seqstore.genomics._htscan",
            sources=["seqstore/genomics/_htscan.c"],
            include_dirs=pysam.get_include(),
            libraries=["dl"],
            extra_compile_args=["-O2", "-std=gnu11"],
            optional=True,
        )
    ]


setup(ext_modules=_extensions())

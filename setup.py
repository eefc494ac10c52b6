"""Builds the optional C helpers: seqstore/genomics/_htscan.c (BAM and CRAM, one decode),
seqstore/genomics/_fastqscan.c (the common case of the FASTQ record checks) and
seqstore/protocol/_sigv4.c (the arithmetic of SigV4 verification, with OpenSSL's libcrypto).

Everything else about the package is in pyproject.toml. _htscan is compiled against the htslib
headers that pysam ships and calls pysam's own htslib at run time. Where a helper cannot be
built (no C compiler, no pysam or OpenSSL headers at build time), the install still succeeds and takes
its slower path: samtools children (seqstore/genomics/native.py), the record checks in Python
(seqstore/genomics/fastq.py), signatures computed in Python (seqstore/protocol/auth.py).
"""

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    extensions = [
        # FASTQ checks (no dependency).
        Extension(
            "seqstore.genomics._fastqscan",
            sources=["seqstore/genomics/_fastqscan.c"],
            extra_compile_args=["-O3", "-std=gnu11"],  # -O3: its byte loops become vector code
            optional=True,
        ),
        # SigV4 (OpenSSL's libcrypto and its headers: Debian's libssl-dev).
        Extension(
            "seqstore.protocol._sigv4",
            sources=["seqstore/protocol/_sigv4.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-std=gnu11"],
            optional=True,
        ),
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

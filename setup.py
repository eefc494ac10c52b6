"""Builds the optional C helper for BAM ingestion (seqstore/genomics/_htscan.c).

Everything else about the package is in pyproject.toml. The helper is compiled against the
htslib headers that pysam ships and calls pysam's own htslib at run time. Where it cannot be
built (no C compiler, no pysam at build time), the install still succeeds and BAM ingestion
uses its slower path through samtools children (seqstore/genomics/native.py says which).
"""

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    try:
        import pysam
    except ImportError:
        return []
    return [
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

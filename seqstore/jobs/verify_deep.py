"""`seqstore verify --deep`: recompute from the stored bytes what ingestion computed, with the same
readers (seqstore.genomics), and say what differs from the database."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import genomics
from ..genomics import IngestError
from ..store.domain import Domain
from ..store.verify import DeepCheck, Subject


def deep_check(domain: Domain, work_dir: Path) -> DeepCheck:
    """The deep check of `seqstore.store.verify.Verifier` on this domain."""

    def check(subject: Subject, paths: dict[str, Path]) -> list[str]:
        with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
            try:
                if subject.kind == "reference":
                    return _reference(subject, paths, Path(scratch))
                return _read_set(domain, subject, paths, Path(scratch))
            except IngestError as exc:
                return [f"the stored bytes no longer read as they did at ingestion: {exc}"]

    return check


def _reference(subject: Subject, paths: dict[str, Path], scratch: Path) -> list[str]:
    result = genomics.ingest_reference(paths["source"], scratch)
    if result.md5 != subject.row.md5:
        return [f"the MD5 of its sequences is {result.md5}, recorded {subject.row.md5}"]
    return []


def _read_set(domain: Domain, subject: Subject, paths: dict[str, Path], scratch: Path) -> list[str]:
    row = subject.row
    family = domain.sequence_stores.row(row.sequence_store_id).etag_algorithm_family
    if row.file_type == "FASTQ":
        result = genomics.ingest_fastq(paths["source1"], paths.get("source2"), family, scratch)
    else:
        reference = domain.references.fasta_of(row.reference_arn)
        if row.file_type in ("BAM", "CRAM") and reference is None:
            return [f"its reference {row.reference_arn} is not an ACTIVE reference, so it cannot be re-read"]
        result = genomics.ingest_alignment(paths["source1"], row.file_type, family, scratch, reference)
    problems = []
    for what, found, recorded in (
        ("totalReadCount", result.read_count, row.read_count),
        ("totalBaseCount", result.base_count, row.base_count),
        ("etag.source1", result.etags.get("source1"), row.etag_source1),
        ("etag.source2", result.etags.get("source2"), row.etag_source2),
    ):
        if found != recorded:
            problems.append(f"{what} is {found} when recomputed, recorded {recorded}")
    return problems

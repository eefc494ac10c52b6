"""Shared pieces of the reference-store acceptance tests.

FASTA inputs are generated from a seeded random.Random; every expected md5, .fai, count and ETag
comes from hashlib, gzip or htslib (through pysam), never from seqstore's code. The tests talk to
the server only through boto3 (and aws-healthomics-tools' TransferManager); import sources are
files in the server's local buckets directory (s3://BUCKET/KEY = <data dir>/buckets/BUCKET/KEY)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import random
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysam
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, make_client
from tests.helpers.readsets import wait_for_status

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/seqstore-reference-tests"
PART_SIZE = 104_857_600
BUCKET = "reference-tests"
TESTDATA = Path(__file__).resolve().parents[1] / "data" / "htslib"
TIMEOUT = 60.0


def unique(prefix: str = "ref") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"



def error_message(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Message"])


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- FASTA


def random_sequences(lengths: dict[str, int], seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    return {name: "".join(rng.choice("ACGT") for _ in range(length)) for name, length in lengths.items()}


def fasta_bytes(sequences: dict[str, str], width: int = 60, descriptions: bool = False) -> bytes:
    lines = []
    for name, sequence in sequences.items():
        lines.append(f">{name} {name} of the test genome" if descriptions else f">{name}")
        lines.extend(sequence[i : i + width] for i in range(0, len(sequence), width))
    return ("\n".join(lines) + "\n").encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def bgzf(data: bytes, tmp_path: Path) -> bytes:
    """`data` BGZF-compressed by htslib (pysam.tabix_compress writes BGZF, as bgzip does)."""
    plain = tmp_path / f"{uuid.uuid4().hex}.fa"
    compressed = tmp_path / f"{plain.name}.gz"
    plain.write_bytes(data)
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    return compressed.read_bytes()


def faidx_of(fasta: bytes, tmp_path: Path) -> bytes:
    """The .fai samtools faidx (through pysam) writes for this plain FASTA."""
    path = tmp_path / f"{uuid.uuid4().hex}.fa"
    path.write_bytes(fasta)
    pysam.faidx(str(path))
    return Path(f"{path}.fai").read_bytes()


# --- import jobs


def put_object(server: Server, key: str, data: bytes, bucket: str = BUCKET) -> str:
    """Put `data` at s3://bucket/key of the server's local buckets; return the URI."""
    path = server.data_dir / "buckets" / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"s3://{bucket}/{key}"


def copy_object(server: Server, key: str, source: Path, bucket: str = BUCKET) -> str:
    path = server.data_dir / "buckets" / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    return f"s3://{bucket}/{key}"


def wait_for_job(omics, store_id: str, job_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """GetReferenceImportJob, polled until the job reaches a final status."""
    deadline = time.monotonic() + timeout
    while True:
        job = omics.get_reference_import_job(referenceStoreId=store_id, id=job_id)
        if job["status"] not in ("SUBMITTED", "IN_PROGRESS"):
            return dict(job)
        if time.monotonic() > deadline:
            raise AssertionError(f"reference import job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.05)


def run_import(omics, store_id: str, sources: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """StartReferenceImportJob and wait for its outcome; return the final GetReferenceImportJob."""
    job = omics.start_reference_import_job(referenceStoreId=store_id, roleArn=ROLE_ARN, sources=sources, **kwargs)
    return wait_for_job(omics, store_id, job["id"])


def import_fasta(  # type: ignore[no-untyped-def]
    omics, server: Server, store_id: str, data: bytes, name: str | None = None, extension: str = ".fa"
) -> dict[str, Any]:
    """Import one FASTA and return its GetReferenceMetadata (the import must succeed)."""
    name = name or unique("genome")
    uri = put_object(server, f"{uuid.uuid4().hex[:8]}/{name}{extension}", data)
    job = run_import(omics, store_id, [{"sourceFile": uri, "name": name}])
    assert job["status"] == "COMPLETED", job
    return dict(omics.get_reference_metadata(referenceStoreId=store_id, id=job["sources"][0]["referenceId"]))


def reference_part(  # type: ignore[no-untyped-def]
    omics, store_id: str, reference_id: str, part: int = 1, file: str | None = None, byte_range: str | None = None
) -> bytes:
    kwargs: dict[str, Any] = {"referenceStoreId": store_id, "id": reference_id, "partNumber": part}
    if file is not None:
        kwargs["file"] = file
    if byte_range is not None:
        kwargs["range"] = byte_range
    return bytes(omics.get_reference(**kwargs)["payload"].read())


@contextlib.contextmanager
def running_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[Server, Any]]:
    """A separate `seqstore serve` (its own data dir, so its own account's quotas) and a client."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = Server(data_dir, extra_env)
    server.start()
    try:
        yield server, make_client(server.url)
    finally:
        server.stop()


# --- read sets that name references


def reference_arn(store_id: str, reference_id: str) -> str:
    return f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/{store_id}/reference/{reference_id}"


def start_upload(omics, sequence_store_id: str, file_type: str, arn: str | None, name: str | None = None) -> str:  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {"name": name or unique("readset"), "subjectId": "subject-1", "sampleId": "sample-1"}
    if arn is not None:
        fields["referenceArn"] = arn
    response = omics.create_multipart_read_set_upload(
        sequenceStoreId=sequence_store_id, sourceFileType=file_type, **fields
    )
    return str(response["uploadId"])


def upload_read_set(omics, sequence_store_id: str, file_type: str, data: bytes, arn: str | None) -> str:  # type: ignore[no-untyped-def]
    """A direct upload of one part through boto3; returns the read set id."""
    upload_id = start_upload(omics, sequence_store_id, file_type, arn)
    part = omics.upload_read_set_part(
        sequenceStoreId=sequence_store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=1, payload=data
    )
    response = omics.complete_multipart_read_set_upload(
        sequenceStoreId=sequence_store_id,
        uploadId=upload_id,
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}],
    )
    return str(response["readSetId"])


def ingest(omics, sequence_store_id: str, file_type: str, data: bytes, arn: str | None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return wait_for_status(omics, sequence_store_id, upload_read_set(omics, sequence_store_id, file_type, data, arn))


def write_alignments(
    path: Path,
    sequences: dict[str, str],
    *,
    seed: int,
    reads: int = 150,
    read_length: int = 50,
    cram_reference: Path | None = None,
    header_lengths: dict[str, int] | None = None,
) -> Path:
    """A coordinate-sorted BAM (or, with `cram_reference`, a CRAM written by htslib against that
    FASTA) of reads copied from `sequences`: forward and reverse primary reads, some secondary
    (0x100) and supplementary (0x800) records, and unmapped reads at the end. `header_lengths`
    overrides the @SQ LN values."""
    rng = random.Random(seed)
    names = list(sequences)
    lengths = {name: len(seq) for name, seq in sequences.items()} | (header_lengths or {})
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": lengths[name]} for name in names],
        "RG": [{"ID": "rg1", "SM": "sample-1", "PL": "ILLUMINA"}],
    }
    placements = []
    for _ in range(reads):
        tid = rng.randrange(len(names))
        placements.append((tid, rng.randrange(len(sequences[names[tid]]) - read_length)))
    placements.sort()
    mode, kwargs = ("wc", {"reference_filename": str(cram_reference)}) if cram_reference else ("wb", {})
    with pysam.AlignmentFile(str(path), mode, header=header, **kwargs) as out:

        def segment(name: str, flag: int, tid: int, pos: int, seq: str, cigar: list[tuple[int, int]]) -> Any:
            record = pysam.AlignedSegment(out.header)
            record.query_name = name
            record.flag = flag
            record.reference_id = tid
            record.reference_start = pos
            record.mapping_quality = 0 if flag & 4 else 60
            record.query_sequence = seq
            record.query_qualities = pysam.qualitystring_to_array(
                "".join(chr(33 + rng.randrange(10, 41)) for _ in seq)
            )
            if not flag & 4:
                record.cigartuples = cigar
            record.set_tag("RG", "rg1")
            return record

        for i, (tid, pos) in enumerate(placements):
            seq = sequences[names[tid]][pos : pos + read_length]
            flag = 16 if i % 3 == 0 else 0
            out.write(segment(f"read{i:05d}", flag, tid, pos, seq, [(0, read_length)]))
            if i % 10 == 0:
                out.write(segment(f"read{i:05d}", flag | 0x100, tid, pos, seq, [(0, read_length)]))
            if i % 15 == 0:
                half = read_length // 2
                out.write(segment(f"read{i:05d}", flag | 0x800, tid, pos, seq[:half], [(0, half), (5, half)]))
        for j in range(4):
            seq = "".join(rng.choice("ACGT") for _ in range(read_length - j))
            out.write(segment(f"unmapped{j}", 4, -1, -1, seq, []))
    return path


def alignment_counts(path: Path, reference: Path | None = None) -> tuple[int, int]:
    """(reads, bases) counted by htslib: records neither secondary nor supplementary; bases = the
    lengths of their SEQ."""
    kwargs: dict[str, Any] = {"check_sq": False}
    if reference is not None:
        kwargs["reference_filename"] = str(reference)
    reads = bases = 0
    with pysam.AlignmentFile(str(path), **kwargs) as alignments:
        for record in alignments.fetch(until_eof=True):
            if record.flag & 0x900:
                continue
            reads += 1
            bases += len(record.query_sequence or "")
    return reads, bases


def sam_records(path: Path, reference: Path) -> bytes:
    """The records (no header) as `samtools view -T reference` prints them: the CRAM ETag text."""
    return str(pysam.view("-T", str(reference), str(path))).encode()

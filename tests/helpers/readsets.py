"""Shared pieces of the read-set acceptance tests.

Input files are generated deterministically (a seeded random.Random) or taken from htslib's own
test data; every expected count, ETag and byte comes from htslib (through pysam), gzip or
hashlib, never from seqstore's code. Everything the tests do to the server goes through boto3 (or
the TransferManager), plus looking at the server's data directory for left-over bytes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import random
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pysam
import requests
from botocore.config import Config

from tests.conftest import Server, make_client

REGION = os.environ.get("SEQSTORE_REGION", "us-east-1")
ACCOUNT = os.environ.get("SEQSTORE_ACCOUNT_ID", "123456789012")
PART_SIZE = 104_857_600
# Well-formed reference ARNs of this server's region and account that name no reference (enough for
# FASTQ and uBAM read sets, which do not need their reference).
REFERENCE_ARN = f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/1234567890/reference/1234567890"
OTHER_REFERENCE_ARN = f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/1234567890/reference/9876543210"
GZIP_MAGIC = b"\x1f\x8b"
BAI_MAGIC = b"BAI\x01"
INGEST_TIMEOUT = 30.0


def unique(prefix: str = "rs") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- clients


def unvalidated_client(url: str):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured through the environment (as conftest.make_client) but
    without boto3's own parameter checks or retries, to reach the server's checks."""
    return make_client(url, Config(parameter_validation=False, retries={"max_attempts": 1}))


# --- FASTQ


def fastq_text(
    count: int, *, seed: int, read_length: int = 50, prefix: str = "read", mate: int | None = None
) -> bytes:
    """`count` single-line FASTQ records; read lengths vary a little around `read_length`.
    With `mate` 1 or 2 the names end in /1 or /2 (the same reads for the same seed)."""
    rng = random.Random(seed)
    suffix = f"/{mate}" if mate else ""
    lines = []
    for i in range(count):
        length = read_length - rng.randrange(0, 5)
        sequence = "".join(rng.choice("ACGT") for _ in range(length))
        if i % 17 == 3:
            sequence = sequence[:5] + "N" + sequence[6:]
        quality = "".join(chr(33 + rng.randrange(2, 41)) for _ in range(length))
        lines.append(f"@{prefix}{i:06d}{suffix} sample=S1\n{sequence}\n+\n{quality}\n")
    return "".join(lines).encode()


def paired_fastq(count: int, *, seed: int, read_length: int = 50) -> tuple[bytes, bytes]:
    return (
        fastq_text(count, seed=seed, read_length=read_length, mate=1),
        fastq_text(count, seed=seed + 1_000_000, read_length=read_length, mate=2),
    )


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def bgzf(data: bytes, tmp_path: Path) -> bytes:
    """`data` BGZF-compressed by htslib (pysam.tabix_compress writes BGZF)."""
    plain = tmp_path / f"{uuid.uuid4().hex}.txt"
    compressed = plain.with_suffix(".gz")
    plain.write_bytes(data)
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    return compressed.read_bytes()


def fastq_counts(*plain_sources: bytes) -> tuple[int, int]:
    """(records, bases) over the given uncompressed single-line FASTQ sources."""
    records = bases = 0
    for data in plain_sources:
        lines = data.splitlines()
        assert len(lines) % 4 == 0
        records += len(lines) // 4
        bases += sum(len(line) for line in lines[1::4])
    return records, bases


def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


# --- reference, BAM, uBAM, CRAM (written and read by htslib through pysam)


def write_reference(path: Path, contigs: dict[str, int], *, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with open(path, "w") as out:
        for name, length in contigs.items():
            sequence = "".join(rng.choice("ACGT") for _ in range(length))
            out.write(f">{name}\n")
            for start in range(0, length, 60):
                out.write(sequence[start : start + 60] + "\n")
    pysam.faidx(str(path))
    return path


# A genome no reference of the server matches (for BAMs whose @SQ lines disagree with theirs).
SMALL_GENOME = {"chr1": 20_000, "chr2": 12_000, "chrM": 1_600}


def local_copy(fasta: Path, directory: Path) -> Path:
    """A copy of a FASTA with its .fai (made by htslib), to write and read BAM/CRAM against."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / fasta.name
    shutil.copyfile(fasta, copy)
    pysam.faidx(str(copy))
    return copy


def import_reference(omics, server: Server, reference_store_id: str, fasta: Path, name: str) -> str:  # type: ignore[no-untyped-def]
    """Import a FASTA as a reference through StartReferenceImportJob (from the server's local
    buckets directory) and return the ACTIVE reference's ARN."""
    key = f"{uuid.uuid4().hex[:8]}-{fasta.name}"
    bucket = server.data_dir / "buckets" / "references"
    bucket.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fasta, bucket / key)
    job = omics.start_reference_import_job(
        referenceStoreId=reference_store_id,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/seqstore-test",
        sources=[{"sourceFile": f"s3://references/{key}", "name": name}],
    )
    deadline = time.monotonic() + 60
    while True:
        got = omics.get_reference_import_job(referenceStoreId=reference_store_id, id=job["id"])
        if got["status"] not in ("SUBMITTED", "IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"reference import {job['id']} did not finish")
        time.sleep(0.05)
    assert got["status"] == "COMPLETED", got
    reference_id = got["sources"][0]["referenceId"]
    return str(omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)["arn"])


def _quality(rng: random.Random, length: int) -> Any:
    return pysam.qualitystring_to_array("".join(chr(33 + rng.randrange(5, 41)) for _ in range(length)))


def write_bam(
    path: Path,
    reference: Path,
    reads: int,
    *,
    seed: int,
    read_length: int = 80,
    extras: bool = True,
    file_format: str = "bam",
) -> Path:
    """A coordinate-sorted BAM (or CRAM with file_format="cram") of reads placed on `reference`:
    forward and reverse reads, and with `extras` also secondary (0x100) and supplementary (0x800)
    records, a read with soft clipping and unmapped reads with and without a placed mate."""
    rng = random.Random(seed)
    fasta = pysam.FastaFile(str(reference))
    contigs = list(zip(fasta.references, fasta.lengths, strict=True))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": length} for name, length in contigs],
        "RG": [{"ID": "rg1", "SM": "sample1", "PL": "ILLUMINA"}],
        "PG": [{"ID": "acceptance-test", "PN": "readset_helpers"}],
    }
    unsorted = path.with_name(f"{path.name}.unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:

        def record(
            name: str, flag: int, tid: int, pos: int, sequence: str, cigar: list[tuple[int, int]]
        ) -> Any:
            segment = pysam.AlignedSegment(out.header)
            segment.query_name = name
            segment.flag = flag
            segment.reference_id = tid
            segment.reference_start = pos
            segment.mapping_quality = 0 if flag & 4 else 60
            segment.query_sequence = sequence
            segment.query_qualities = _quality(rng, len(sequence))
            if not flag & 4:
                segment.cigartuples = cigar
            segment.set_tag("RG", "rg1")
            return segment

        for i in range(reads):
            tid = rng.randrange(len(contigs))
            name, length = contigs[tid]
            pos = rng.randrange(0, length - read_length)
            sequence = fasta.fetch(name, pos, pos + read_length)
            flag = 16 if i % 2 else 0
            out.write(record(f"r{i:05d}", flag, tid, pos, sequence, [(0, read_length)]))
            if extras and i % 25 == 0:
                other = rng.randrange(0, length - read_length)
                out.write(record(f"r{i:05d}", flag | 0x100, tid, other, sequence, [(0, read_length)]))
                half = read_length // 2
                out.write(record(f"r{i:05d}", flag | 0x800, tid, other, sequence[:half], [(0, half)]))
        if extras:
            name, length = contigs[0]
            # soft-clipped read: 10 bases clipped, still 80 query bases
            sequence = "".join(rng.choice("ACGT") for _ in range(10)) + fasta.fetch(
                name, 500, 500 + read_length - 10
            )
            out.write(record("clipped", 0, 0, 500, sequence, [(4, 10), (0, read_length - 10)]))
            for j in range(5):  # unmapped, no coordinates: sorted to the end
                sequence = "".join(rng.choice("ACGTN") for _ in range(read_length - j))
                out.write(record(f"unplaced{j}", 4, -1, -1, sequence, []))
            # an unmapped read given a position (as aligners place a read beside its mapped mate)
            sequence = "".join(rng.choice("ACGT") for _ in range(read_length))
            out.write(record("placed_unmapped", 4, 0, 700, sequence, []))
    if file_format == "cram":
        sorted_bam = path.with_name(f"{path.name}.sorted.bam")
        pysam.sort("--no-PG", "-o", str(sorted_bam), str(unsorted))
        pysam.view(
            "--no-PG", "-C", "-T", str(reference), "-o", str(path), str(sorted_bam), catch_stdout=False
        )
        sorted_bam.unlink()
    else:
        pysam.sort("--no-PG", "-o", str(path), str(unsorted))
    unsorted.unlink()
    return path


def write_ubam(path: Path, reads: int, *, seed: int, read_length: int = 70) -> Path:
    """An unaligned BAM: read pairs (flags 77/141), every record unmapped, no @SQ lines."""
    rng = random.Random(seed)
    header = {"HD": {"VN": "1.6", "SO": "queryname"}, "RG": [{"ID": "rg1", "SM": "sample1"}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in range(reads):
            for flag in (77, 141):
                segment = pysam.AlignedSegment(out.header)
                segment.query_name = f"u{i:05d}"
                segment.flag = flag
                segment.reference_id = -1
                segment.reference_start = -1
                segment.next_reference_id = -1
                segment.next_reference_start = -1
                sequence = "".join(rng.choice("ACGT") for _ in range(read_length - (i % 3)))
                segment.query_sequence = sequence
                segment.query_qualities = _quality(rng, len(sequence))
                segment.set_tag("RG", "rg1")
                out.write(segment)
    return path


def sam_to_bam(sam: Path, bam: Path) -> Path:
    """A coordinate-sorted BAM of a SAM file, written by htslib (samtools sort)."""
    pysam.sort("--no-PG", "-o", str(bam), str(sam))
    return bam


def alignment_counts(path: Path, reference: Path | None = None) -> tuple[int, int]:
    """(reads, bases) as the spec counts them: records neither secondary (0x100) nor
    supplementary (0x800); bases = the sum of their SEQ lengths, unmapped reads included."""
    reads = bases = 0
    kwargs: dict[str, Any] = {"check_sq": False}
    if reference is not None:
        kwargs["reference_filename"] = str(reference)
    with pysam.AlignmentFile(str(path), **kwargs) as alignments:
        for r in alignments.fetch(until_eof=True):
            if r.flag & 0x900:
                continue
            reads += 1
            bases += r.query_length
    return reads, bases


def sam_text(path: Path, reference: Path | None = None) -> bytes:
    """The records as `samtools view [-T reference]` prints them (no header), every line ending
    in a newline."""
    args = ["-T", str(reference)] if reference is not None else []
    return str(pysam.view(*args, str(path))).encode()


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each BGZF block of `data`."""
    blocks, offset = [], 0
    while offset < len(data):
        assert data[offset : offset + 2] == GZIP_MAGIC and data[offset + 12 : offset + 14] == b"BC"
        size = int.from_bytes(data[offset + 16 : offset + 18], "little") + 1
        blocks.append((offset, size))
        offset += size
    return blocks


# --- talking to the server


def start_upload(omics, store_id: str, file_type: str = "FASTQ", **fields: Any) -> str:  # type: ignore[no-untyped-def]
    fields.setdefault("name", unique("readset"))
    fields.setdefault("subjectId", "subject-1")
    fields.setdefault("sampleId", "sample-1")
    response = omics.create_multipart_read_set_upload(
        sequenceStoreId=store_id, sourceFileType=file_type, **fields
    )
    return str(response["uploadId"])


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given byte offsets."""
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def send_parts(  # type: ignore[no-untyped-def]
    omics, store_id: str, upload_id: str, data: bytes, source: str = "SOURCE1", cuts: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """Upload `data` cut at `cuts` as parts 1..n of `source`; return the parts for Complete."""
    parts = []
    for number, chunk in enumerate(split_at(data, cuts), start=1):
        response = omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId=upload_id, partSource=source, partNumber=number, payload=chunk
        )
        parts.append({"partNumber": number, "partSource": source, "checksum": response["checksum"]})
    return parts


def upload(  # type: ignore[no-untyped-def]
    omics,
    store_id: str,
    file_type: str,
    source1: bytes,
    source2: bytes | None = None,
    *,
    cuts: Sequence[int] = (),
    **fields: Any,
) -> str:
    """A complete direct upload through boto3; returns the read set id (ingestion may still run)."""
    upload_id = start_upload(omics, store_id, file_type, **fields)
    parts = send_parts(omics, store_id, upload_id, source1, "SOURCE1", cuts)
    if source2 is not None:
        parts += send_parts(omics, store_id, upload_id, source2, "SOURCE2", cuts)
    response = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )
    return str(response["readSetId"])


def wait_for_status(
    omics, store_id: str, read_set_id: str, timeout: float = INGEST_TIMEOUT
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """GetReadSetMetadata, polled until the read set is no longer PROCESSING_UPLOAD."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
        if metadata["status"] != "PROCESSING_UPLOAD":
            return dict(metadata)
        if time.monotonic() > deadline:
            raise AssertionError(f"read set {read_set_id} still PROCESSING_UPLOAD after {timeout} s")
        time.sleep(0.05)


def ingest(
    omics, store_id: str, file_type: str, source1: bytes, source2: bytes | None = None, **kwargs: Any
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Upload and wait for the outcome; returns the final metadata."""
    read_set_id = upload(omics, store_id, file_type, source1, source2, **kwargs)
    return wait_for_status(omics, store_id, read_set_id)


def download(omics, store_id: str, read_set_id: str, file: str | None = None, part: int = 1) -> bytes:  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {"sequenceStoreId": store_id, "id": read_set_id, "partNumber": part}
    if file is not None:
        kwargs["file"] = file
    return bytes(omics.get_read_set(**kwargs)["payload"].read())


def healthy(server: Server) -> bool:
    return requests.get(f"{server.url}/_seqstore/health", timeout=5).status_code == 200


def upload_files(server: Server, upload_id: str) -> list[str]:
    """The blob keys of an upload's parts (in DATA_DIR/blobs or the server's S3 bucket)."""
    return server.blob_keys(f"uploads/{upload_id}")


def read_set_files(server: Server, store_id: str, read_set_id: str) -> list[str]:
    return server.blob_keys(f"{ACCOUNT}/sequenceStore/{store_id}/readSet/{read_set_id}")


def eventually_no_upload_files(server: Server, upload_id: str, timeout: float = 10.0) -> list[str]:
    """The files left under blobs/uploads/<uploadId> once the server had `timeout` seconds to
    drop them (ingestion releases the parts just after it records the outcome)."""
    deadline = time.monotonic() + timeout
    while (left := upload_files(server, upload_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def part_checksum(data: bytes) -> str:
    """What the spec (§9, proposed) says UploadReadSetPart returns: base64 of the SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def all_pages(omics, operation: str, key: str, **kwargs: Any) -> list[list[Any]]:  # type: ignore[no-untyped-def]
    """Every page of a boto3 paginator, as lists of items."""
    return [page[key] for page in omics.get_paginator(operation).paginate(**kwargs)]


def ids(items: Iterable[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]

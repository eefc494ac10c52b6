"""Shared pieces of the job acceptance tests (imports, exports, activations).

Source files are generated from fixed seeds; expected counts and ETags come from gzip and hashlib
in the test, never from seqstore's code. Import sources and export destinations live in the
server's local buckets directory (`s3://bucket/key` is `<buckets dir>/bucket/key`) unless a test
points the server at a real S3-compatible endpoint.

unique, fastq_counts, download and all_pages are readset_helpers' (one copy for both suites)."""

from __future__ import annotations

import gzip
import hashlib
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Server
from tests.helpers.readsets import unique

FINAL_JOB_STATUSES = ("COMPLETED", "COMPLETED_WITH_FAILURES", "FAILED", "CANCELLED")
JOB_TIMEOUT = 60.0
NO_ACTIVATION_NEEDED = "No activation needed as read set is already in ACTIVATING or ACTIVE state."
# The role a user passes; seqstore records it and uses it for nothing.
ROLE_ARN = "arn:aws:iam::123456789012:role/OmicsImportRole"


# --- FASTQ sources


def fastq_text(count: int, *, seed: int, read_length: int = 40, mate: int | None = None) -> bytes:
    """`count` FASTQ records from a seeded generator; with `mate` the names end in /1 or /2
    (so two mates of the same seed list the same reads, as a paired run does)."""
    rng = random.Random(seed)
    suffix = f"/{mate}" if mate else ""
    records = []
    for i in range(count):
        length = read_length - rng.randrange(0, 4)
        sequence = "".join(rng.choice("ACGTN" if i % 11 == 5 else "ACGT") for _ in range(length))
        quality = "".join(chr(33 + rng.randrange(2, 41)) for _ in range(length))
        records.append(f"@s{seed}r{i:06d}{suffix}\n{sequence}\n+\n{quality}\n")
    return "".join(records).encode()


def paired_fastq(count: int, *, seed: int, read_length: int = 40) -> tuple[bytes, bytes]:
    """Two mates: the same read names, different bases (seed and seed + 1)."""
    first = fastq_text(count, seed=seed, read_length=read_length, mate=1)
    second = fastq_text(count, seed=seed + 1, read_length=read_length, mate=2).replace(
        f"@s{seed + 1}r".encode(), f"@s{seed}r".encode()
    )
    return first, second


def bulk_fastq_text(count: int, *, seed: int, read_length: int = 100) -> bytes:
    """Many fixed-length records, fast: random bytes mapped onto ACGT and a few quality letters."""
    rng = random.Random(seed)
    bases = rng.randbytes(count * read_length).translate(bytes(b"ACGT"[i % 4] for i in range(256)))
    quality = rng.randbytes(count * read_length).translate(bytes(b"FFFF:,#"[i % 7] for i in range(256)))
    records = []
    for i in range(count):
        start = i * read_length
        end = start + read_length
        records.append(b"@bulk%d_%d\n%s\n+\n%s\n" % (seed, i, bases[start:end], quality[start:end]))
    return b"".join(records)


def gz(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def gunzip(data: bytes) -> bytes:
    """All gzip members, decompressed in order (what `gzip -dc` prints)."""
    return gzip.decompress(data)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- the local buckets directory


def buckets_dir(server: Server) -> Path:
    """Where the server resolves s3://bucket/key by default: <data dir>/buckets."""
    return server.data_dir / "buckets"


def new_bucket(server: Server, prefix: str = "bucket") -> str:
    """A fresh bucket (a directory in the server's buckets dir); returns its name."""
    name = unique(prefix)
    (buckets_dir(server) / name).mkdir(parents=True)
    return name


def put_object(server: Server, bucket: str, key: str, data: bytes) -> str:
    """Write an object into a local bucket; returns its s3:// URI."""
    path = buckets_dir(server) / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"s3://{bucket}/{key}"


def fastq_source(source1: str, source2: str | None = None, **fields: Any) -> dict[str, Any]:
    """One StartReadSetImportJob source of FASTQ files, with the required IDs filled in."""
    files = {"source1": source1}
    if source2 is not None:
        files["source2"] = source2
    return {
        "sourceFiles": files,
        "sourceFileType": "FASTQ",
        "subjectId": fields.pop("subjectId", "subject-1"),
        "sampleId": fields.pop("sampleId", "sample-1"),
        **fields,
    }


# --- talking to the server


def wait_for_job(  # type: ignore[no-untyped-def]
    omics,
    get_fn: str | Callable[..., dict[str, Any]],
    store_id: str,
    job_id: str,
    *,
    timeout: float = JOB_TIMEOUT,
    interval: float = 0.1,
) -> dict[str, Any]:
    """Poll a Get…Job operation (a boto3 method or its name, e.g. "get_read_set_import_job")
    until the job reaches a final status; return that last response."""
    get = getattr(omics, get_fn) if isinstance(get_fn, str) else get_fn
    deadline = time.monotonic() + timeout
    while True:
        job = dict(get(sequenceStoreId=store_id, id=job_id))
        if job["status"] in FINAL_JOB_STATUSES:
            return job
        if time.monotonic() > deadline:
            sources = job.get("sources") or job.get("readSets") or []
            raise AssertionError(
                f"job {job_id} still {job['status']} after {timeout} s; sources: {[s['status'] for s in sources]}"
            )
        time.sleep(interval)


def import_and_wait(omics, store_id: str, sources: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """StartReadSetImportJob, then GetReadSetImportJob once the job is final."""
    kwargs.setdefault("roleArn", ROLE_ARN)
    started = omics.start_read_set_import_job(sequenceStoreId=store_id, sources=sources, **kwargs)
    return wait_for_job(omics, "get_read_set_import_job", store_id, started["id"])


def wait_for_read_set_status(  # type: ignore[no-untyped-def]
    omics, store_id: str, read_set_id: str, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    """GetReadSetMetadata, polled until the read set has `status`."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = dict(omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id))
        if metadata["status"] == status:
            return metadata
        if time.monotonic() > deadline:
            raise AssertionError(
                f"read set {read_set_id} is {metadata['status']}, not {status}, after {timeout} s"
            )
        time.sleep(0.1)


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []

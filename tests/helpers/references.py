"""References through boto3: import jobs of FASTA files put in the server's local buckets, waiting
for them, and reading a reference's files back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.helpers.buckets import put_object
from tests.helpers.names import ROLE_ARN, unique
from tests.helpers.servers import Server

BUCKET = "reference-tests"  # the local bucket the reference tests' FASTA files go to
TIMEOUT = 60.0


def wait_for_reference_import(omics, store_id: str, job_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """GetReferenceImportJob, polled until the job is no longer SUBMITTED or IN_PROGRESS."""
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
    return wait_for_reference_import(omics, store_id, job["id"])


def import_fasta(  # type: ignore[no-untyped-def]
    omics, server: Server, store_id: str, data: bytes, name: str | None = None, extension: str = ".fa"
) -> dict[str, Any]:
    """Import one FASTA and return its GetReferenceMetadata (the import must succeed)."""
    name = name or unique("genome")
    uri = put_object(server, BUCKET, f"{uuid.uuid4().hex[:8]}/{name}{extension}", data)
    job = run_import(omics, store_id, [{"sourceFile": uri, "name": name}])
    assert job["status"] == "COMPLETED", job
    return dict(omics.get_reference_metadata(referenceStoreId=store_id, id=job["sources"][0]["referenceId"]))


def import_reference(omics, server: Server, store_id: str, fasta: Path, name: str) -> str:  # type: ignore[no-untyped-def]
    """Import a local FASTA file as a reference; the ARN of the ACTIVE reference."""
    return str(import_fasta(omics, server, store_id, fasta.read_bytes(), name)["arn"])


def reference_part(  # type: ignore[no-untyped-def]
    omics, store_id: str, reference_id: str, part: int = 1, file: str | None = None, byte_range: str | None = None
) -> bytes:
    kwargs: dict[str, Any] = {"referenceStoreId": store_id, "id": reference_id, "partNumber": part}
    if file is not None:
        kwargs["file"] = file
    if byte_range is not None:
        kwargs["range"] = byte_range
    return bytes(omics.get_reference(**kwargs)["payload"].read())

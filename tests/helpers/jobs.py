"""Read-set jobs through boto3 (imports, exports, activations): their sources, and waiting for the
jobs and the read sets they make or change."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.helpers.names import ROLE_ARN

FINAL_JOB_STATUSES = ("COMPLETED", "COMPLETED_WITH_FAILURES", "FAILED", "CANCELLED")
JOB_TIMEOUT = 60.0
NO_ACTIVATION_NEEDED = "No activation needed as read set is already in ACTIVATING or ACTIVE state."


# --- import sources


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

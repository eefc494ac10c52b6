"""A `seqstore serve` process holding bench/ingest.py's cached BAM as an ACTIVE read set: what the
data-plane benchmarks (htsget, S3) read from."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from benchlib import free_port, wait_healthy
from ingest import generate, ingest

KEY, SECRET = "bench", "bench-secret"


@dataclass
class Served:
    url: str
    data_dir: Path
    work: Path
    fasta: Path
    bam: Path
    store_id: str
    metadata: dict[str, Any]  # GetReadSetMetadata of the BAM read set
    omics: Any


@contextlib.contextmanager
def served_bam(pairs: int) -> Iterator[Served]:
    fasta, _, _, bam = generate(pairs)
    work = Path(tempfile.mkdtemp(prefix="seqstore-plane-bench-"))
    data_dir = work / "data"
    (data_dir / "buckets" / "bench").mkdir(parents=True)
    os.link(fasta, data_dir / "buckets" / "bench" / "genome.fa")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ.update({
        "AWS_ENDPOINT_URL_OMICS": url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
        "SEQSTORE_ACCESS_KEY_ID": KEY, "SEQSTORE_SECRET_ACCESS_KEY": SECRET,
    })  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning"], stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_healthy(url, process=server)
        omics = boto3.session.Session().client("omics")
        store_id = omics.create_sequence_store(name="bench")["id"]
        reference_store = omics.create_reference_store(name="bench")["id"]
        job = omics.start_reference_import_job(
            referenceStoreId=reference_store, roleArn="arn:aws:iam::123456789012:role/bench",
            sources=[{"sourceFile": "s3://bench/genome.fa", "name": "genome"}],
        )  # fmt: skip
        while (got := omics.get_reference_import_job(referenceStoreId=reference_store, id=job["id"]))["status"] in (
            "SUBMITTED", "IN_PROGRESS"
        ):  # fmt: skip
            time.sleep(0.1)
        reference_arn = omics.get_reference_metadata(
            referenceStoreId=reference_store, id=got["sources"][0]["referenceId"]
        )["arn"]
        _, metadata = ingest(omics, store_id, [bam], "BAM", reference_arn)
        yield Served(url, data_dir, work, fasta, bam, store_id, metadata, omics)
    finally:
        server.terminate()
        server.wait(10)

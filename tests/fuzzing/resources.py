"""The resources the fuzz requests name: a "victim" sequence store (a read set, tags, an upload in
progress, an access policy) that invalid requests aim at, a "scratch" store for valid ones, the
reference store with a reference, and one job of each kind."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from seqstore.protocol.model import TAG_OPERATIONS
from tests.fuzzing.values import fastq
from tests.helpers.clients import client_for
from tests.helpers.names import ACCOUNT, unique


@dataclass
class Side:
    """One sequence store and what lives in it."""

    store: str
    store_arn: str
    read_set: str
    read_set_arn: str
    upload: str
    access_point: str


@dataclass
class Resources:
    region: str
    victim: Side
    scratch: Side
    reference_store: str
    reference_store_arn: str
    reference: str
    reference_arn: str
    jobs: dict[str, str]  # ImportJobId / ExportJobId / ActivationJobId / ReferenceImportJobId
    notes: list[str] = field(default_factory=list)
    disposable: list[str] = field(default_factory=list)  # stores valid creates made

    def ids(self, side: Side, op_name: str) -> dict[str, str]:
        """Shape name -> value for the resources `side` offers to `op_name`."""
        ids = {
            "SequenceStoreId": side.store,
            "ReadSetId": side.read_set,
            "UploadId": side.upload,
            "ReferenceStoreId": self.reference_store,
            "ReferenceId": self.reference,
            "ExportJobId": self.jobs.get("ExportJobId", "1234567890"),
            "ActivationJobId": self.jobs.get("ActivationJobId", "1234567890"),
            "ImportJobId": self.jobs.get(
                "ReferenceImportJobId" if "Reference" in op_name else "ImportJobId", "1234567890"
            ),
            "S3AccessPointArn": side.access_point,
            "ReferenceArn": self.reference_arn,
        }
        if op_name in TAG_OPERATIONS:
            ids["TagArn"] = side.store_arn
        return ids

    def tag_arns(self, side: Side) -> list[str]:
        arns = [side.store_arn, side.read_set_arn]
        if side is self.victim:
            arns += [self.reference_store_arn, self.reference_arn]
        return arns


def fuzz_client(url: str, key: str, secret: str, region: str):  # type: ignore[no-untyped-def]
    """The boto3 client that sets the resources up and takes the snapshots (two attempts a call)."""
    return client_for(url, key, secret, region=region, config=Config(retries={"max_attempts": 2, "mode": "standard"}))


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _side(client: Any, label: str, rng: random.Random) -> Side:
    store = client.create_sequence_store(name=unique(f"fuzz-{label}"), description=f"fuzz {label}",
                                         tags={"fuzz": label})
    data = fastq(20, rng)
    upload = client.create_multipart_read_set_upload(
        sequenceStoreId=store["id"], sourceFileType="FASTQ", name=f"{label}-reads", subjectId="subject",
        sampleId="sample")
    part = client.upload_read_set_part(sequenceStoreId=store["id"], uploadId=upload["uploadId"],
                                       partSource="SOURCE1", partNumber=1, payload=data)
    done = client.complete_multipart_read_set_upload(
        sequenceStoreId=store["id"], uploadId=upload["uploadId"],
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
    read_set = done["readSetId"]
    wait_until(lambda: client.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set)["status"]
          != "PROCESSING_UPLOAD")
    read_set_arn = client.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set)["arn"]
    client.tag_resource(resourceArn=read_set_arn, tags={"fuzz": label, "kind": "read set"})
    pending = client.create_multipart_read_set_upload(
        sequenceStoreId=store["id"], sourceFileType="FASTQ", name=f"{label}-pending", subjectId="subject",
        sampleId="sample")["uploadId"]
    client.upload_read_set_part(sequenceStoreId=store["id"], uploadId=pending, partSource="SOURCE1",
                                partNumber=1, payload=data)
    access_point = (store.get("s3Access") or {}).get(
        "s3AccessPointArn", f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/{ACCOUNT}-{store['id']}")
    with contextlib.suppress(ClientError):
        client.put_s3_access_policy(s3AccessPointArn=access_point,
                                    s3AccessPolicy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    return Side(store["id"], store["arn"], read_set, read_set_arn, pending, access_point)


def setup(client: Any, region: str, rng: random.Random, buckets_dir: Path | None) -> Resources:
    """Create the victim and scratch stores, a reference (when the buckets dir is known) and jobs."""
    notes: list[str] = []
    victim = _side(client, "victim", rng)
    scratch = _side(client, "scratch", rng)
    stores = client.list_reference_stores().get("referenceStores", [])
    if stores:
        ref_store = stores[0]
    else:
        ref_store = client.create_reference_store(name="fuzz-references", tags={"fuzz": "reference"})
    reference, reference_arn, jobs = "1234567890", "", {}
    references = client.list_references(referenceStoreId=ref_store["id"]).get("references", [])
    active = [r for r in references if r.get("status") == "ACTIVE"]
    if active:
        reference, reference_arn = active[0]["id"], active[0]["arn"]
    elif buckets_dir is not None:
        (buckets_dir / "fuzz").mkdir(parents=True, exist_ok=True)
        fasta = buckets_dir / "fuzz" / "reference.fa"
        fasta.write_text(">chr1\n" + "\n".join("".join(rng.choice("ACGT") for _ in range(60)) for _ in range(40))
                         + "\n")
        job = client.start_reference_import_job(
            referenceStoreId=ref_store["id"], roleArn=f"arn:aws:iam::{ACCOUNT}:role/fuzz",
            sources=[{"sourceFile": "s3://fuzz/reference.fa", "name": "fuzz-reference"}])
        jobs["ReferenceImportJobId"] = job["id"]

        def finished() -> bool:
            got = client.get_reference_import_job(referenceStoreId=ref_store["id"], id=job["id"])
            return got["status"] not in ("SUBMITTED", "IN_PROGRESS")

        wait_until(finished)
        got = client.get_reference_import_job(referenceStoreId=ref_store["id"], id=job["id"])
        if got["status"] == "COMPLETED":
            reference = got["sources"][0]["referenceId"]
            reference_arn = client.get_reference_metadata(referenceStoreId=ref_store["id"], id=reference)["arn"]
        else:
            notes.append(f"reference import ended {got['status']}")
    else:
        notes.append("no reference: pass --buckets-dir to import one")
    if reference_arn:
        client.tag_resource(resourceArn=reference_arn, tags={"fuzz": "reference"})
    else:
        reference_arn = f"arn:aws:omics:{region}:{ACCOUNT}:referenceStore/{ref_store['id']}/reference/{reference}"
    role = f"arn:aws:iam::{ACCOUNT}:role/fuzz"
    starters = {
        "ImportJobId": lambda: client.start_read_set_import_job(
            sequenceStoreId=scratch.store, roleArn=role,
            sources=[{"sourceFiles": {"source1": "s3://fuzz/missing.fastq"}, "sourceFileType": "FASTQ",
                      "subjectId": "s", "sampleId": "s"}])["id"],
        "ExportJobId": lambda: client.start_read_set_export_job(
            sequenceStoreId=scratch.store, destination="s3://fuzz/export/", roleArn=role,
            sources=[{"readSetId": scratch.read_set}])["id"],
        "ActivationJobId": lambda: client.start_read_set_activation_job(
            sequenceStoreId=scratch.store, sources=[{"readSetId": scratch.read_set}])["id"],
    }
    for name, start in starters.items():
        try:
            jobs[name] = start()
        except (ClientError, BotoCoreError) as exc:
            notes.append(f"{name}: {exc}")
    return Resources(region, victim, scratch, ref_store["id"], ref_store["arn"], reference, reference_arn, jobs,
                     notes)


def replace_upload(client: Any, side: Side) -> None:
    """A new upload in progress for `side`, once a valid request ended its last one."""
    with contextlib.suppress(ClientError, BotoCoreError):
        side.upload = client.create_multipart_read_set_upload(
            sequenceStoreId=side.store, sourceFileType="FASTQ", name="fuzz-upload", subjectId="s",
            sampleId="s")["uploadId"]

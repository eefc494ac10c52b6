"""A full disk is an answer: a live server whose data dir is a 64 MiB tmpfs, filled through boto3.

Each refusal is checked for its exception code, HTTP status and message, that boto3 did not retry
it, that no partial blob stays behind, and that the server works again once space is freed.
The blobs stay in the data dir here (SEQSTORE_BLOB_URL unset even on the S3 suite run): the
filesystem being filled is the point."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.helpers.clients import KEY, SECRET, make_client
from tests.helpers.fastq import fastq_text
from tests.helpers.names import REGION
from tests.helpers.readsets import send_parts, start_upload, wait_for_status
from tests.helpers.servers import Server, running

MIB = 1024 * 1024
RESERVE = 8 * MIB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs mounted for the test (root may mount here; elsewhere the test is skipped
    and says why)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        for log in mount.glob("*.log"):  # the server's log outlives the mount
            (tmp_path / log.name).write_bytes(log.read_bytes())
        subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill_to(mount: Path, free: int) -> Path:
    """A filler file leaving about `free` bytes free on the mount."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    assert free_bytes(mount) > free, f"only {free_bytes(mount)} bytes free, wanted {free}"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, free_bytes(mount) - free)
    return filler


def temporary_files(root: Path) -> list[str]:
    return [name for _, _, names in os.walk(root) for name in names if name.endswith(".tmp")]


def health(server: Server) -> dict[str, Any]:
    return dict(requests.get(f"{server.url}/_seqstore/health", timeout=5).json())


def chunked_part(server: Server, store_id: str, upload_id: str, number: int, data: bytes) -> requests.Response:
    """UploadReadSetPart with a body sent chunked (no Content-Length, so the server cannot know
    its size before writing it), signed with its SHA-256."""
    url = (f"{server.url}/sequencestore/{store_id}/upload/{upload_id}/part"
           f"?partSource=SOURCE1&partNumber={number}")
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(data).hexdigest()}
    request = AWSRequest(method="PUT", url=url, data=data, headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "omics", REGION).add_auth(request)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), MIB):
            yield data[start:start + MIB]

    return requests.put(url, data=chunks(), headers=dict(request.headers.items()), timeout=60)


def test_a_full_disk_is_refused_with_what_is_free_and_the_server_recovers(small_disk: Path) -> None:
    data_dir = small_disk / "data"
    env = {"SEQSTORE_MIN_FREE_BYTES": str(RESERVE), "SEQSTORE_BLOB_URL": ""}
    with running(Server(data_dir, env, log_level="info")) as server:
        omics = make_client(server.url)
        blobs = data_dir / "blobs"
        assert health(server)["status"] == "ok"
        store_id = omics.create_sequence_store(name="disk-full")["id"]
        upload_id = start_upload(omics, store_id)

        # 1. A chunked body the server cannot size in advance: the disk fills mid-write.
        filler = fill_to(small_disk, RESERVE + 2 * MIB)
        answer = chunked_part(server, store_id, upload_id, 1, os.urandom(16 * MIB))
        assert answer.status_code == 402, answer.text
        assert answer.headers["x-amzn-errortype"].startswith("ServiceQuotaExceededException")
        assert "ran out of disk space" in answer.json()["message"], answer.text
        assert "No space left on device" in answer.json()["message"], answer.text
        assert temporary_files(blobs) == []  # nothing half-written
        assert omics.list_read_set_upload_parts(sequenceStoreId=store_id, uploadId=upload_id,
                                                partSource="SOURCE1")["parts"] == []
        filler.unlink()

        # 2. Parts through boto3 until the next one would eat into the reserve: refused up front.
        part = os.urandom(6 * MIB)
        accepted = 0
        with pytest.raises(ClientError) as refused:
            for number in range(1, 20):
                omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id,
                                           partSource="SOURCE1", partNumber=number, payload=part)
                accepted += 1
        error = refused.value.response
        assert error["Error"]["Code"] == "ServiceQuotaExceededException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 402
        assert error["ResponseMetadata"]["RetryAttempts"] == 0  # 402 is not retried
        message = error["Error"]["Message"]
        assert "out of disk space" in message and "MiB free on" in message, message
        assert "8.0 MiB must stay free" in message and "it needs up to 6.0 MiB" in message, message
        assert "out of disk space for part" in message, message
        assert 4 <= accepted < 10
        listed = omics.list_read_set_upload_parts(sequenceStoreId=store_id, uploadId=upload_id,
                                                  partSource="SOURCE1")["parts"]
        assert [p["partNumber"] for p in listed] == list(range(1, accepted + 1))
        assert temporary_files(blobs) == []

        # 3. Below the reserve: health says degraded with the numbers; a small part is refused.
        filler = fill_to(small_disk, RESERVE // 2)
        report = health(server)
        assert report["status"] == "degraded"
        (disk,) = report["disk"]
        assert disk["reserveBytes"] == RESERVE and disk["freeBytes"] < RESERVE and disk["low"] is True
        assert sorted(disk["roles"]) == ["blobs", "data"]
        with pytest.raises(ClientError) as small:
            omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1",
                                       partNumber=accepted + 1, payload=b"@r\nACGT\n+\nIIII\n")
        assert small.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
        with pytest.raises(ClientError) as complete:
            omics.complete_multipart_read_set_upload(
                sequenceStoreId=store_id, uploadId=upload_id,
                parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": "x"}])
        assert complete.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
        assert "out of disk space" in complete.value.response["Error"]["Message"]

        # 4. Space freed: healthy again, and an upload is ingested to ACTIVE.
        filler.unlink()
        omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)
        assert health(server)["status"] == "ok"
        fastq = fastq_text(200, seed=20)
        fresh = start_upload(omics, store_id)
        parts = send_parts(omics, store_id, fresh, fastq)
        read_set_id = omics.complete_multipart_read_set_upload(
            sequenceStoreId=store_id, uploadId=fresh, parts=parts)["readSetId"]
        assert wait_for_status(omics, store_id, read_set_id)["status"] == "ACTIVE"

        log = server.logs()
        assert "disk full while writing part" in log
        assert "Traceback" not in log


def test_ingestion_without_room_for_its_scratch_files_fails_saying_so(small_disk: Path) -> None:
    """Parts accepted, then the disk fills before ingestion: the read set ends UPLOAD_FAILED with
    the out-of-space message, and no half-stored file of it stays."""
    data_dir = small_disk / "data"
    # Not streamed (docs/streaming.md, "Memory and disk"): a stream would have written its scratch
    # copy while the parts arrived, before the disk is filled here.
    env = {"SEQSTORE_MIN_FREE_BYTES": str(RESERVE), "SEQSTORE_BLOB_URL": "", "SEQSTORE_STREAMING_UPLOADS": "0"}
    with running(Server(data_dir, env, log_level="info")) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="disk-full-ingest")["id"]
        fastq = fastq_text(40_000, seed=21)  # about 4 MiB
        upload_id = start_upload(omics, store_id)
        parts = send_parts(omics, store_id, upload_id, fastq, cuts=[len(fastq) // 2])
        # Room for Complete (above the reserve) but not for assembling the parts beside them.
        fill_to(small_disk, RESERVE + len(fastq) // 2)
        read_set_id = omics.complete_multipart_read_set_upload(
            sequenceStoreId=store_id, uploadId=upload_id, parts=parts)["readSetId"]
        metadata = wait_for_status(omics, store_id, read_set_id)
        assert metadata["status"] == "UPLOAD_FAILED"
        assert "out of disk space" in metadata["statusMessage"], metadata["statusMessage"]
        assert f"for ingesting read set {read_set_id}" in metadata["statusMessage"]
        assert temporary_files(data_dir) == []
        work = data_dir / "work"
        assert not work.exists() or not any(work.iterdir())  # no scratch files left
        assert "Traceback" not in server.logs()

"""A full disk is an answer: a live server whose data dir is a 64 MiB tmpfs, filled through boto3.

Each refusal is checked for its exception code, HTTP status and message, that boto3 did not retry
it, that no partial blob stays behind, and that the server works again once space is freed.
The blobs stay in the data dir here (SEQSTORE_BLOB_URL unset even on the S3 suite run): the
filesystem being filled is the point."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
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
from tests.helpers.jobs import fastq_source, import_and_wait
from tests.helpers.names import ACCOUNT, REGION
from tests.helpers.readsets import ingest, read_set_files, send_parts, start_upload, wait_for_status
from tests.helpers.references import run_import
from tests.helpers.servers import Server, running
from tests.helpers.stored import data_command

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


# --- import jobs whose sources do not fit: the disk fills mid-write ---------------------------

SOURCES_RESERVE = 1 * MIB  # the reserve the item checks first; the writes then fill the disk
ROOM = 6 * MIB  # free space left for the job's writes


def random_fastq(count: int, seed: int, length: int = 100) -> bytes:
    """`count` FASTQ records of random bases and qualities (compressing to about 40%), quickly."""
    rng = random.Random(seed)
    bases = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
    qualities = bytes.maketrans(bytes(range(256)), bytes(33 + i % 40 for i in range(256)))
    records = []
    for i in range(count):
        raw = rng.randbytes(2 * length)
        records.append(b"@r%07d\n%s\n+\n%s\n" % (i, raw[:length].translate(bases), raw[length:].translate(qualities)))
    return b"".join(records)


def job_server(mount: Path, sources: Path) -> Server:
    """A server on the small disk, with one job thread (the items run in order) and its import
    sources off the small disk."""
    env = {"SEQSTORE_MIN_FREE_BYTES": str(SOURCES_RESERVE), "SEQSTORE_BLOB_URL": "",
           "SEQSTORE_BUCKETS_DIR": str(sources), "SEQSTORE_CONCURRENCY": "1"}
    return Server(mount / "data", env, log_level="info")


def warnings_naming(log: str, word: str) -> list[str]:
    return [line for line in log.splitlines() if " WARNING " in line and word in line]


def test_an_import_item_that_fills_the_disk_fails_saying_so_and_the_others_finish(
    small_disk: Path, tmp_path: Path,
) -> None:
    """A read set import of four sources with room for the small ones only: a plain FASTQ whose
    compressed copy fills the scratch space, and a FASTQ.gz whose stored copy fills the blob
    store, each end UPLOAD_FAILED saying the server ran out of disk space, with nothing of them
    kept; the small sources before and after them become ACTIVE."""
    bucket = tmp_path / "buckets" / "runs"
    bucket.mkdir(parents=True)
    (bucket / "small-1.fastq.gz").write_bytes(gzip.compress(random_fastq(1000, seed=1)))
    (bucket / "big-plain.fastq").write_bytes(random_fastq(160_000, seed=2))  # ~34 MiB, ~14 MiB compressed
    (bucket / "big.fastq.gz").write_bytes(gzip.compress(random_fastq(80_000, seed=3), 1))  # ~8 MiB
    (bucket / "small-2.fastq.gz").write_bytes(gzip.compress(random_fastq(1000, seed=4)))
    names = ["small-1.fastq.gz", "big-plain.fastq", "big.fastq.gz", "small-2.fastq.gz"]
    with running(job_server(small_disk, tmp_path / "buckets")) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="disk-full-import")["id"]
        filler = fill_to(small_disk, ROOM)
        job = import_and_wait(omics, store_id, [fastq_source(f"s3://runs/{name}", name=name) for name in names])
        filler.unlink()

        assert job["status"] == "COMPLETED_WITH_FAILURES", job
        by_name = {}
        for source in job["sources"]:
            metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=source["readSetId"])
            by_name[metadata["name"]] = (source, metadata)
        for name in ("small-1.fastq.gz", "small-2.fastq.gz"):
            source, metadata = by_name[name]
            assert source["status"] == "FINISHED" and metadata["status"] == "ACTIVE", (source, metadata)
        log = server.logs()
        for name in ("big-plain.fastq", "big.fastq.gz"):
            source, metadata = by_name[name]
            read_set_id = metadata["id"]
            assert metadata["status"] == "UPLOAD_FAILED", metadata
            message = metadata["statusMessage"]
            assert message.startswith("The server ran out of disk space while storing read set "), message
            assert "No space left on device" in message and "Ask the operator to free space" in message, message
            assert source["status"] == "FAILED", source
            assert source["statusMessage"] == (  # in the 127 characters the model allows it
                f"The server ran out of disk space while storing read set {read_set_id} "
                "(No space left on device); nothing of it was stored.")
            assert read_set_files(server, store_id, read_set_id) == []  # nothing half-written
            assert len(warnings_naming(log, read_set_id)) == 1, log
        assert temporary_files(server.data_dir) == []
        work = server.data_dir / "work"
        assert not work.exists() or not any(work.iterdir())  # no scratch files left
        assert "Traceback" not in log, log[-4000:]


def random_fasta(bases: int, seed: int, name: str = "chr1") -> bytes:
    rng = random.Random(seed)
    sequence = rng.randbytes(bases).translate(bytes.maketrans(bytes(range(256)), b"ACGT" * 64))
    lines = [sequence[start:start + 60] for start in range(0, bases, 60)]
    return b">" + name.encode() + b"\n" + b"\n".join(lines) + b"\n"


def test_a_reference_import_that_fills_the_disk_fails_saying_so_and_the_others_finish(
    small_disk: Path, tmp_path: Path,
) -> None:
    """A reference import of three FASTA files with room for the small one only: a FASTA.gz whose
    decompressed copy fills the scratch space and a plain FASTA whose stored copy fills the blob
    store fail saying the server ran out of disk space, create no reference and leave no file;
    the small one becomes a reference."""
    bucket = tmp_path / "buckets" / "genomes"
    bucket.mkdir(parents=True)
    (bucket / "big.fa.gz").write_bytes(gzip.compress(random_fasta(10 * MIB, seed=5), 1))
    (bucket / "big-plain.fa").write_bytes(random_fasta(10 * MIB, seed=6))
    (bucket / "small.fa").write_bytes(random_fasta(100_000, seed=7))
    names = ["big.fa.gz", "big-plain.fa", "small.fa"]
    with running(job_server(small_disk, tmp_path / "buckets")) as server:
        omics = make_client(server.url)
        store_id = omics.create_reference_store(name="disk-full-references")["id"]
        filler = fill_to(small_disk, ROOM)
        job = run_import(omics, store_id, [{"sourceFile": f"s3://genomes/{name}", "name": name} for name in names])
        filler.unlink()

        assert job["status"] == "COMPLETED_WITH_FAILURES", job
        big_gz, big_plain, small = job["sources"]
        for source, name in ((big_gz, "big.fa.gz"), (big_plain, "big-plain.fa")):
            assert source["status"] == "FAILED", source
            assert source["statusMessage"].startswith(
                f"The server ran out of disk space while storing reference {name} (No space left on device)"
            ), source
            assert "referenceId" not in source, source  # no reference was created
        assert small["status"] == "FINISHED", small
        listed = omics.list_references(referenceStoreId=store_id)["references"]
        assert [(r["id"], r["name"], r["status"]) for r in listed] == [(small["referenceId"], "small.fa", "ACTIVE")]
        stored = server.blob_keys(f"{ACCOUNT}/referenceStore/{store_id}")
        assert stored and all(f"/reference/{small['referenceId']}/" in key for key in stored), stored
        log = server.logs()
        for name in ("big.fa.gz", "big-plain.fa"):
            assert len(warnings_naming(log, f"reference {name}")) == 1, log
        assert temporary_files(server.data_dir) == []
        work = server.data_dir / "work"
        assert not work.exists() or not any(work.iterdir())
        assert "Traceback" not in log, log[-4000:]


def test_a_backup_onto_a_full_disk_fails_saying_so_and_leaves_nothing(small_disk: Path, tmp_path: Path) -> None:
    """The data dir on an ordinary disk, the backup destination on the small one with 2 MiB free:
    the blobs (copied: another filesystem) do not fit. The command says the destination is full,
    removes what it wrote there and leaves the data dir as it was (it verifies)."""
    local = {"SEQSTORE_DATABASE_URL": "", "SEQSTORE_BLOB_URL": ""}
    with running(Server(tmp_path / "data", local)) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="backup-full")["id"]
        for seed in range(3):  # ~4 MB of FASTQ each
            assert ingest(omics, store_id, "FASTQ", fastq_text(20_000, seed=seed, read_length=100))["status"] == "ACTIVE"
        fill_to(small_disk, 2 * MIB)
        destination = small_disk / "backup"
        done = data_command(server, "backup", str(destination))
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert f"the backup destination {destination} is full" in done.stderr, done.stderr
        assert "the partial backup was removed" in done.stderr and "Traceback" not in done.stderr
        assert not destination.exists()
        verified = data_command(server, "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr

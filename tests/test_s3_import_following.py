"""FASTQ imports from S3 are scanned while they download (jobs/following.py, docs/streaming.md
"Imports"): objects of several 8 MiB ranges end ACTIVE with the ETags, counts and bytes of their
sources; a corrupt one fails with the message an upload of the same bytes gets. The downloader
itself (ranges appended in order, a failed range, a stop) is tested on a stand-in S3 client."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from seqstore.genomics.streams import CANCELLED, FEEDING, StreamCancelled, open_source
from seqstore.jobs.following import RANGE_BYTES, FollowedDownload
from tests.helpers.backends import S3_CREDENTIALS, shared_moto
from tests.helpers.clients import make_client
from tests.helpers.data import gz, md5
from tests.helpers.fastq import bulk_fastq_text, fastq_counts
from tests.helpers.jobs import fastq_source, import_and_wait
from tests.helpers.names import unique
from tests.helpers.readsets import download, ingest
from tests.helpers.servers import Server, running


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SEQSTORE_S3_ENDPOINT_URL": shared_moto().url, **S3_CREDENTIALS}
    with running(Server(tmp_path_factory.mktemp("s3-follow") / "data", extra_env=env)) as server:
        yield server


def pair(count: int) -> tuple[bytes, bytes]:
    """R1 and R2 of `count` 100-base records with the same read names."""
    return bulk_fastq_text(count, seed=5), bulk_fastq_text(count, seed=6).replace(b"@bulk6_", b"@bulk5_")


def test_a_pair_of_many_ranges_is_imported_as_its_bytes(s3_server: Server) -> None:
    s3 = shared_moto().client()
    bucket = unique("follow")
    s3.create_bucket(Bucket=bucket)
    r1, r2 = pair(100_000)
    assert len(r1) > 2 * RANGE_BYTES and len(r2) > 2 * RANGE_BYTES
    s3.put_object(Bucket=bucket, Key="S1_R1.fastq", Body=r1)
    s3.put_object(Bucket=bucket, Key="S1_R2.fastq.gz", Body=gz(r2))
    omics = make_client(s3_server.url)
    store_id = omics.create_sequence_store(name="follow")["id"]

    job = import_and_wait(omics, store_id, [fastq_source(f"s3://{bucket}/S1_R1.fastq", f"s3://{bucket}/S1_R2.fastq.gz")])

    assert job["status"] == "COMPLETED", job
    read_set_id = job["sources"][0]["readSetId"]
    metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
    assert metadata["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}
    assert metadata["sequenceInformation"]["totalReadCount"] == fastq_counts(r1, r2)[0]
    assert metadata["sequenceInformation"]["totalBaseCount"] == fastq_counts(r1, r2)[1]
    assert download(omics, store_id, read_set_id, "SOURCE2") == gz(r2)
    assert not any(p.is_file() for p in (s3_server.data_dir / "work").rglob("*"))


def test_a_corrupt_object_fails_as_its_upload_does(s3_server: Server) -> None:
    s3 = shared_moto().client()
    bucket = unique("follow-bad")
    s3.create_bucket(Bucket=bucket)
    data = bytearray(gz(bulk_fastq_text(160_000, seed=9)))
    assert len(data) > RANGE_BYTES + 1_000_000
    data[RANGE_BYTES + 500_000] ^= 0xFF  # in the second range
    s3.put_object(Bucket=bucket, Key="bad.fastq.gz", Body=bytes(data))
    omics = make_client(s3_server.url)
    store_id = omics.create_sequence_store(name="follow-bad")["id"]

    job = import_and_wait(omics, store_id, [fastq_source(f"s3://{bucket}/bad.fastq.gz")])
    uploaded = ingest(omics, store_id, "FASTQ", bytes(data))

    assert job["status"] == "FAILED" or job["sources"][0]["status"] == "FAILED", job
    imported = omics.get_read_set_metadata(sequenceStoreId=store_id, id=job["sources"][0]["readSetId"])
    assert imported["status"] == uploaded["status"] == "UPLOAD_FAILED"
    assert imported["statusMessage"] == uploaded["statusMessage"]
    assert imported["statusMessage"].startswith("source1: ")
    assert not any(p.is_file() for p in (s3_server.data_dir / "work").rglob("*"))


class StandInS3:
    """head_object and ranged get_object of one object; ranges answer after random delays (so
    they complete out of order), and the range starting at `failing` fails as S3 does when the
    object changed (412)."""

    def __init__(self, data: bytes, failing: int | None = None, delay: float = 0.01) -> None:
        self.data, self.failing, self.delay = data, failing, delay
        self.rng = random.Random(1)
        self.lock = threading.Lock()
        self.ranges: list[int] = []

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ETag": '"abc"', "ContentLength": len(self.data)}

    def get_object(self, *, Range: str, IfMatch: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's names
        first, _, last = Range.removeprefix("bytes=").partition("-")
        with self.lock:
            self.ranges.append(int(first))
            pause = self.rng.random() * self.delay
        time.sleep(pause)
        if int(first) == self.failing:
            raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "GetObject")
        assert IfMatch == '"abc"'
        body = self.data[int(first): int(last) + 1]
        return {"Body": type("Body", (), {"read": lambda self: body})()}


def describe(exc: BaseException) -> Exception:
    return RuntimeError(f"download failed: {exc}")


def test_ranges_are_appended_in_order_while_a_reader_follows(tmp_path: Path) -> None:
    data = random.Random(2).randbytes(5 * RANGE_BYTES + 12345)
    client = StandInS3(data)
    download = FollowedDownload(client, "b", "k", tmp_path / "object", describe)
    with open_source(tmp_path / "object") as reader:  # follows the file while it grows
        assert reader.read() == data
    assert download.wait() is not None
    assert (tmp_path / "object").read_bytes() == data
    assert not Path(f"{tmp_path / 'object'}{FEEDING}").exists()
    assert sorted(client.ranges) == list(range(0, len(data), RANGE_BYTES))


def test_a_failed_range_cancels_the_readers_and_is_the_error(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(4 * RANGE_BYTES)
    download = FollowedDownload(StandInS3(data, failing=2 * RANGE_BYTES), "b", "k", tmp_path / "object", describe)
    with pytest.raises(StreamCancelled), open_source(tmp_path / "object") as reader:
        reader.read()
    with pytest.raises(RuntimeError, match="download failed: .*PreconditionFailed"):
        download.wait()
    assert Path(f"{tmp_path / 'object'}{CANCELLED}").exists()
    assert (tmp_path / "object").stat().st_size <= 2 * RANGE_BYTES  # nothing after the failed range


def test_a_stopped_download_ends_quietly(tmp_path: Path) -> None:
    data = random.Random(4).randbytes(20 * RANGE_BYTES)
    download = FollowedDownload(StandInS3(data, delay=0.05), "b", "k", tmp_path / "object", describe)
    download.stop()
    assert download.wait() is None
    assert (tmp_path / "object").stat().st_size < len(data)
    assert Path(f"{tmp_path / 'object'}{CANCELLED}").exists()

"""S3 server access logs of the S3 plane (docs/s3.md, "Access logs"): requests to a store with an
`s3AccessConfig.accessLogLocation` are written, batched, as S3 server access log records to that
location (here the server's local buckets directory; tests/test_s3_sources.py writes them to a
real S3 endpoint)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from seqstore.dataplane.log_buffer import LogBuffer
from tests.helpers.access_logs import OBJECT_NAME, parse_records
from tests.helpers.buckets import buckets_dir, files_under, new_bucket
from tests.helpers.clients import KEY, make_client, s3_client
from tests.helpers.data import gz
from tests.helpers.fastq import paired_fastq
from tests.helpers.names import ACCOUNT, unique
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server, running

TIMEOUT = 30.0


def split(uri: str) -> tuple[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


@pytest.fixture(scope="module")
def logging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that writes its access logs every half second into its buckets directory."""
    data_dir = tmp_path_factory.mktemp("s3-access-logs") / "data"
    env = {"SEQSTORE_ACCESS_LOG_FLUSH_SECONDS": "0.5", "SEQSTORE_BUCKETS_DIR": str(data_dir / "buckets")}
    with running(Server(data_dir, extra_env=env)) as server:
        yield server


def logged_store(omics, server: Server, location: str, seed: int) -> tuple[str, str, bytes, str]:  # type: ignore[no-untyped-def]
    """A store logging to `location` with one FASTQ read set: (alias, key of its file, bytes, store id)."""
    logging_to = {"s3AccessConfig": {"accessLogLocation": location}} if location else {}
    store = omics.create_sequence_store(name=unique("logged"), **logging_to)
    assert store["s3Access"].get("accessLogLocation") == (location or None)
    data = gz(paired_fastq(100, seed=seed)[0])
    read_set = ingest(omics, store["id"], "FASTQ", data, name="logged")
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    return bucket, key, data, store["id"]


def wait_for_records(directory: Path, wanted: set[str]) -> tuple[dict[str, dict[str, str]], list[Path]]:
    """The records of the log objects in `directory` once every request id of `wanted` is among them."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        files = files_under(directory)
        records: dict[str, dict[str, str]] = {}
        for path in files:
            records.update(parse_records(path.read_text()))
        if wanted <= records.keys():
            return records, files
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no access log record of {sorted(wanted - records.keys())} after {TIMEOUT} s"
            )
        time.sleep(0.1)


def test_reads_refusals_and_misses_are_logged_in_s3s_format(logging_server: Server) -> None:
    server = logging_server
    omics = make_client(server.url)
    logs = new_bucket(server, "access-logs")
    s3 = s3_client(server.url)
    # A store without a log location: its requests are logged nowhere.
    quiet_bucket, quiet_key, _, _ = logged_store(omics, server, "", seed=181)
    unlogged = request_id(s3.head_object(Bucket=quiet_bucket, Key=quiet_key))

    bucket, key, data, store_id = logged_store(omics, server, f"s3://{logs}/seqstore/", seed=182)
    ids: dict[str, str] = {}
    whole = s3.get_object(Bucket=bucket, Key=key)
    assert whole["Body"].read() == data
    ids["get"] = request_id(whole)
    ranged = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-99")
    assert ranged["Body"].read() == data[:100]
    ids["range"] = request_id(ranged)
    ids["head"] = request_id(s3.head_object(Bucket=bucket, Key=key))
    ids["list"] = request_id(s3.list_objects_v2(Bucket=bucket))
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key=key + ".missing")
    ids["missing"] = request_id(missing.value.response)
    with pytest.raises(ClientError) as write:
        s3.put_object(Bucket=bucket, Key=key, Body=b"overwrite")
    assert write.value.response["Error"]["Code"] == "AccessDenied"
    ids["write"] = request_id(write.value.response)
    anonymous = requests.get(
        f"{server.url}/{bucket}/{key}", headers={"User-Agent": 'curl "quoted"'}, timeout=30
    )
    assert anonymous.status_code == 403
    ids["anonymous"] = anonymous.headers["x-amz-request-id"]

    records, files = wait_for_records(buckets_dir(server) / logs / "seqstore", set(ids.values()))

    assert unlogged not in records and set(records) <= set(ids.values())
    assert all(OBJECT_NAME.fullmatch(path.name) for path in files), files
    by = {name: records[rid] for name, rid in ids.items()}
    expected = {  # operation, status, error code, bytes sent, object size
        "get": ("REST.GET.OBJECT", "200", "-", str(len(data)), str(len(data))),
        "range": ("REST.GET.OBJECT", "206", "-", "100", str(len(data))),
        "head": ("REST.HEAD.OBJECT", "200", "-", "-", str(len(data))),
        "missing": ("REST.GET.OBJECT", "404", "NoSuchKey", by["missing"]["bytes_sent"], "-"),
        "write": ("REST.PUT.OBJECT", "403", "AccessDenied", by["write"]["bytes_sent"], "-"),
        "anonymous": ("REST.GET.OBJECT", "403", "AccessDenied", by["anonymous"]["bytes_sent"], "-"),
    }
    for name, (op, status, code, sent, size) in expected.items():
        record = by[name]
        assert (
            record["operation"],
            record["status"],
            record["error_code"],
            record["bytes_sent"],
            record["object_size"],
        ) == (op, status, code, sent, size), (name, record)
        assert record["key"] == (key if name != "missing" else key + ".missing")
    assert int(by["missing"]["bytes_sent"]) > 0  # the XML error
    listing = by["list"]
    assert (listing["operation"], listing["status"], listing["key"], listing["object_size"]) == (
        "REST.GET.BUCKET",
        "200",
        "-",
        "-",
    )
    assert int(listing["bytes_sent"]) > 0
    assert listing["request_uri"].startswith(f"GET /{bucket}?list-type=2") and listing[
        "request_uri"
    ].endswith(" HTTP/1.1")

    for name, record in by.items():
        assert record["bucket_owner"] == ACCOUNT and record["bucket"] == bucket
        assert record["access_point_arn"].endswith(f":accesspoint/{ACCOUNT}-{store_id}")
        assert record["remote_ip"] == "127.0.0.1"
        assert record["host_header"] == f"127.0.0.1:{server.port}"
        moment = datetime.strptime(record["time"], "%d/%b/%Y:%H:%M:%S %z")
        assert abs((datetime.now(UTC) - moment).total_seconds()) < 3600
        assert int(record["total_time"]) >= int(record["turn_around_time"]) >= 0
        if name == "anonymous":
            assert (record["requester"], record["signature_version"], record["authentication_type"]) == (
                "-",
                "-",
                "-",
            )
            assert record["user_agent"] == 'curl \\"quoted\\"'
        else:
            assert (record["requester"], record["signature_version"], record["authentication_type"]) == (
                KEY,
                "SigV4",
                "AuthHeader",
            )
            assert record["user_agent"].startswith("Boto3/")
    assert by["get"]["request_uri"] == f"GET /{bucket}/{key} HTTP/1.1"


def test_an_unreachable_log_location_costs_a_warning_not_the_request(logging_server: Server) -> None:
    server = logging_server
    omics = make_client(server.url)
    nowhere = unique("no-such-bucket")  # no such directory in the buckets dir
    bucket, key, data, _ = logged_store(omics, server, f"s3://{nowhere}/", seed=183)
    s3 = s3_client(server.url)
    for _ in range(3):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    deadline = time.monotonic() + TIMEOUT
    while f"s3://{nowhere}/" not in server.logs():
        assert time.monotonic() < deadline, "no warning about the unwritable log location"
        time.sleep(0.1)
    warnings = [line for line in server.logs().splitlines() if f"s3://{nowhere}/" in line]
    assert all("access log" in line and "not written" in line for line in warnings), warnings
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)


class Collected:
    """A destination that keeps what it is given."""

    def __init__(self) -> None:
        self.objects: list[tuple[str, str]] = []

    def put(self, uri: str, source: Path) -> None:
        self.objects.append((uri, source.read_text()))


def test_a_full_buffer_drops_new_records_and_says_how_many(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    destination = Collected()
    buffer = LogBuffer(lambda: destination, tmp_path, flush_seconds=3600, max_records=3)
    for n in range(5):
        buffer.add("s3://logs/prefix/", f"record {n}")
    with caplog.at_level(logging.WARNING, logger="seqstore.s3"):
        buffer.close()  # at shutdown, what waits is written
    ((uri, text),) = destination.objects
    assert uri.startswith("s3://logs/prefix/") and OBJECT_NAME.fullmatch(
        uri.removeprefix("s3://logs/prefix/")
    )
    assert text == "record 0\nrecord 1\nrecord 2\n"
    assert "2 records dropped" in caplog.text
    assert list(tmp_path.iterdir()) == []  # the file it was written from is gone


def test_records_are_written_in_batches_of_the_record_limit(tmp_path: Path) -> None:
    destination = Collected()
    buffer = LogBuffer(lambda: destination, tmp_path, flush_seconds=3600, flush_records=4)
    for n in range(4):
        buffer.add("s3://logs/", f"record {n}")
    deadline = time.monotonic() + TIMEOUT
    while not destination.objects:  # written by the buffer's thread, not at a period's end
        assert time.monotonic() < deadline, "4 waiting records were not written"
        time.sleep(0.05)
    buffer.add("s3://other/", "elsewhere")
    buffer.close()
    assert [(uri.rsplit("/", 1)[0], text) for uri, text in destination.objects] == [
        ("s3://logs", "record 0\nrecord 1\nrecord 2\nrecord 3\n"),
        ("s3://other", "elsewhere\n"),
    ]

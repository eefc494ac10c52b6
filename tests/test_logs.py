"""`--log-format json`: `seqstore serve` and `seqstore worker` as processes, driven through boto3,
write nothing but JSON objects, one a line — their own records, the banner and uvicorn's lines —
each with its time (RFC 3339, UTC), level, logger and message, and the request's fields where
the record has them (docs/operations.md, "Logs")."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from seqstore.logs import JsonFormatter
from tests.helpers.buckets import new_bucket, put_object
from tests.helpers.clients import make_client
from tests.helpers.data import gz
from tests.helpers.fastq import fastq_text
from tests.helpers.jobs import fastq_source, import_and_wait
from tests.helpers.paths import ROOT
from tests.helpers.servers import OptionServer, running

LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def json_records(text: str) -> list[dict[str, Any]]:
    """Every line of a log, each of which must be one JSON object with the four fields."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        assert record["level"] in LEVELS and isinstance(record["logger"], str), line
        assert record["time"].endswith("Z"), line  # UTC, RFC 3339
        assert datetime.fromisoformat(record["time"]).utcoffset() == UTC.utcoffset(None), line
        records.append(record)
    return records


def wait_for_line(path: Path, words: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while words not in path.read_text():
        assert process.poll() is None, path.read_text()
        assert time.monotonic() < deadline, f"no {words!r} in {path.read_text()}"
        time.sleep(0.1)


def test_serve_and_worker_with_json_logs_write_one_json_object_per_line(tmp_path: Path) -> None:
    server = OptionServer(tmp_path / "data", "--log-format", "json", "--no-worker", log_level="info")
    worker_log = tmp_path / "worker.log"
    with running(server):
        omics = make_client(server.url)
        store = omics.create_sequence_store(name="json-logs")
        got = omics.get_sequence_store(id=store["id"])
        with pytest.raises(ClientError) as missing:
            omics.get_sequence_store(id="1234567890")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        failed_request = missing.value.response["ResponseMetadata"]["RequestId"]

        # A job worker of its own, in JSON too, runs an import the API process queued.
        env = {**os.environ, "SEQSTORE_LOG_FORMAT": "json", **server.extra_env}
        with open(worker_log, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "seqstore.cli", "worker", "--data-dir", str(server.data_dir),
                 "--concurrency", "1", "--log-level", "info"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        try:
            wait_for_line(worker_log, "seqstore worker running", worker)
            uri = put_object(server, new_bucket(server), "run/a.fastq.gz", gz(fastq_text(50, seed=3)))
            job = import_and_wait(omics, store["id"], [fastq_source(uri), fastq_source(uri.replace("a.", "none."))])
            assert job["status"] == "COMPLETED_WITH_FAILURES", job
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    records = json_records(server.logs())
    messages = [r["message"] for r in records]
    assert any(m.startswith("seqstore is serving the HealthOmics storage API at") for m in messages)
    banner = next(r for r in records if "AWS_ENDPOINT_URL_OMICS" in r["message"])
    assert banner["logger"] == "seqstore" and banner["url"] == server.url
    uvicorn = [r["message"] for r in records if r["logger"].startswith("uvicorn")]
    assert "Application startup complete." in uvicorn and "Finished server process" in " ".join(uvicorn)
    audit = {r["requestId"]: r for r in records if r["logger"] == "seqstore.audit"}
    assert audit[failed_request]["operation"] == "GetSequenceStore" and audit[failed_request]["status"] == 404
    assert json.loads(audit[failed_request]["message"])["requestId"] == failed_request  # the audit line
    ok = audit[got["ResponseMetadata"]["RequestId"]]
    assert ok["status"] == 200 and ok["level"] == "INFO"

    worker_records = json_records(worker_log.read_text())
    assert any(r["message"].startswith("seqstore worker running 1 job threads") for r in worker_records)
    assert any(r["logger"] == "seqstore.jobs" and "source 0 finished" in r["message"] for r in worker_records)


def test_a_json_record_carries_its_traceback_and_fields() -> None:
    """The formatter itself: `exc_info` is the traceback's text, fields given with `extra=` are
    keys of the object, and a message with a newline or a non-JSON value stays one line."""
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.getLogger("seqstore.test").makeRecord(
            "seqstore.test", logging.ERROR, __file__, 1, "failed in %s\nsecond line", ("GetReadSet",),
            sys.exc_info(), extra={"requestId": "r-1", "path": Path("/x")},
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed in GetReadSet\nsecond line" and entry["level"] == "ERROR"
    assert entry["logger"] == "seqstore.test" and entry["requestId"] == "r-1" and entry["path"] == "/x"
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert entry["exc_info"].endswith("ValueError: bad value")
    assert set(entry) == {"time", "level", "logger", "message", "exc_info", "requestId", "path"}

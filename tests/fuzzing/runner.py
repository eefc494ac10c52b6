"""One fuzz run: set the resources up, snapshot the victim, send the requests and count their
answers, snapshot again."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fuzzing.generator import Generator
from tests.fuzzing.report import Report, describe
from tests.fuzzing.resources import Resources, fuzz_client, replace_upload, setup
from tests.fuzzing.snapshot import compare, snapshot
from tests.fuzzing.transport import Transport
from tests.fuzzing.wire import Answer, Wire


def run(url: str, key: str, secret: str, *, requests: int, seed: int = 0, region: str = "us-east-1",
        buckets_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Set up the resources, snapshot, send `requests` fuzz requests, snapshot again."""
    rng = random.Random(seed)
    client = fuzz_client(url, key, secret, region)
    res = setup(client, region, rng, buckets_dir)
    report = Report(notes=list(res.notes))
    before = snapshot(client, res)
    generator = Generator(res, seed)
    report.total_cases = len(generator.constraint_cases) + len(generator.type_cases)
    transport = Transport(url, key, secret, region)
    created: set[str] = set()
    deleted: set[str] = set()
    started = time.monotonic()
    for number in range(requests):
        wire = generator.next()
        answer = transport.send(wire)
        report.by_operation[wire.operation][answer.bucket] += 1
        report.by_category[wire.category][answer.bucket] += 1
        if answer.status is None or answer.status >= 500:
            report.failures.append(describe(wire, answer))
        elif answer.status >= 400 and "x-amzn-errortype" not in answer.headers:
            report.unframed += 1
        elif 200 <= answer.status < 300:
            if wire.invalid:
                report.accepted_invalid.append(describe(wire, answer))
            _track(wire, answer, res, client, created, deleted)
        if progress and (number + 1) % 1000 == 0:
            progress(f"{number + 1} requests, {report.overall['5xx']} answers >= 500")
    report.seconds = time.monotonic() - started
    report.requests = requests
    transport.close()
    report.covered_cases = len(generator.covered)
    if generator.skipped:
        report.notes.append(f"generator skipped (and replaced) {dict(generator.skipped)}")
    # Jobs the valid requests started may still be running: let them settle before comparing.
    after = snapshot(client, res)
    report.data_changes = compare(before, after, res, created, deleted)
    return report


def _track(wire: Wire, answer: Answer, res: Resources, client: Any, created: set[str], deleted: set[str]) -> None:
    """Follow what a successful request changed."""
    if wire.operation == "CreateSequenceStore":
        with contextlib.suppress(ValueError, KeyError):
            store_id = json.loads(answer.body)["id"]
            created.add(store_id)
            res.disposable.append(store_id)
    elif wire.operation == "DeleteSequenceStore" and wire.subject:
        deleted.add(wire.subject)
    elif (wire.operation in ("AbortMultipartReadSetUpload", "CompleteMultipartReadSetUpload")
          and wire.store == res.scratch.store):
        replace_upload(client, res.scratch)  # the victim's upload stays: its change is reported

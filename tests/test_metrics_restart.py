"""A Prometheus scraper polling `GET /metrics` while the server restarts, gracefully and after a
crash: every answer it gets is a whole, parseable exposition with the gauges (never a 500 or a
cut body); between processes it gets no answer at all, which Prometheus records as `up 0`; the
new process says when it started, so the counters' reset is visible."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from tests.helpers.backends import POSTGRES_URL
from tests.helpers.clients import make_client
from tests.helpers.prometheus_text import parse
from tests.helpers.servers import Server, running

FAMILIES = ("seqstore_requests_total", "seqstore_jobs_runnable", "seqstore_disk_free_bytes",
            "seqstore_start_time_seconds")


class Scraper(threading.Thread):
    """Scrapes every 20 ms until stopped; keeps each answer's status and samples, or the error."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/metrics"
        self.answers: list[tuple[int, str, dict[str, float] | None]] = []
        self.refused = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                response = requests.get(self.url, timeout=5)
            except requests.ConnectionError:
                self.refused += 1
            else:
                try:
                    samples = parse(response.text)
                except Exception:  # noqa: BLE001 - recorded; the test fails on it
                    samples = None
                self.answers.append((response.status_code, response.text, samples))
            time.sleep(0.02)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running(Server(tmp_path / "data")) as server:
        yield server


def start_time(samples: dict[str, float]) -> float:
    return samples["seqstore_start_time_seconds"]


@pytest.mark.parametrize("kill", [False, True], ids=["graceful", "crash"])
def test_a_scrape_during_a_restart_is_whole_or_refused(server: Server, kill: bool) -> None:
    omics = make_client(server.url)
    for _ in range(5):
        omics.list_sequence_stores()
    scraper = Scraper(server.url)
    scraper.start()
    try:
        time.sleep(0.3)
        before = len(scraper.answers)
        server.stop(kill=kill)
        time.sleep(0.3)
        down = len(scraper.answers)
        server.start()
        omics = make_client(server.url)
        omics.list_sequence_stores()
        time.sleep(0.3)
    finally:
        scraper.stop()

    assert before > 0 and len(scraper.answers) > down, "the scraper was answered before and after"
    assert scraper.refused > 0, "the scraper polled while no process listened"
    for status, text, samples in scraper.answers:
        assert status == 200, text[:500]
        assert samples is not None and text.endswith("\n"), f"a cut or unparseable body: {text[-300:]!r}"
        assert all(f"# TYPE {family} " in text for family in FAMILIES), text[:500]
    first, last = scraper.answers[0][2], scraper.answers[-1][2]
    assert first is not None and last is not None
    assert start_time(last) > start_time(first) > 0
    listed = 'seqstore_requests_total{operation="ListSequenceStores",status="200"}'
    assert first[listed] >= 5
    assert last[listed] == 1, "the new process counts from zero; its start time says so"


ADMIN_URL = POSTGRES_URL.replace("postgresql+psycopg", "postgresql")


def test_a_scrape_while_the_database_is_down_answers_and_says_so(tmp_path: Path) -> None:
    """PostgreSQL refusing connections (restarting, say): the scrape still answers 200 with the
    request counters and `seqstore_database_up 0` and logs a line saying why; the job worker logs
    one line for the outage and one when it ends, the scrub a line a try, no tracebacks; when the database is back,
    `seqstore_database_up 1` and the queue depth again."""
    name = f"seqstore_down_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with running(Server(tmp_path / "data", {"SEQSTORE_DATABASE_URL": url, "SEQSTORE_SCRUB_INTERVAL": "1"})) as server:
            make_client(server.url).list_sequence_stores()
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            time.sleep(1.5)  # past the pool's idle ping (seqstore/db/engine.py)
            down = requests.get(f"{server.url}/metrics", timeout=10)
            assert down.status_code == 200, down.text[:500]
            samples = parse(down.text)
            assert samples["seqstore_database_up"] == 0
            assert samples['seqstore_requests_total{operation="ListSequenceStores",status="200"}'] == 1
            assert not any(key.startswith(("seqstore_jobs_runnable{", "seqstore_scrub_")) for key in samples)
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            up = parse(requests.get(f"{server.url}/metrics", timeout=10).text)
            assert up["seqstore_database_up"] == 1
            deadline = time.monotonic() + 10
            while "the database answers again" not in server.logs() and time.monotonic() < deadline:
                time.sleep(0.1)
            logs = server.logs()
            assert "/metrics: the queue depth and scrub figures are missing: the database did not answer" in logs
            assert logs.count("jobs wait until it does") == 1, logs[-3000:]
            assert "the database answers again; jobs run" in logs
            assert "Traceback" not in logs, logs[-3000:]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

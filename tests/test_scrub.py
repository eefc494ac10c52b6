"""The background scrub (SEQSTORE_SCRUB_INTERVAL; docs/operations.md, "Background scrub"): on a live
server, a changed byte, a truncated blob and a removed blob are each found by the worker's next
pass, logged once and counted in /metrics while GetReadSetMetadata stays as it was; restored,
they are resolved; a file without a recorded MD5 gets one; off by default. On the store's state
(the domain of a live server's data, in this process): one worker scrubs at a time, a killed
worker's pass resumes from its cursor, the scrub yields to busy job threads; the throttle on a
fake clock."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from seqstore.config import Settings
from seqstore.db import schema as t
from seqstore.db.engine import Database
from seqstore.jobs.runners import build_worker
from seqstore.jobs.scrub import Scrubber
from seqstore.server import build_domain
from seqstore.store.domain import Domain
from seqstore.store.verify import Throttle
from tests.helpers.clients import make_client
from tests.helpers.fasta import fasta_bytes, random_sequences
from tests.helpers.fastq import fastq_text
from tests.helpers.names import ACCOUNT
from tests.helpers.prometheus_text import parse
from tests.helpers.readsets import ingest, read_set_files
from tests.helpers.references import import_fasta
from tests.helpers.servers import Server, running
from tests.helpers.stored import read_blob, remove_blob, write_blob


def scrape(server: Server) -> dict[str, float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    return parse(response.text)


def eventually(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def database(server: Server) -> Database:
    return Database(server.extra_env.get("SEQSTORE_DATABASE_URL") or f"sqlite:///{server.data_dir / 'seqstore.db'}")


def findings(server: Server) -> dict[str, float]:
    samples = scrape(server)
    return {kind: samples[f'seqstore_scrub_findings{{kind="{kind}"}}'] for kind in ("read_set", "reference")}


def passes_after(server: Server, count: float, timeout: float = 60) -> float:
    """Wait for a pass to complete after `count` complete ones; the new count."""
    return float(eventually(lambda: (n := scrape(server)["seqstore_scrub_passes_total"]) > count and n,
                            timeout, f"a scrub pass after {count}"))  # fmt: skip


def stored_data(server: Server) -> dict[str, Any]:
    omics = make_client(server.url)
    reference_store = omics.create_reference_store(name="scrub")["id"]
    reference = import_fasta(omics, server, reference_store, fasta_bytes(random_sequences({"chr1": 2000}, seed=3)),
                             "genome")  # fmt: skip
    store_id = omics.create_sequence_store(name="scrub")["id"]
    read_sets = [ingest(omics, store_id, "FASTQ", fastq_text(200, seed=seed))["id"] for seed in (11, 12, 13)]
    return {"omics": omics, "store_id": store_id, "read_sets": read_sets, "reference": reference["id"],
            "reference_store": reference_store}  # fmt: skip


def source_key(server: Server, store_id: str, read_set_id: str) -> str:
    (key,) = [k for k in read_set_files(server, store_id, read_set_id) if k.endswith("_source1.fastq.gz")]
    return key


@pytest.fixture(scope="module")
def scrubbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server scrubbing every second (at the default rate), with a reference and three read sets."""
    server = Server(tmp_path_factory.mktemp("scrub") / "data", {"SEQSTORE_SCRUB_INTERVAL": "1"}, log_level="info")
    with running(server):
        yield {"server": server, **stored_data(server)}


def test_corrupted_blobs_are_found_logged_once_and_counted_then_resolved(scrubbed: dict[str, Any]) -> None:
    server, omics, store_id = scrubbed["server"], scrubbed["omics"], scrubbed["store_id"]
    passes_after(server, 0)
    assert findings(server) == {"read_set": 0, "reference": 0}
    changed_id, truncated_id, _ = scrubbed["read_sets"]
    changed, truncated = source_key(server, store_id, changed_id), source_key(server, store_id, truncated_id)
    reference_id = scrubbed["reference"]
    (index,) = [k for k in server.blob_keys(f"{ACCOUNT}/referenceStore/{scrubbed['reference_store']}/reference/"
                                             f"{reference_id}") if k.endswith(".fai")]  # fmt: skip
    metadata = {i: omics.get_read_set_metadata(sequenceStoreId=store_id, id=i) for i in (changed_id, truncated_id)}
    originals = {key: read_blob(server, key) for key in (changed, truncated, index)}
    data = bytearray(originals[changed])
    data[len(data) // 2] ^= 0x01  # the same length: only the MD5 tells
    try:
        write_blob(server, changed, bytes(data))
        write_blob(server, truncated, originals[truncated][:-10])
        remove_blob(server, index)
        eventually(lambda: findings(server) == {"read_set": 2, "reference": 1}, what="three findings")
        passes_after(server, passes_after(server, scrape(server)["seqstore_scrub_passes_total"]))
        assert findings(server) == {"read_set": 2, "reference": 1}  # still open, not counted again
        warnings = [line for line in server.logs().splitlines() if " WARNING seqstore.scrub " in line]
        size = len(originals[truncated])
        assert len(warnings) == 3, warnings  # one line per problem, whatever the passes since
        assert any(f"read set {changed_id} (sequence store {store_id}) source1: blob {changed}: the MD5 of its "
                   "bytes is" in line and "(the bytes changed)" in line for line in warnings), warnings
        assert any(f"read set {truncated_id} (sequence store {store_id}) source1: blob {truncated} has {size - 10}"
                   f" bytes, the database records {size}" in line for line in warnings), warnings
        assert any(f"reference {reference_id} (reference store {scrubbed['reference_store']}) index: blob {index} "
                   "is missing" in line for line in warnings), warnings  # fmt: skip
        for read_set_id, before in metadata.items():  # the API's model has no such state
            after = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
            before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
            assert after == before
        db = database(server)
        try:
            with db.read() as connection:
                rows = connection.execute(select(t.scrub_findings).where(t.scrub_findings.c.resolved_at.is_(None)))
                open_rows = {(r.subject_kind, r.subject_id, r.file, r.store_id) for r in rows}
        finally:
            db.dispose()
        assert open_rows == {("read set", changed_id, "source1", store_id), ("read set", truncated_id, "source1", store_id),
                             ("reference", reference_id, "index", scrubbed["reference_store"])}  # fmt: skip
    finally:
        for key, original in originals.items():
            write_blob(server, key, original)
    eventually(lambda: findings(server) == {"read_set": 0, "reference": 0}, what="the findings resolved")
    log = server.logs()
    for subject in (f"read set {changed_id}", f"read set {truncated_id}", f"reference {reference_id}"):
        assert any(subject in line and "is fine again" in line for line in log.splitlines()), subject
    before = scrape(server)  # a pass that starts after this one checks all 4 subjects (the first may
    # have started before the fixture stored them all)
    passes_after(server, passes_after(server, before["seqstore_scrub_passes_total"]))
    samples = scrape(server)
    assert samples["seqstore_scrub_subjects_total"] - before["seqstore_scrub_subjects_total"] >= 4
    assert samples["seqstore_scrub_bytes_total"] > before["seqstore_scrub_bytes_total"]
    assert abs(samples["seqstore_scrub_last_pass_completed_timestamp_seconds"] - time.time()) < 60


def test_a_file_without_a_recorded_md5_gets_it_recorded(scrubbed: dict[str, Any]) -> None:
    server, store_id = scrubbed["server"], scrubbed["store_id"]
    read_set_id = scrubbed["read_sets"][2]
    expected = hashlib.md5(read_blob(server, source_key(server, store_id, read_set_id))).hexdigest()
    files = t.read_set_files.c
    db = database(server)
    try:
        with db.write() as connection:  # as a file stored before migration 0010 has it
            connection.execute(update(t.read_set_files).where(files.read_set_id == read_set_id).values(md5=None))

        def recorded() -> str | None:
            with db.read() as connection:
                return connection.execute(select(files.md5).where(files.read_set_id == read_set_id,
                                                                  files.file == "source1")).scalar_one()  # fmt: skip

        assert eventually(recorded, what="the MD5 recorded") == expected
    finally:
        db.dispose()
    assert findings(server) == {"read_set": 0, "reference": 0}


def test_the_scrub_is_off_by_default(tmp_path: Path) -> None:
    off = domain_of(Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path / 'd.db'}"))
    assert build_worker(off, 1).services == []
    off.db.dispose()
    with running(Server(tmp_path / "data")) as server:
        stored_data(server)  # jobs ran: the worker is up
        time.sleep(3)  # what a scrub every second would have used for three passes
        samples = scrape(server)
        assert samples["seqstore_scrub_passes_total"] == 0 and samples["seqstore_scrub_subjects_total"] == 0
        assert samples["seqstore_scrub_running"] == 0
        assert "seqstore_scrub_last_pass_completed_timestamp_seconds" not in samples
        db = database(server)
        try:
            with db.read() as connection:
                assert connection.execute(select(t.scrub_state)).all() == []
        finally:
            db.dispose()


# --- The scrub's state, on the data of a live server whose own scrub is off


def domain_of(settings: Settings) -> Domain:
    return build_domain(settings)


LEASE = 2.0  # the scrub lease of these tests' workers, in seconds


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running(Server(tmp_path_factory.mktemp("scrub-state") / "data")) as server:
        yield {"server": server, **stored_data(server)}


@pytest.fixture
def domain(quiet: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Domain]:
    """A domain of this process on the quiet server's database and blobs (its scrub state cleared)."""
    server = quiet["server"]
    for name, value in server.extra_env.items():
        monkeypatch.setenv(name, value)
    made = domain_of(Settings(data_dir=server.data_dir, scrub_interval=3600.0, job_lease_seconds=LEASE))
    with made.db.write() as connection:
        connection.execute(t.scrub_findings.delete())
        connection.execute(t.scrub_state.delete())
    yield made
    made.db.dispose()


def test_one_worker_scrubs_at_a_time_and_a_killed_workers_pass_resumes_from_its_cursor(domain: Domain) -> None:
    first = Scrubber(domain, owner="first")
    assert first.run_pass(limit=2) is True  # then "killed": its lease is not freed
    assert first.verifier.summary.read_sets == 2 and first.verifier.summary.references == 0
    with domain.db.read() as connection:
        (state,) = connection.execute(select(t.scrub_state)).all()
    assert (state.lease_owner, state.cursor_kind, state.passes) == ("first", "read set", 0)
    second = Scrubber(domain, owner="second")
    assert second.run_pass() is False  # the first one's lease holds
    time.sleep(LEASE + 0.1)  # it expires (SEQSTORE_JOB_LEASE_SECONDS)
    assert second.run_pass() is True
    # The rest of the pass, not all of it again: one read set after the cursor and the reference.
    assert (second.verifier.summary.read_sets, second.verifier.summary.references) == (1, 1)
    metrics = domain.scrub.metrics()
    assert (metrics["passes"], metrics["subjects"], metrics["running"]) == (1, 4, False)
    assert metrics["bytes"] == first.verifier.summary.bytes + second.verifier.summary.bytes > 0
    assert Scrubber(domain, owner="third").run_pass() is False  # the next is due in an hour


def test_a_dead_processs_lease_is_taken_at_once(domain: Domain) -> None:
    dead = f"{socket.gethostname()}:4194305:dead"  # above pid_max: no such process
    assert Scrubber(domain, owner=dead).run_pass(limit=1) is True
    alive = Scrubber(domain)  # this process's
    assert alive.run_pass(limit=1) is True  # no wait for the dead one's lease to expire
    assert alive.verifier.summary.read_sets == 1
    assert Scrubber(domain, owner="late").run_pass() is False  # a live process's lease holds


def test_the_scrub_waits_while_every_job_thread_is_busy(domain: Domain) -> None:
    stop = threading.Event()
    looked: list[float] = []

    def busy() -> bool:
        looked.append(time.monotonic())
        if len(looked) >= 2:
            stop.set()
        return True

    scrubber = Scrubber(domain, owner="busy", busy=busy)
    assert scrubber.run_pass(stop) is True
    assert scrubber.verifier.summary.read_sets == 0 and len(looked) >= 2  # nothing read while jobs ran
    assert Scrubber(domain, owner="idle").run_pass(limit=1) is False  # its lease holds: it stopped mid-pass
    time.sleep(LEASE + 0.1)
    idle = Scrubber(domain, owner="idle")
    assert idle.run_pass() is True and idle.verifier.summary.read_sets == 3  # the whole pass, from the start


def test_a_problem_is_checked_again_before_it_is_recorded(quiet: dict[str, Any], domain: Domain) -> None:
    """A read set deleted while it is checked is no finding (its blobs went first)."""
    server, omics, store_id = quiet["server"], quiet["omics"], quiet["store_id"]
    read_set_id = ingest(omics, store_id, "FASTQ", fastq_text(100, seed=21))["id"]
    scrubber = Scrubber(domain, owner="recheck")
    (subject,) = [s for s in scrubber.verifier.page("read set", 0, 100) if s.id == read_set_id]
    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set_id])
    eventually(lambda: not read_set_files(server, store_id, read_set_id), what="its blobs removed")
    assert scrubber.check(subject) == [] and domain.scrub.open_findings() == []


def test_the_throttle_keeps_to_its_rate_on_a_fake_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(1000.0, burst=1.0, clock=lambda: now[0], sleep=sleep)
    throttle.consume(500)
    assert slept == [0.5]
    now[0] += 0.1  # reading took 0.1 s
    throttle.consume(500)
    assert slept == [0.5, pytest.approx(0.4)]  # 1000 bytes in 1 s
    now[0] += 60  # idle a minute: only a second of it is saved up
    throttle.consume(1000)
    assert len(slept) == 2
    throttle.consume(1000)
    assert slept[2:] == [pytest.approx(1.0)]
    unbounded = Throttle(None, clock=lambda: now[0], sleep=sleep)
    unbounded.consume(10**12)
    assert len(slept) == 3


def test_the_scrub_reads_at_the_configured_rate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path / 'd.db'}", scrub_interval=60.0,
                        scrub_rate=2.5)
    domain = domain_of(settings)
    try:
        assert Scrubber(domain).verifier.throttle.rate == 2.5e6  # MB/s, in bytes
        assert len(build_worker(domain, 1).services) == 1
    finally:
        domain.db.dispose()


def test_two_seqstore_worker_processes_share_the_scrub_and_log_a_problem_once(tmp_path: Path) -> None:
    """`seqstore worker` runs the scrub too; with two of them (and an API without a worker) the
    passes go on and a corrupted blob is one finding, logged by one of them once."""
    import os
    import subprocess
    import sys

    from tests.helpers.clients import KEY, SECRET
    from tests.helpers.paths import ROOT

    server = Server(tmp_path / "data", {"SEQSTORE_SCRUB_INTERVAL": "1", "SEQSTORE_CONCURRENCY": "1"},
                    options=("--no-worker",))  # fmt: skip
    server.data_dir.mkdir(parents=True)
    env = {**os.environ, "SEQSTORE_ACCESS_KEY_ID": KEY, "SEQSTORE_SECRET_ACCESS_KEY": SECRET, **server.extra_env}
    logs = [tmp_path / f"worker-{i}.log" for i in (1, 2)]
    outputs = [log.open("wb") for log in logs]
    with running(server):
        workers = [
            subprocess.Popen([sys.executable, "-m", "seqstore.cli", "worker", "--data-dir", str(server.data_dir),
                              "--log-level", "info"], env=env, stdout=output, stderr=subprocess.STDOUT,
                             cwd=ROOT)  # fmt: skip
            for output in outputs
        ]
        try:
            data = stored_data(server)  # the workers ingest it
            store_id, read_set_id = data["store_id"], data["read_sets"][0]
            passes_after(server, scrape(server)["seqstore_scrub_passes_total"])
            key = source_key(server, store_id, read_set_id)
            original = read_blob(server, key)
            write_blob(server, key, original[:-1])
            try:
                eventually(lambda: findings(server) == {"read_set": 1, "reference": 0}, what="the finding")
                passes_after(server, passes_after(server, scrape(server)["seqstore_scrub_passes_total"]))
            finally:
                write_blob(server, key, original)
            eventually(lambda: findings(server) == {"read_set": 0, "reference": 0}, what="the finding resolved")
        finally:
            for worker, output in zip(workers, outputs, strict=True):
                worker.terminate()
                worker.wait(timeout=30)
                output.close()
    texts = [log.read_text() for log in logs]
    warnings = [line for text in texts for line in text.splitlines() if " WARNING seqstore.scrub " in line]
    assert len(warnings) == 1 and f"read set {read_set_id} " in warnings[0], warnings
    assert all("Traceback" not in text for text in texts), texts


def test_an_archived_read_sets_files_are_read_where_archiving_moved_them(domain: Domain) -> None:
    (read_set_id,) = domain.lifecycle.archive_idle(0, limit=1)
    try:
        domain.read_set_objects.move_files(read_set_id, archived=True)
        scrubber = Scrubber(domain, owner="archive")
        (subject,) = [s for s in scrubber.verifier.page("read set", 0, 100) if s.id == read_set_id]
        assert subject.row.status == "ARCHIVED"
        assert scrubber.check(subject) == [] and domain.scrub.open_findings() == []
        assert scrubber.verifier.summary.bytes == sum(length for _, length, _ in subject.files.values()) > 0
    finally:
        domain.read_set_objects.move_files(read_set_id, archived=False)
        domain.lifecycle.finish_activation(read_set_id)

"""`seqstore backup` while the server serves and writes, `seqstore restore` into a new data dir,
a server started on it, and every file verified (`seqstore verify`). On SQLite with local blobs
in both suite runs (the commands refuse PostgreSQL and S3, tested below)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.helpers.clients import make_client
from tests.helpers.commands import seqstore_cli
from tests.helpers.fastq import fastq_text
from tests.helpers.readsets import ingest, upload
from tests.helpers.servers import Server, running
from tests.helpers.stored import data_command

LOCAL = {"SEQSTORE_DATABASE_URL": "", "SEQSTORE_BLOB_URL": ""}  # SQLite and DATA_DIR/blobs


def test_a_backup_under_write_load_restores_into_a_server_whose_files_all_verify(tmp_path: Path) -> None:
    with running(Server(tmp_path / "data", LOCAL)) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="backup")["id"]
        before = [ingest(omics, store_id, "FASTQ", fastq_text(200, seed=seed))["id"] for seed in range(3)]
        stop, written, errors = threading.Event(), [], []

        def load() -> None:  # uploads through boto3 the whole time the backup runs
            client = make_client(server.url)
            seed = 100
            while not stop.is_set():
                try:
                    written.append(upload(client, store_id, "FASTQ", fastq_text(300, seed=seed)))
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                seed += 1

        writer = threading.Thread(target=load)
        writer.start()
        try:
            while len(written) < 3:  # the load is running
                threading.Event().wait(0.05)
            backups = [data_command(server, "backup", str(tmp_path / f"backup{i}")) for i in range(3)]
        finally:
            stop.set()
            writer.join()
        assert errors == []
        for done in backups:
            assert done.returncode == 0, done.stderr
            assert "hard-linked" in done.stdout, done.stdout
        assert len(written) > 3
        originals = {r["id"]: r for page in omics.get_paginator("list_read_sets").paginate(sequenceStoreId=store_id)
                     for r in page["readSets"]}

    restored = Server(tmp_path / "restored", LOCAL)
    done = data_command(restored, "restore", str(tmp_path / "backup2"))
    assert done.returncode == 0, done.stderr
    with running(restored):
        omics = make_client(restored.url)
        found = {r["id"]: r for page in omics.get_paginator("list_read_sets").paginate(sequenceStoreId=store_id)
                 for r in page["readSets"]}
        assert set(before) <= set(found) <= set(originals)
        assert len(found) > len(before)  # the backup caught some of the load's read sets
        for read_set_id, read_set in found.items():
            if read_set["status"] == "ACTIVE":
                assert read_set == originals[read_set_id] | {"status": "ACTIVE"}
        done = data_command(restored, "verify", "--deep")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "no problems" in done.stdout
        # The restored server serves and writes.
        assert ingest(omics, store_id, "FASTQ", fastq_text(50, seed=9))["status"] == "ACTIVE"


def test_restore_into_a_non_empty_data_dir_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    with running(Server(tmp_path / "data", LOCAL)) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="backup")["id"]
        ingest(omics, store_id, "FASTQ", fastq_text(100, seed=1))
        assert data_command(server, "backup", str(tmp_path / "backup")).returncode == 0
        again = data_command(server, "backup", str(tmp_path / "backup"))
        assert again.returncode == 1 and "is not empty" in again.stderr
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    done = data_command(server, "restore", str(tmp_path / "backup"), data_dir=target)
    assert done.returncode == 1, done.stdout
    assert "is not empty" in done.stderr and "nothing was changed" in done.stderr
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if "restoring" in p.name) == []
    done = data_command(server, "restore", str(tmp_path / "nothing-here"), data_dir=tmp_path / "new")
    assert done.returncode == 1 and "is not a seqstore backup" in done.stderr


def test_backup_and_restore_refuse_postgresql_and_s3_saying_what_to_use(tmp_path: Path) -> None:
    for command, target in (("backup", "dest"), ("restore", "src")):
        done = seqstore_cli(command, "--data-dir", str(tmp_path), "--database-url",
                            "postgresql+psycopg://user@localhost/seqstore", str(tmp_path / target))
        assert done.returncode == 2 and "pg_dump" in done.stderr, done.stderr
    done = seqstore_cli("backup", "--data-dir", str(tmp_path), "--blob-url", "s3://bucket/data",
                        str(tmp_path / "dest"))
    assert done.returncode == 2 and "versioning" in done.stderr, done.stderr
    assert not (tmp_path / "dest").exists()

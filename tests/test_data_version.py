"""Database.data_version changes with every commit, from any connection or process, and not
with reads: the response cache relies on both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from seqstore.db.engine import Database


def test_commits_change_the_version_and_reads_do_not(tmp_path: Path) -> None:
    path = tmp_path / "seqstore.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    first = db.data_version()
    assert first is not None
    assert isinstance(first, bytes)  # read from the WAL index, not the pragma fallback
    with db.read() as connection:
        connection.execute(text("SELECT count(*) FROM sequence_stores")).all()
    assert db.data_version() == first

    with db.write() as connection:  # a commit through this process's pool
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
    second = db.data_version()
    assert second != first

    for value in range(3):  # commits by another process, each seen
        subprocess.run(
            [sys.executable, "-c",
             "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "c.execute('INSERT INTO probe VALUES (?)', (int(sys.argv[2]),)); c.commit()",
             str(path), str(value)],
            check=True,
        )
        third = db.data_version()
        assert third != second
        second = third

    with db.write() as connection:  # a transaction that changes nothing commits nothing
        connection.execute(text("SELECT count(*) FROM probe")).all()
    assert db.data_version() == second
    db.dispose()


def test_postgresql_has_no_version() -> None:
    assert Database("postgresql+psycopg://postgres@127.0.0.1:5432/test").data_version() is None

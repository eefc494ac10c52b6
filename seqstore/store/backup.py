"""Online backup and restore of a data dir on SQLite with local blobs.

A backup is a directory laid out as a data dir: `seqstore.db`, a consistent snapshot taken with
SQLite's online backup API while the server serves and writes; `blobs/`, every blob the snapshot
references (read set files, reference files, upload parts), hard-linked where the filesystem
allows and copied otherwise — blobs are immutable once written (written to a temporary file and
renamed into place, never rewritten; seqstore/blobs/local.py), so a link is a copy; and
`master.key`, without which the stored access keys cannot be read. Restoring copies it into an
empty data dir, which a server can then open.

On PostgreSQL and S3 the tools of those systems do this job (docs/operations.md)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import is_out_of_space

DATABASE = "seqstore.db"
MASTER_KEY = "master.key"
BLOB_TABLES = ("read_set_files", "reference_files", "upload_parts")
SNAPSHOT_ATTEMPTS = 5


class BackupError(Exception):
    """A backup or restore that cannot be done; str() says why and what was left untouched."""


@dataclass
class Copied:
    blobs: int = 0
    linked: int = 0
    bytes: int = 0

    def line(self) -> str:
        return f"{self.blobs} blobs ({self.linked} hard-linked, {self.blobs - self.linked} copied, {self.bytes} bytes)"


def sqlite_path(database_url: str) -> Path | None:
    """The file of an SQLite URL, or None for another database."""
    prefix = "sqlite:///"
    return Path(database_url[len(prefix):]) if database_url.startswith(prefix) else None


def _is_empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def backup(database: Path, data_dir: Path, destination: Path) -> Copied:
    """Snapshot `database` and the blobs of `data_dir/blobs` it references into `destination`
    (absent or empty). On failure nothing is left in `destination`."""
    if not _is_empty(destination):
        raise BackupError(f"{destination} is not empty: back up into a new or empty directory")
    if not database.exists():
        raise BackupError(f"there is no database at {database}")
    created = not destination.exists()
    destination.mkdir(parents=True, exist_ok=True)
    try:
        copied = _snapshot_with_blobs(database, data_dir / "blobs", destination)
        if (data_dir / MASTER_KEY).exists():
            shutil.copy2(data_dir / MASTER_KEY, destination / MASTER_KEY)
        return copied
    except BaseException as exc:
        for child in destination.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        if created:
            destination.rmdir()
        if is_out_of_space(exc):
            raise BackupError(
                f"the backup destination {destination} is full ({exc.strerror}); the partial backup was removed"
            ) from None
        raise


def _snapshot_with_blobs(database: Path, blobs: Path, destination: Path) -> Copied:
    """The snapshot and the blobs it references. Upload parts are the only blobs removed in
    normal work (released once their read set is ingested), so they are linked before the
    snapshot as well; should one still be gone, a new snapshot is taken (the blobs linked so far
    are kept: blobs never change)."""
    staged = destination / "blobs"
    parts = blobs / "uploads"
    present = ["/".join((Path(root) / name).relative_to(blobs).parts)
               for root, _, names in os.walk(parts) for name in names if not name.endswith(".tmp")]
    _copy_blobs(present, blobs, staged)
    for _ in range(SNAPSHOT_ATTEMPTS):
        _snapshot(database, destination / DATABASE)
        keys = _referenced_keys(destination / DATABASE)
        missing = _copy_blobs(keys, blobs, staged)
        if not missing:
            break
    else:
        raise BackupError(
            f"{len(missing)} blobs the snapshot references are not in {blobs} (deleted since the "
            f"snapshot; the first is {missing[0]}), in {SNAPSHOT_ATTEMPTS} snapshots; run the backup again"
        )
    wanted = set(keys)
    copied = Copied()
    for key in present:  # parts linked in advance that the snapshot no longer references
        if key not in wanted:
            staged.joinpath(*key.split("/")).unlink(missing_ok=True)
    for key in keys:
        target = staged.joinpath(*key.split("/"))
        copied.blobs += 1
        copied.bytes += target.stat().st_size
        copied.linked += target.stat().st_nlink > 1
    return copied


def _snapshot(database: Path, target: Path) -> None:
    """SQLite's online backup, all pages in one step: a consistent snapshot that writers of the
    live database wait for only while it is copied."""
    source = sqlite3.connect(database)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _referenced_keys(snapshot: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        return sorted({key for table in BLOB_TABLES for (key,) in connection.execute(f"SELECT blob_key FROM {table}")})
    finally:
        connection.close()


def _copy_blobs(keys: list[str], source_root: Path, target_root: Path) -> list[str]:
    """Link (else copy) each blob not already in `target_root`; the keys not found."""
    missing = []
    for key in keys:
        source, target = source_root.joinpath(*key.split("/")), target_root.joinpath(*key.split("/"))
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                os.link(source, target)
            except FileNotFoundError:
                raise
            except OSError:  # another filesystem, or links not allowed: copy
                shutil.copyfile(source, target)
        except FileNotFoundError:
            missing.append(key)
    return missing


def restore(source: Path, data_dir: Path) -> Copied:
    """Copy the backup `source` into `data_dir`, which must be absent or empty; the data dir
    appears complete or not at all (it is filled beside it and renamed into place)."""
    if not (source / DATABASE).is_file():
        raise BackupError(f"{source} is not a seqstore backup (it has no {DATABASE})")
    if not _is_empty(data_dir):
        raise BackupError(f"{data_dir} is not empty: restore into a new or empty data dir (nothing was changed)")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = data_dir.with_name(f".{data_dir.name}.restoring-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        shutil.copyfile(source / DATABASE, staging / DATABASE)
        blobs = source / "blobs"
        keys = ["/".join((Path(root) / name).relative_to(blobs).parts)
                for root, _, names in os.walk(blobs) for name in names]
        missing = _copy_blobs(keys, blobs, staging / "blobs")
        if missing:
            raise BackupError(f"{missing[0]} vanished from the backup while it was restored")
        targets = [staging.joinpath("blobs", *key.split("/")) for key in keys]
        copied = Copied(len(keys), sum(t.stat().st_nlink > 1 for t in targets), sum(t.stat().st_size for t in targets))
        if (source / MASTER_KEY).exists():
            shutil.copyfile(source / MASTER_KEY, staging / MASTER_KEY)
            os.chmod(staging / MASTER_KEY, 0o600)
        with contextlib.suppress(FileNotFoundError):
            data_dir.rmdir()  # empty: checked above
        os.rename(staging, data_dir)
        return copied
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

"""Signing keys: create, list, revoke, and look up for SigV4 verification."""

from __future__ import annotations

import os
import secrets
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import insert, select, update

from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now

CACHE_SECONDS = 5.0  # a revoked key stops working within this time


@dataclass(frozen=True)
class AccessKey:
    """A signing key: its id and secret, and whether it may only read."""

    access_key_id: str
    secret_access_key: str
    read_only: bool = False
    name: str | None = None


class MasterKeyMismatch(Exception):
    """The master key cannot read the secrets stored in the database; str() says what to do."""


def load_master_key(data_dir: Path) -> bytes:
    """The key that encrypts stored secrets: SEQSTORE_MASTER_KEY, else `DATA_DIR/master.key`
    (created with mode 0600 on first use)."""
    configured = os.environ.get("SEQSTORE_MASTER_KEY")
    if configured:
        return configured.encode()
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(Fernet.generate_key())
    return path.read_bytes().strip()


class AccessKeys:
    def __init__(self, db: Database, master_key: bytes, env_key: AccessKey | None = None) -> None:
        self.db = db
        self.fernet = Fernet(master_key)
        self.env_key = env_key
        self._cache: dict[str, tuple[float, AccessKey | None]] = {}
        self._lock = threading.Lock()

    def check_master_key(self) -> None:
        """Raise MasterKeyMismatch unless this process's master key decrypts the stored secrets
        (every API process of a deployment needs the same SEQSTORE_MASTER_KEY; with another one,
        no request signed with a stored key could be verified)."""
        with self.db.read() as connection:
            row = connection.execute(
                select(t.access_keys.c.access_key_id, t.access_keys.c.secret_encrypted).limit(1)
            ).first()
        if row is None:
            return
        try:
            self.fernet.decrypt(row.secret_encrypted.encode())
        except InvalidToken:
            raise MasterKeyMismatch(
                f"the master key cannot decrypt the stored secret of access key {row.access_key_id}: "
                "every process of a deployment needs the SEQSTORE_MASTER_KEY (or DATA_DIR/master.key) "
                "the keys in this database were created with"
            ) from None

    def create(self, *, name: str | None = None, read_only: bool = False) -> AccessKey:
        key = AccessKey(
            access_key_id="SQ"
            + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(18)),
            secret_access_key=secrets.token_urlsafe(30),
            read_only=read_only,
            name=name,
        )
        with self.db.write() as connection:
            connection.execute(
                insert(t.access_keys).values(
                    access_key_id=key.access_key_id,
                    name=name,
                    read_only=read_only,
                    creation_time=now(),
                    secret_encrypted=self.fernet.encrypt(key.secret_access_key.encode()).decode(),
                )
            )
        return key

    def list_keys(self) -> list[dict[str, Any]]:
        with self.db.read() as connection:
            rows = connection.execute(select(t.access_keys).order_by(t.access_keys.c.creation_time)).all()
        return [
            {
                "accessKeyId": r.access_key_id,
                "name": r.name,
                "readOnly": r.read_only,
                "created": r.creation_time,
                "revoked": r.revoked_time,
            }
            for r in rows
        ]

    def revoke(self, access_key_id: str) -> bool:
        with self.db.write() as connection:
            result = connection.execute(
                update(t.access_keys)
                .where(t.access_keys.c.access_key_id == access_key_id, t.access_keys.c.revoked_time.is_(None))
                .values(revoked_time=now())
            )
        with self._lock:
            self._cache.pop(access_key_id, None)
        return bool(result.rowcount)

    def count_active(self) -> int:
        with self.db.read() as connection:
            return len(
                connection.execute(
                    select(t.access_keys.c.access_key_id).where(t.access_keys.c.revoked_time.is_(None))
                ).all()
            )

    def lookup(self, access_key_id: str) -> AccessKey | None:
        """The active key with this id (cached briefly: verification runs on every request)."""
        if self.env_key is not None and access_key_id == self.env_key.access_key_id:
            return self.env_key
        moment = time.monotonic()
        with self._lock:
            cached = self._cache.get(access_key_id)
        if cached is not None and moment - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.db.read() as connection:
            row = connection.execute(
                select(t.access_keys).where(
                    t.access_keys.c.access_key_id == access_key_id, t.access_keys.c.revoked_time.is_(None)
                )
            ).first()
        key = None
        if row is not None:
            key = AccessKey(
                row.access_key_id,
                self.fernet.decrypt(row.secret_encrypted.encode()).decode(),
                row.read_only,
                row.name,
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (moment, key)
        return key

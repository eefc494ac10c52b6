"""S3 access policies of sequence and reference stores, keyed by the store's access point ARN
(the same form for both: docs/s3.md, "Names"): put (checked by s3_policy.parse, which refuses
what the S3 plane could not evaluate), get, delete, and the parsed policy the S3 plane evaluates
on every request (docs/s3.md, "Access policies"), cached for CACHE_SECONDS: a change is seen at
once by the process that made it, within that time by the others (SEQSTORE_API_PROCESSES)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import delete, insert, select

from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now
from ..errors import ResourceNotFoundException, ValidationException
from . import s3_policy
from .s3_policy import Policy

MAX_POLICY_BYTES = 15 * 1024  # fixed quota (docs/behaviour.md, "Quotas")
CACHE_SECONDS = 5.0
# What a stored policy that this version cannot evaluate (put by an older seqstore, which only
# checked it was JSON) becomes: one that allows nothing, until it is put again or deleted.
ALLOWS_NOTHING = Policy("", ())

log = logging.getLogger("seqstore.s3")


class S3AccessPolicies:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._cache: dict[str, tuple[float, Policy | None]] = {}
        self._lock = threading.Lock()

    def access_point(self, store_id: str) -> str:
        settings = self.settings
        return f"arn:aws:s3:{settings.region}:{settings.account_id}:accesspoint/{settings.account_id}-{store_id}"

    def _store_id(self, connection: Any, arn: str) -> str:
        """The store whose access point `arn` names, or ResourceNotFoundException."""
        return self._store(connection, arn)[0]

    def _store(self, connection: Any, arn: str) -> tuple[str, str]:
        """The store whose access point `arn` names and its type (SEQUENCE_STORE or
        REFERENCE_STORE), or ResourceNotFoundException."""
        settings = self.settings
        prefix = f"arn:aws:s3:{settings.region}:{settings.account_id}:accesspoint/{settings.account_id}-"
        store_id = arn[len(prefix) :] if arn.startswith(prefix) else ""
        if store_id.isdigit():
            for table, store_type in ((t.sequence_stores, "SEQUENCE_STORE"), (t.reference_stores, "REFERENCE_STORE")):
                if connection.execute(select(table.c.id).where(table.c.id == store_id)).first() is not None:
                    return store_id, store_type
        raise ResourceNotFoundException(f"No store has the S3 access point {arn}")

    def put(self, arn: str, policy: str) -> dict[str, Any]:
        if len(policy.encode()) > MAX_POLICY_BYTES:
            raise ValidationException(f"'s3AccessPolicy': at most {MAX_POLICY_BYTES} bytes")
        with self.db.write() as connection:
            store_id, store_type = self._store(connection, arn)
            s3_policy.parse(policy, arn, self.settings.account_id)  # ValidationException naming the statement
            connection.execute(
                delete(t.s3_access_policies).where(t.s3_access_policies.c.s3_access_point_arn == arn)
            )
            connection.execute(
                insert(t.s3_access_policies).values(
                    s3_access_point_arn=arn,
                    store_id=store_id,
                    store_type=store_type,
                    policy=policy,
                    update_time=now(),
                )
            )
        self._forget(store_id)
        return {"s3AccessPointArn": arn, "storeId": store_id, "storeType": store_type}

    def get(self, arn: str) -> dict[str, Any]:
        with self.db.read() as connection:
            self._store_id(connection, arn)
            row = connection.execute(
                select(t.s3_access_policies).where(t.s3_access_policies.c.s3_access_point_arn == arn)
            ).first()
        if row is None:
            raise ResourceNotFoundException(f"No S3 access policy is set on {arn}")
        return {
            "s3AccessPointArn": arn,
            "storeId": row.store_id,
            "storeType": row.store_type,
            "updateTime": row.update_time,
            "s3AccessPolicy": row.policy,
        }

    def delete(self, arn: str) -> dict[str, Any]:
        with self.db.write() as connection:
            store_id = self._store_id(connection, arn)
            result = connection.execute(
                delete(t.s3_access_policies).where(t.s3_access_policies.c.s3_access_point_arn == arn)
            )
        self._forget(store_id)
        if not result.rowcount:
            raise ResourceNotFoundException(f"No S3 access policy is set on {arn}")
        return {}

    def cached(self, store_id: str) -> tuple[bool, Policy | None]:
        """(True, the store's policy or None) if it was read within CACHE_SECONDS, else (False,
        None): then `load` it (this answers without I/O, on the event loop)."""
        with self._lock:
            found = self._cache.get(store_id)
        if found is not None and time.monotonic() - found[0] < CACHE_SECONDS:
            return True, found[1]
        return False, None

    def load(self, store_id: str) -> Policy | None:
        """The parsed policy of a store's access point (None: no policy is set), read now."""
        moment = time.monotonic()
        with self.db.read() as connection:
            text = connection.execute(
                select(t.s3_access_policies.c.policy).where(t.s3_access_policies.c.store_id == store_id)
            ).scalar()
        policy = None
        if text is not None:
            try:
                policy = s3_policy.parse(text, self.access_point(store_id), self.settings.account_id)
            except ValidationException as exc:
                log.warning("the S3 access policy of store %s allows nothing until it is put again: %s",
                            store_id, exc)
                policy = ALLOWS_NOTHING
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[store_id] = (moment, policy)
        return policy

    def _forget(self, store_id: str) -> None:
        with self._lock:
            self._cache.pop(store_id, None)

"""S3 access policies of sequence and reference stores, keyed by the store's access point ARN
(the same form for both: docs/s3.md, "Names"). seqstore records and returns them; it does not
enforce them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select

from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now
from ..errors import ResourceNotFoundException, ValidationException

MAX_POLICY_BYTES = 15 * 1024  # fixed quota (docs/behaviour.md, "Quotas")


class S3AccessPolicies:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

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
        try:
            json.loads(policy)
        except ValueError as exc:
            raise ValidationException(f"'s3AccessPolicy': not valid JSON ({exc})") from None
        with self.db.write() as connection:
            store_id, store_type = self._store(connection, arn)
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
            self._store_id(connection, arn)
            result = connection.execute(
                delete(t.s3_access_policies).where(t.s3_access_policies.c.s3_access_point_arn == arn)
            )
        if not result.rowcount:
            raise ResourceNotFoundException(f"No S3 access policy is set on {arn}")
        return {}

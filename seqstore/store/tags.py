"""Tags on sequence stores, read sets, reference stores and references."""

from __future__ import annotations

from typing import Any

import regex
from sqlalchemy import Connection, delete, insert, select

from ..db import schema as t
from ..protocol.errors import (
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from .context import StoreContext

MAX_TAGS_PER_RESOURCE = 50
# Letters, digits, white space and _ . : / = + - @ (UG:tagging).
TAG_TEXT = regex.compile(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*")


class Tags:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    @staticmethod
    def check_tags(tags: dict[str, str]) -> None:
        """Raise ValidationException for a tag the service would refuse."""
        for key, value in tags.items():
            if key.lower().startswith("aws:"):
                raise ValidationException(f"'tags': the key {key!r} uses the reserved prefix 'aws:'")
            if not TAG_TEXT.fullmatch(key):
                raise ValidationException(
                    f"'tags': the key {key!r} has characters outside letters, digits, spaces and _.:/=+-@"
                )
            if not TAG_TEXT.fullmatch(value):
                raise ValidationException(
                    f"'tags.{key}': the value has characters outside letters, digits, spaces and _.:/=+-@"
                )
        if len(tags) > MAX_TAGS_PER_RESOURCE:
            raise ValidationException(f"'tags': at most {MAX_TAGS_PER_RESOURCE} tags, got {len(tags)}")

    def require_resource(self, connection: Connection, arn: str) -> None:
        """Raise ResourceNotFoundException unless `arn` names an existing taggable resource."""
        words = self.ctx.arns.parse(arn)
        found = False
        if words is not None:
            if len(words) == 2 and words[0] == "sequenceStore":
                found = _exists(
                    connection, select(t.sequence_stores.c.id).where(t.sequence_stores.c.id == words[1])
                )
            elif len(words) == 4 and words[0] == "sequenceStore" and words[2] == "readSet":
                found = _exists(
                    connection,
                    select(t.read_sets.c.id).where(
                        t.read_sets.c.id == words[3],
                        t.read_sets.c.sequence_store_id == words[1],
                        t.read_sets.c.status.not_in(("DELETING", "DELETED")),
                    ),
                )
            elif len(words) == 2 and words[0] == "referenceStore":
                found = _exists(
                    connection, select(t.reference_stores.c.id).where(t.reference_stores.c.id == words[1])
                )
            elif len(words) == 4 and words[0] == "referenceStore" and words[2] == "reference":
                found = _exists(
                    connection,
                    select(t.references.c.id).where(
                        t.references.c.id == words[3],
                        t.references.c.reference_store_id == words[1],
                        t.references.c.status != "DELETED",
                    ),
                )
        if not found:
            raise ResourceNotFoundException(f"No taggable resource has the ARN {arn}")

    def put(self, connection: Connection, arn: str, tags: dict[str, str]) -> None:
        """Add or replace tags of a resource, keeping within the per-resource limit."""
        if not tags:
            return
        existing = self.get(connection, arn)
        merged = {**existing, **tags}
        if len(merged) > MAX_TAGS_PER_RESOURCE:
            raise ServiceQuotaExceededException(
                f"The resource would have {len(merged)} tags; at most {MAX_TAGS_PER_RESOURCE} are allowed"
            )
        connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(tags))))
        connection.execute(
            insert(t.tags), [{"resource_arn": arn, "key": k, "value": v} for k, v in tags.items()]
        )

    @staticmethod
    def get(connection: Connection, arn: str) -> dict[str, str]:
        rows = connection.execute(select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == arn))
        return {row.key: row.value for row in rows}

    @staticmethod
    def remove_all(connection: Connection, arn: str) -> None:
        connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))

    # API operations

    def tag_resource(self, arn: str, tags: dict[str, str]) -> dict[str, Any]:
        self.check_tags(tags)
        with self.ctx.db.write() as connection:
            self.require_resource(connection, arn)
            self.put(connection, arn, tags)
        self._propagate(arn)
        return {}

    def untag_resource(self, arn: str, keys: list[str]) -> dict[str, Any]:
        with self.ctx.db.write() as connection:
            self.require_resource(connection, arn)
            if keys:
                connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(keys)))
        self._propagate(arn)
        return {}

    def _propagate(self, arn: str) -> None:
        """A read set's tags changed: its objects' tags follow (spec §14)."""
        words = self.ctx.arns.parse(arn)
        if words is not None and len(words) == 4 and words[0] == "sequenceStore" and words[2] == "readSet":
            self.ctx.read_sets.apply_object_tags(words[3])

    def list_tags(self, arn: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            self.require_resource(connection, arn)
            return {"tags": self.get(connection, arn)}


def _exists(connection: Connection, query: Any) -> bool:
    return connection.execute(query.limit(1)).first() is not None

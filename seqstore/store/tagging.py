"""TagResource, UntagResource and ListTagsForResource on any taggable resource. A read set's tag
change reaches its objects' tags (docs/behaviour.md, "Object tags")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..db import schema as t
from ..db.engine import Database
from ..errors import ResourceNotFoundException
from . import tags
from .arns import Arns
from .read_set_objects import ReadSetObjects


class Tagging:
    def __init__(self, db: Database, arns: Arns, objects: ReadSetObjects) -> None:
        self.db = db
        self.arns = arns
        self.objects = objects

    def require_resource(self, connection: Connection, arn: str) -> None:
        """Raise ResourceNotFoundException unless `arn` names an existing taggable resource."""
        words = self.arns.parse(arn) or []
        query: Any = None
        if len(words) == 2 and words[0] == "sequenceStore":
            query = select(t.sequence_stores.c.id).where(t.sequence_stores.c.id == words[1])
        elif len(words) == 4 and words[0] == "sequenceStore" and words[2] == "readSet":
            c = t.read_sets.c
            query = select(c.id).where(
                c.id == words[3], c.sequence_store_id == words[1], c.status.not_in(("DELETING", "DELETED"))
            )
        elif len(words) == 2 and words[0] == "referenceStore":
            query = select(t.reference_stores.c.id).where(t.reference_stores.c.id == words[1])
        elif len(words) == 4 and words[0] == "referenceStore" and words[2] == "reference":
            c = t.references.c
            query = select(c.id).where(c.id == words[3], c.reference_store_id == words[1], c.status != "DELETED")
        if query is None or connection.execute(query.limit(1)).first() is None:
            raise ResourceNotFoundException(f"No taggable resource has the ARN {arn}")

    def tag_resource(self, arn: str, new_tags: dict[str, str]) -> dict[str, Any]:
        tags.check_tags(new_tags)
        with self.db.write() as connection:
            self.require_resource(connection, arn)
            tags.put(connection, arn, new_tags)
        self._propagate(arn)
        return {}

    def untag_resource(self, arn: str, keys: list[str]) -> dict[str, Any]:
        with self.db.write() as connection:
            self.require_resource(connection, arn)
            tags.remove(connection, arn, keys)
        self._propagate(arn)
        return {}

    def list_tags(self, arn: str) -> dict[str, Any]:
        with self.db.read() as connection:
            self.require_resource(connection, arn)
            return {"tags": tags.get(connection, arn)}

    def _propagate(self, arn: str) -> None:
        """A read set's tags changed: its objects' tags follow."""
        words = self.arns.parse(arn)
        if words is not None and len(words) == 4 and words[0] == "sequenceStore" and words[2] == "readSet":
            self.objects.apply_object_tags(words[3])

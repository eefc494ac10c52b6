"""Tag rows of sequence stores, read sets, reference stores and references: the checks the
service makes on tags and the reads and writes every resource uses. The Tag/Untag/List calls
are in tagging.py."""

from __future__ import annotations

import regex
from sqlalchemy import Connection, delete, insert, select

from ..db import schema as t
from ..errors import ServiceQuotaExceededException, ValidationException

MAX_TAGS_PER_RESOURCE = 50
# Letters, digits, white space and _ . : / = + - @ (docs/behaviour.md, "Tags").
TAG_TEXT = regex.compile(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*")


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


def put(connection: Connection, arn: str, tags: dict[str, str]) -> None:
    """Add or replace tags of a resource, keeping within the per-resource limit."""
    if not tags:
        return
    existing = get(connection, arn)
    merged = {**existing, **tags}
    if len(merged) > MAX_TAGS_PER_RESOURCE:
        raise ServiceQuotaExceededException(
            f"The resource would have {len(merged)} tags; at most {MAX_TAGS_PER_RESOURCE} are allowed"
        )
    connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(tags))))
    connection.execute(insert(t.tags), [{"resource_arn": arn, "key": k, "value": v} for k, v in tags.items()])


def get(connection: Connection, arn: str) -> dict[str, str]:
    rows = connection.execute(select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == arn))
    return {row.key: row.value for row in rows}


def remove(connection: Connection, arn: str, keys: list[str]) -> None:
    if keys:
        connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(keys)))


def remove_all(connection: Connection, *arns: str) -> None:
    """Drop every tag of these resources."""
    connection.execute(delete(t.tags).where(t.tags.c.resource_arn.in_(arns)))


def remove_below(connection: Connection, arn: str) -> None:
    """Drop the tags of a store and of everything in it (ARNs that start with the store's)."""
    connection.execute(delete(t.tags).where(t.tags.c.resource_arn.startswith(arn + "/")))
    connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))

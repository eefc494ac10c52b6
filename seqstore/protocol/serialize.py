"""Serialize handler output by the operation's output shape, and errors as botocore reads them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any



def format_timestamp(value: datetime) -> str:
    """UTC, milliseconds, `Z` (wire-protocol.md §4.2)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def serialize_value(shape: Any, value: Any) -> Any:
    """Return the JSON form of `value` for `shape`: members outside the shape and `None` values
    are dropped, timestamps formatted, blobs base64-encoded."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        return {
            name: serialize_value(members[name], item)
            for name, item in value.items()
            if item is not None and name in members
        }
    if kind == "list":
        return [serialize_value(shape.member, item) for item in value]
    if kind == "map":
        return {key: serialize_value(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return format_timestamp(value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return value


def serialize_output(shape: Any, output: dict[str, Any]) -> bytes:
    """Return the JSON body for a structure output."""
    if shape is None:
        return b"{}"
    return json.dumps(serialize_value(shape, output), separators=(",", ":")).encode()


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}).encode()

"""Serialize handler output by the operation's output shape, and errors as botocore reads them.

Each shape gets a serializer function built once from the model (botocore-style: data drives
the code, but the walk over the model happens once per shape, not once per value)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

Serializer = Callable[[Any], Any]


@lru_cache(maxsize=16384)
def format_timestamp(value: datetime) -> str:
    """UTC, milliseconds, `Z` (docs/behaviour.md, "Timestamps on the wire"). Cached: lists show the same stores' and
    read sets' times again and again (a hit costs a tenth of formatting)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _identity(value: Any) -> Any:
    return value


def _blob(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@cache
def serializer_for(shape: Any) -> Serializer:
    """The function turning a value of `shape` into its JSON form: members outside the shape
    and `None` values are dropped, timestamps formatted, blobs base64-encoded."""
    kind = shape.type_name
    if kind == "structure":
        members = {name: serializer_for(member) for name, member in shape.members.items()}
        # Members whose JSON form is their value (strings, numbers, booleans): no call for them.
        plain = frozenset(name for name, convert in members.items() if convert is _identity)
        converted = {name: convert for name, convert in members.items() if convert is not _identity}

        def structure(value: dict[str, Any]) -> dict[str, Any]:
            result = {}
            for name, item in value.items():
                if item is not None:
                    if name in plain:
                        result[name] = item
                    else:
                        convert = converted.get(name)
                        if convert is not None:
                            result[name] = convert(item)
            return result

        return structure
    if kind == "list":
        item = serializer_for(shape.member)
        return (lambda value: list(value)) if item is _identity else (lambda value: [item(v) for v in value])
    if kind == "map":
        item = serializer_for(shape.value)
        return (
            (lambda value: dict(value))
            if item is _identity
            else (lambda value: {k: item(v) for k, v in value.items()})
        )
    if kind == "timestamp":
        return format_timestamp
    if kind == "blob":
        return _blob
    return _identity


def serialize_output(shape: Any, output: dict[str, Any]) -> bytes:
    """Return the JSON body for a structure output."""
    if shape is None:
        return b"{}"
    return json.dumps(serializer_for(shape)(output), separators=(",", ":")).encode()


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}).encode()

"""The operations the fuzzer exercises, as seqstore reads them from botocore's omics model, and
how it walks an operation's input shapes (paths of members, list items and map keys)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seqstore.protocol.model import storage_operations
from seqstore.protocol.parsing import payload_member

OPERATIONS = list(storage_operations())  # in the model's order


class MapKey:
    """A path step naming a map's key (its own shape) rather than a value."""

    def __repr__(self) -> str:
        return "{key}"


MAP_KEY = MapKey()
PLACEHOLDER_KEY = "fuzz-key"


class Delete:
    """A value standing for "leave the member out"."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETE = Delete()


def child(shape: Any, step: Any) -> Any:
    if shape.type_name == "structure":
        return shape.members[step]
    if shape.type_name == "list":
        return shape.member
    if shape.type_name == "map":
        return shape.key if step is MAP_KEY else shape.value
    raise KeyError(step)


def walk(shape: Any, path: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, shape) under `shape`, list items as index 0 and map values under PLACEHOLDER_KEY."""
    if depth > 6:
        return
    if path:
        yield path, shape
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            yield from walk(member, (*path, name), depth + 1)
    elif shape.type_name == "list":
        yield from walk(shape.member, (*path, 0), depth + 1)
    elif shape.type_name == "map":
        yield (*path, MAP_KEY), shape.key
        yield from walk(shape.value, (*path, PLACEHOLDER_KEY), depth + 1)


def location(op: Any, path: tuple[Any, ...]) -> str:
    """Where the member at `path` travels: "uri", "querystring", "header" or "body"."""
    member = op.input_shape.members[path[0]]
    return "body" if len(path) > 1 else member.serialization.get("location", "body")


def bindings(op: Any) -> dict[str, tuple[str, str]]:
    """member -> (location, wire name)."""
    result = {}
    for name, member in op.input_shape.members.items():
        result[name] = (member.serialization.get("location", "body"), member.serialization.get("name", name))
    return result


def has_required_body(op: Any) -> bool:
    """True when a JSON body member is required (a streamed payload is not a JSON body)."""
    shape = op.input_shape
    payload = payload_member(op)
    return shape is not None and any(
        "location" not in shape.members[name].serialization and name != payload
        for name in shape.required_members)

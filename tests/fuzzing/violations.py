"""Values that break the model: each rule of a shape violated in turn (required, enum, lengths,
pattern, ranges, list and map sizes, the kinds test_protocol.py names), and values of the wrong
type for where a member travels."""

from __future__ import annotations

import random
from typing import Any

from tests.fuzzing.model import DELETE, location
from tests.fuzzing.values import compiled, valid_value


def violations(shape: Any, op: Any, path: tuple[Any, ...], parent: Any) -> list[tuple[str, Any]]:
    """(kind, value) pairs: each breaks one rule of `shape`. DELETE removes the member."""
    found: list[tuple[str, Any]] = []
    meta = shape.metadata
    where = location(op, path)
    name = path[-1]
    if parent.type_name == "structure" and name in parent.required_members:
        in_query_list = where == "querystring" and shape.type_name == "list"
        if not in_query_list:
            found.append(("required", DELETE))
    kind = shape.type_name
    enum = getattr(shape, "enum", None) if kind == "string" else None
    if enum:
        found += [("enum", "NOT_A_VALUE"), ("enum", str(enum[0]).lower() + "x"), ("enum", f" {enum[0]}")]
    elif kind == "string":
        low, high = meta.get("min"), meta.get("max")
        pattern = meta.get("pattern")
        if low:
            found.append(("min-length", _length_string(shape, low - 1)))
        if high is not None and high < 200_000:
            found.append(("max-length", _length_string(shape, high + 1)))
        if pattern:
            for bad in ("12345abcde", "not-an-arn-\x07", "bad\x01value", "s3:/no", "\ud800\ud800"):
                if compiled(pattern).fullmatch(bad) is None and (low or 0) <= len(bad) <= (high or 10**9):
                    found.append(("pattern", bad))
                    break
    elif kind in ("integer", "long"):
        if meta.get("min") is not None:
            found.append(("range-min", meta["min"] - 1))
        if meta.get("max") is not None:
            found.append(("range-max", meta["max"] + 1))
    elif kind in ("list", "map"):
        if meta.get("min"):
            found.append((f"{kind}-min", [] if kind == "list" else {}))
        if meta.get("max") is not None and meta["max"] < 5000:
            count = meta["max"] + 1
            if kind == "list":
                found.append(("list-max", [_any_valid(shape.member) for _ in range(count)]))
            else:
                found.append(("map-max", {f"k{i}": _any_valid(shape.value) for i in range(count)}))
    return found


def _length_string(shape: Any, length: int) -> str:
    pattern = shape.metadata.get("pattern")
    for candidate in ("1" * length, "a" * length, ("arn:" + "a" * length)[:length],
                      ("s3://fuzz-bucket/" + "a" * length)[:length]):
        if not pattern or compiled(pattern).fullmatch(candidate):
            return candidate
    return "a" * length


def _any_valid(shape: Any) -> Any:
    return valid_value(shape, random.Random(0), "us-east-1", {}, 5)


def wrong_types(shape: Any, where: str) -> list[Any]:
    """Values of the wrong type for `shape` as it travels in `where`."""
    if where in ("querystring", "header", "uri"):
        if shape.type_name in ("integer", "long"):
            return ["abc", "1.5", "", "1e3", "0x10", " 7", "+5", "٣", "9" * 30, "true"]
        if shape.type_name == "boolean":
            return ["yes", "1", ""]
        return ["", "\x00"]
    kind = shape.type_name
    if kind == "string":
        return [123, 1.5, True, [], {}, ["a"], {"a": "b"}, -0.0]
    if kind in ("integer", "long"):
        return ["12", 1.5, True, [], {}, 1e300, "", 10**40]
    if kind == "boolean":
        return ["true", 1, 0, [], {}]
    if kind == "timestamp":
        return [True, [], {}, "yesterday", "2026-13-45T25:61:61Z", 1e300, -1e300, "9" * 40, "", "NaN"]
    if kind == "structure":
        return ["x", [], 1, True, [{}]]
    if kind == "list":
        return ["x", {}, 1, True, "[]"]
    if kind == "map":
        return ["x", [], 1, True, [["k", "v"]]]
    return ["x", 1]

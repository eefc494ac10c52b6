"""Check input values against the model's shapes: types, required members, lengths, ranges,
enums and patterns. botocore checks only `required`, types and `min` on the client side
(docs/behaviour.md, "Server-side validation"); everything else must be checked here."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import regex

from ..errors import ValidationException

_SURROGATE = regex.compile("[\ud800-\udfff]")


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_timestamp(value: Any) -> datetime:
    """Parse a timestamp as botocore sends it (ISO 8601 with or without fractions) or as epoch
    seconds; return an aware UTC datetime. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), tz=UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class Validator:
    """Collects every violation of one input, then raises one ValidationException naming them."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(f"'{path}': {message}")

    def check(self, shape: Any, value: Any, path: str) -> Any:
        """Return `value` converted to its Python form (timestamps parsed), recording errors."""
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, value, path)
        if kind == "list":
            return self._list(shape, value, path)
        if kind == "map":
            return self._map(shape, value, path)
        if kind == "string":
            return self._string(shape, value, path)
        if kind in ("integer", "long"):
            return self._integer(shape, value, path)
        if kind == "boolean":
            if not isinstance(value, bool):
                self.fail(path, f"expected a boolean, got {_show(value)}")
            return value
        if kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(path, f"expected a number, got {_show(value)}")
            return value
        if kind == "timestamp":
            try:
                return parse_timestamp(value)
            except (ValueError, OverflowError, OSError):
                self.fail(path, f"expected an ISO 8601 timestamp, got {_show(value)}")
                return None
        return value  # blobs are passed through as received

    def _structure(self, shape: Any, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path or "body", f"expected a JSON object, got {_show(value)}")
            return None
        members = shape.members
        result: dict[str, Any] = {}
        for name, item in value.items():
            member = members.get(name)
            if member is None:
                self.fail(_path(path, name), f"unknown member; expected one of {sorted(members)}")
                continue
            if item is None:
                continue
            result[name] = self.check(member, item, _path(path, name))
        for name in shape.required_members:
            if name not in result:
                self.fail(_path(path, name), "member is required")
        return result

    def _list(self, shape: Any, value: Any, path: str) -> list[Any] | None:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_show(value)}")
            return None
        self._length(shape, len(value), path, "items")
        return [self.check(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]

    def _map(self, shape: Any, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"expected a JSON object, got {_show(value)}")
            return None
        self._length(shape, len(value), path, "entries")
        result = {}
        for key, item in value.items():
            self.check(shape.key, key, f"{path} key {_show(key)}")
            result[key] = self.check(shape.value, item, f"{path}.{key}")
        return result

    def _string(self, shape: Any, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_show(value)}")
            return value
        if _SURROGATE.search(value):
            # JSON's \ud800-style escapes can make one; it has no UTF-8 form to store or compare.
            self.fail(path, "is not valid Unicode text: it has an unpaired surrogate (\\ud800-\\udfff)")
            return value
        enum = shape.enum
        if enum and value not in enum:
            self.fail(path, f"value {_show(value)} is not one of {list(enum)}")
            return value
        self._length(shape, len(value), path, "characters")
        pattern = shape.metadata.get("pattern")
        if pattern and not _pattern(pattern).fullmatch(value):
            self.fail(path, f"value {_show(value)} does not match the pattern {pattern}")
        return value

    def _integer(self, shape: Any, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_show(value)}")
            return value
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(path, f"value {value} is less than the minimum {low}")
        elif high is not None and value > high:
            self.fail(path, f"value {value} is greater than the maximum {high}")
        return value

    def _length(self, shape: Any, length: int, path: str, unit: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(path, f"must have at least {low} {unit}, has {length}")
        elif high is not None and length > high:
            self.fail(path, f"must have at most {high} {unit}, has {length}")

    def raise_if_failed(self) -> None:
        if self.errors:
            count = len(self.errors)
            noun = "error" if count == 1 else "errors"
            raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(self.errors))


def validate(shape: Any, value: dict[str, Any]) -> dict[str, Any]:
    """Return the validated, converted input of `shape`, or raise ValidationException."""
    validator = Validator()
    result = validator.check(shape, value, "")
    validator.raise_if_failed()
    return result or {}

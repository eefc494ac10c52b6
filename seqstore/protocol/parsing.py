"""Turn an HTTP request into an operation's input dict, using the model's bindings:
URI labels, query-string members, header members, a JSON body or a streaming payload."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel

from ..errors import ValidationException
from .validation import Validator

JSON_CONTENT_TYPES = ("application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1")
# An integer in a query string or header as botocore writes it: ASCII digits (`int()` alone would
# also take " 7", "+5", "1_000" and non-ASCII digits such as "٣").
INTEGER_TEXT = re.compile(r"-?[0-9]+")
MAX_JSON_BODY = 1024 * 1024


@cache  # per operation (the model's objects live as long as the process): both run per request
def payload_member(operation: OperationModel) -> str | None:
    """Return the name of the input member bound to the whole body, if any."""
    shape = operation.input_shape
    return shape.serialization.get("payload") if shape is not None else None


@cache
def has_json_body(operation: OperationModel) -> bool:
    """True when the operation's input has members serialized into a JSON body."""
    shape = operation.input_shape
    if shape is None or payload_member(operation):
        return False
    return any("location" not in m.serialization for m in shape.members.values())


def parse_query(raw_query: str) -> dict[str, list[str]]:
    """Split a raw query string into decoded names and their values, in order. `+` stays a
    literal plus: botocore encodes spaces as %20 (docs/behaviour.md, "Query strings")."""
    result: dict[str, list[str]] = {}
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        result.setdefault(unquote(name), []).append(unquote(value))
    return result


def _scalar(shape: Any, text: str, where: str, validator: Validator) -> Any:
    """Convert a query or header string to the member's type."""
    if shape.type_name in ("integer", "long"):
        try:
            if INTEGER_TEXT.fullmatch(text) is None:
                raise ValueError(text)
            return int(text)  # ValueError too past 4300 digits
        except ValueError:
            validator.fail(where, f"expected an integer, got {text[:60]!r}")
            return None
    if shape.type_name == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        validator.fail(where, f"expected true or false, got {text!r}")
        return None
    return text


def content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise ValidationException(f"Content-Length {value!r} is not a number") from None
    if length < 0:
        raise ValidationException("Content-Length must not be negative")
    return length


def parse_body(body: bytes, headers: dict[str, str], expects_json: bool) -> dict[str, Any]:
    """The JSON members of a small body; an empty body is no members when none are expected."""
    if not body.strip() and not expects_json:
        return {}
    return parse_body_json(body, headers.get("content-type"))


def parse_body_json(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a JSON request body (empty means `{}`), or raise ValidationException."""
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in JSON_CONTENT_TYPES:
            raise ValidationException(
                f"Content-Type {media_type!r} is not supported; send the body as application/json"
            )
    if not body.strip():
        return {}
    try:
        # Decoded as UTF-8 first: json.loads(bytes) would also take UTF-16 and UTF-32 bodies.
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationException(f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValidationException("The request body is not valid JSON: it is nested too deeply") from None
    if not isinstance(value, dict):
        raise ValidationException("The request body must be a JSON object")
    return value


def collect_input(
    operation: OperationModel,
    labels: dict[str, str],
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: dict[str, Any],
) -> tuple[dict[str, Any], Validator]:
    """Gather the raw input of `operation` from every location, converting query and header
    strings to their member types. Returns the input and a validator holding any errors so far."""
    validator = Validator()
    shape: Any = operation.input_shape
    data: dict[str, Any] = {}
    if shape is None:
        return data, validator
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                data[name] = labels[wire_name]
        elif location == "querystring":
            values = query.get(wire_name)
            if values is None:
                # botocore sends an empty list as no parameter at all (UntagResource tagKeys=[]).
                if member.type_name == "list" and name in shape.required_members:
                    data[name] = []
                continue
            if member.type_name == "list":
                data[name] = [_scalar(member.member, v, wire_name, validator) for v in values]
            else:
                if len(values) > 1:
                    validator.fail(wire_name, "query parameter given more than once")
                data[name] = _scalar(member, values[0], wire_name, validator)
        elif location == "header":
            value = headers.get(wire_name.lower())
            if value is not None:
                data[name] = _scalar(member, value, wire_name, validator)
    for name, value in body.items():
        member = shape.members.get(name)
        if member is not None and "location" in member.serialization:
            validator.fail(name, f"must be sent in the {member.serialization['location']}, not the body")
            continue
        data[name] = value
    return data, validator

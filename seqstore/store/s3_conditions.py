"""The Condition element of S3 access policies (docs/s3.md, "Access policies"): the operators and
condition keys this server evaluates, each checked once when the policy is put, and IAM's rules
for a request that lacks a key (false, except for negated operators, `...IfExists` and `Null`).
Pure: no I/O."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# The condition keys (matched case-insensitively, as IAM does) and the type of their values.
KEYS = {
    "aws:sourceip": "ip",
    "aws:securetransport": "bool",
    "aws:principalarn": "arn",
    "s3:authtype": "string",
    "s3:signatureversion": "string",
    "s3:signatureage": "number",
    "s3:prefix": "string",
    "s3:delimiter": "string",
    "s3:max-keys": "number",
}
KEY_NAMES = (
    "aws:SourceIp, aws:SecureTransport, aws:PrincipalArn, s3:authType, s3:signatureversion, "
    "s3:signatureAge, s3:prefix, s3:delimiter, s3:max-keys"
)
# Operator → (family, negated). Families each key type takes: FAMILIES.
OPERATORS = {
    "StringEquals": ("string", False), "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string-ci", False), "StringNotEqualsIgnoreCase": ("string-ci", True),
    "StringLike": ("like", False), "StringNotLike": ("like", True),
    "NumericEquals": ("==", False), "NumericNotEquals": ("==", True),
    "NumericLessThan": ("<", False), "NumericLessThanEquals": ("<=", False),
    "NumericGreaterThan": (">", False), "NumericGreaterThanEquals": (">=", False),
    "Bool": ("bool", False),
    "IpAddress": ("ip", False), "NotIpAddress": ("ip", True),
    "ArnEquals": ("arn", False), "ArnLike": ("arn", False), "ArnNotEquals": ("arn", True), "ArnNotLike": ("arn", True),
}
FAMILIES = {
    "string": {"string", "string-ci", "like"},
    "arn": {"arn", "string", "string-ci", "like"},
    "number": {"==", "<", "<=", ">", ">="},
    "bool": {"bool"},
    "ip": {"ip"},
}
NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` any one; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@dataclass(frozen=True)
class Condition:
    """One key under one operator: true when the request's value matches any of the values
    (none of them, for a negated operator)."""

    key: str  # lower-case
    negated: bool
    if_exists: bool
    null: bool | None  # Null's value: true means "the request lacks the key"
    test: Callable[[str], bool]

    def holds(self, keys: Mapping[str, str]) -> bool:
        value = keys.get(self.key)
        if self.null is not None:
            return (value is None) == self.null
        if value is None:
            return self.if_exists or self.negated
        return self.test(value) != self.negated


def parse_conditions(block: Any, refuse: Callable[[str], Exception]) -> tuple[Condition, ...]:
    """The conditions of a statement's Condition element; `refuse(message)` is raised for any
    operator, key or value this module does not evaluate."""
    if not isinstance(block, dict):
        raise refuse("Condition must be an object of operators")
    found = []
    for operator, keys in block.items():
        if not isinstance(keys, dict) or not keys:
            raise refuse(f"Condition {operator!r} must be an object of condition keys and values")
        for name, raw in keys.items():
            found.append(_condition(operator, str(name), raw, refuse))
    return tuple(found)


def _condition(operator: str, name: str, raw: Any, refuse: Callable[[str], Exception]) -> Condition:
    where = f"Condition {operator} {name!r}"
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        raise refuse(f"{where}: set operators are not supported (every key here has a single value)")
    key_type = KEYS.get(name.lower())
    if key_type is None:
        raise refuse(f"{where}: the condition key is not supported (supported: {KEY_NAMES})")
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str | int | float) for v in values):
        raise refuse(f"{where}: the value must be a string, number or boolean, or a non-empty list of them")
    texts = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in values]
    if any("${" in text for text in texts):
        raise refuse(f"{where}: policy variables (${{...}}) are not supported")
    if operator == "Null":
        if len(texts) != 1 or texts[0].lower() not in ("true", "false"):
            raise refuse(f"{where}: Null takes one value, true or false")
        return Condition(name.lower(), False, False, texts[0].lower() == "true", _never)
    base = operator.removesuffix("IfExists")
    if base not in OPERATORS:
        raise refuse(
            f"Condition operator {operator!r} is not supported (String*, Numeric*, Bool, IpAddress, NotIpAddress, "
            "Arn*, their ...IfExists forms, and Null)"
        )
    family, negated = OPERATORS[base]
    if family not in FAMILIES[key_type]:
        raise refuse(f"{where}: {name} is a {key_type} key; {base} does not apply to it")
    try:
        test = _test(family, texts)
    except ValueError as exc:
        raise refuse(f"{where}: {exc}") from None
    return Condition(name.lower(), negated, base != operator, None, test)


def _never(value: str) -> bool:
    return False


def _test(family: str, texts: list[str]) -> Callable[[str], bool]:
    """A test of a request's value against `texts` (any of them), or ValueError for a bad one."""
    if family == "string":
        exact = frozenset(texts)
        return lambda value: value in exact
    if family == "string-ci":
        folded = frozenset(t.casefold() for t in texts)
        return lambda value: value.casefold() in folded
    if family == "like":
        patterns = [wildcard(t) for t in texts]
        return lambda value: any(p.fullmatch(value) for p in patterns)
    if family == "bool":
        if any(t.lower() not in ("true", "false") for t in texts):
            raise ValueError("Bool takes true or false")
        wanted = frozenset(t.lower() for t in texts)
        return lambda value: value in wanted
    if family == "ip":
        try:
            networks = [ipaddress.ip_network(t, strict=False) for t in texts]
        except ValueError:
            raise ValueError("the values must be IP addresses or CIDR ranges (e.g. 10.0.0.0/8)") from None
        return lambda value: _in_networks(value, networks)
    if family == "arn":
        arns = [_arn_segments(t) for t in texts]
        return lambda value: _arn_matches(value, arns)
    try:
        numbers = [float(t) for t in texts]
    except ValueError:
        raise ValueError("the values must be numbers") from None
    compare = NUMERIC[family]
    return lambda value: _numeric(value, numbers, compare)


def _in_networks(value: str, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _arn_segments(text: str) -> tuple[re.Pattern[str], ...]:
    """An ARN pattern as ArnLike reads it: six colon-separated parts, each matched on its own."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"{text!r} is not an ARN (arn:partition:service:region:account:resource)")
    return tuple(wildcard(part) for part in parts)


def _arn_matches(value: str, arns: list[tuple[re.Pattern[str], ...]]) -> bool:
    parts = value.split(":", 5)
    return len(parts) == 6 and any(all(p.fullmatch(v) for p, v in zip(arn, parts, strict=True)) for arn in arns)


def _numeric(value: str, numbers: list[float], compare: Callable[[float, float], bool]) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return any(compare(number, n) for n in numbers)

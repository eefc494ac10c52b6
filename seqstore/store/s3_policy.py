"""S3 access policies as this server understands them (docs/s3.md, "Access policies"): parsed and
checked once into frozen statements, then evaluated against each S3 request's context with IAM's
rule — an explicit Deny wins, else a matching Allow, else no match. Pure: no I/O.

Whatever the evaluator would not understand is refused by `parse` with a ValidationException that
names the statement (its index and Sid) and the element, never ignored."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationException
from .s3_conditions import Condition, parse_conditions, wildcard

VERSION = "2012-10-17"
# The actions the S3 plane serves (all reads): HeadObject is s3:GetObject, HeadBucket and the
# listings s3:ListBucket, as on S3.
SERVED_ACTIONS = ("s3:GetObject", "s3:GetObjectTagging", "s3:ListBucket", "s3:GetBucketLocation")
POLICY_ELEMENTS = frozenset(("Version", "Id", "Statement"))
STATEMENT_ELEMENTS = frozenset(("Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "NotResource",
                                "Condition"))
ACCOUNT = re.compile(r"\d{12}")
USER_NAME = re.compile(r"[^*?]{1,255}")  # a key's name as stored: any text but wildcards


class Decision(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"  # an explicit Deny
    NO_MATCH = "NoMatch"  # no statement applies: an implicit deny


@dataclass(frozen=True)
class RequestContext:
    """What a policy is evaluated against: who asks (the principal's ARN), the action, the
    resource's ARN, and the condition keys the request has (lower-case names; absent if it has
    not that key)."""

    principal: str
    action: str
    resource: str
    keys: Mapping[str, str]


@dataclass(frozen=True)
class Statement:
    label: str  # `Statement[1] (Sid "x")`: what log lines and messages call it
    allow: bool
    principals: frozenset[str]  # "*", the account root ARN, user ARNs
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    def applies(self, context: RequestContext, root: str) -> bool:
        if not ("*" in self.principals or root in self.principals or context.principal in self.principals):
            return False
        if any(p.fullmatch(context.action) for p in self.actions) == self.not_action:
            return False
        if any(p.fullmatch(context.resource) for p in self.resources) == self.not_resource:
            return False
        return all(condition.holds(context.keys) for condition in self.conditions)


@dataclass(frozen=True)
class Policy:
    root: str  # arn:aws:iam::{account}:root: names every key of the account
    statements: tuple[Statement, ...]

    def evaluate(self, context: RequestContext) -> tuple[Decision, Statement | None]:
        """The decision and the statement that made it (the first Deny, else the first Allow)."""
        allowed: Statement | None = None
        for statement in self.statements:
            if statement.applies(context, self.root):
                if not statement.allow:
                    return Decision.DENY, statement
                allowed = allowed or statement
        return (Decision.ALLOW, allowed) if allowed else (Decision.NO_MATCH, None)


def principal_arn(account_id: str, key_name: str | None) -> str:
    """The ARN a policy names a key by (docs/s3.md, "Access policies"): `user/{key_name}` (the
    key's name, or its id when it has none), or the account root for a request that no key signed
    (`--auth none`)."""
    return f"arn:aws:iam::{account_id}:user/{key_name}" if key_name else f"arn:aws:iam::{account_id}:root"


def parse(text: str, access_point: str, account_id: str) -> Policy:
    """The policy `text` for the access point `access_point`, or ValidationException."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationException(f"'s3AccessPolicy': not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise _invalid("the policy must be a JSON object")
    unknown = sorted(set(document) - POLICY_ELEMENTS)
    if unknown:
        raise _invalid(f"element {unknown[0]!r} is not supported (a policy has Version, Id and Statement)")
    if document.get("Version") != VERSION:
        raise _invalid(f"Version must be {VERSION!r}")
    if "Id" in document and not isinstance(document["Id"], str):
        raise _invalid("Id must be a string")
    raw = document.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise _invalid("Statement must be a statement object or a list of them")
    statements, sids = [], set()
    for index, item in enumerate(raw):
        statement = _statement(index, item, access_point, account_id)
        sid = item.get("Sid")
        if sid is not None and sid in sids:
            raise _invalid(f"{statement.label}: the Sid is used by another statement; Sids must be unique")
        sids.add(sid)
        statements.append(statement)
    return Policy(f"arn:aws:iam::{account_id}:root", tuple(statements))


def _invalid(message: str) -> ValidationException:
    return ValidationException(f"'s3AccessPolicy': {message}")


def _statement(index: int, item: Any, access_point: str, account_id: str) -> Statement:
    label = f"Statement[{index}]"
    if not isinstance(item, dict):
        raise _invalid(f"{label} is not a JSON object")
    sid = item.get("Sid")
    if sid is not None:
        if not isinstance(sid, str) or not sid.isprintable() or len(sid) > 128:
            raise _invalid(f"{label}: Sid must be a string of at most 128 printable characters")
        label += f" (Sid {sid!r})"

    def refuse(message: str) -> ValidationException:
        return _invalid(f"{label}: {message}")

    if "NotPrincipal" in item:
        raise refuse("NotPrincipal is not supported (name the principals an Allow or Deny applies to)")
    unknown = sorted(set(item) - STATEMENT_ELEMENTS)
    if unknown:
        raise refuse(f"element {unknown[0]!r} is not supported")
    if item.get("Effect") not in ("Allow", "Deny"):
        raise refuse(f"Effect must be 'Allow' or 'Deny', not {item.get('Effect')!r}")
    if "Principal" not in item:
        raise refuse("Principal is required (an access point policy says whom a statement is for)")
    principals = _principals(item["Principal"], account_id, refuse)
    actions, not_action = _one_of(item, "Action", "NotAction", refuse)
    resources, not_resource = _one_of(item, "Resource", "NotResource", refuse)
    return Statement(
        label,
        item["Effect"] == "Allow",
        principals,
        tuple(_action(a, name, refuse) for name, a in actions),
        not_action,
        tuple(_resource(r, name, access_point, refuse) for name, r in resources),
        not_resource,
        parse_conditions(item.get("Condition", {}), refuse),
    )


def _one_of(item: dict[str, Any], name: str, negated: str, refuse: Any) -> tuple[list[tuple[str, str]], bool]:
    """The patterns of `name` or of `negated` (exactly one must be there), and which it was."""
    if (name in item) == (negated in item):
        raise refuse(f"exactly one of {name} and {negated} is required")
    element = name if name in item else negated
    value = item[element]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise refuse(f"{element} must be a non-empty string or list of strings")
    for v in values:
        if "${" in v:
            raise refuse(f"{element} {v!r}: policy variables (${{...}}) are not supported")
    return [(element, v) for v in values], element == negated


def _principals(value: Any, account_id: str, refuse: Any) -> frozenset[str]:
    if value == "*":
        return frozenset(("*",))
    if not isinstance(value, dict) or not value:
        raise refuse('Principal must be "*" or {"AWS": ...}')
    other = sorted(set(value) - {"AWS"})
    if other:
        raise refuse(f"Principal {other[0]!r} is not supported (only AWS principals: this server's keys)")
    names = value["AWS"] if isinstance(value["AWS"], list) else [value["AWS"]]
    if not names:
        raise refuse("Principal AWS must name at least one principal")
    root = f"arn:aws:iam::{account_id}:root"
    found = set()
    for name in names:
        if not isinstance(name, str):
            raise refuse("Principal AWS must be a string or a list of strings")
        if name == "*":
            found.add("*")
            continue
        account = name if ACCOUNT.fullmatch(name) else None
        match = re.fullmatch(r"arn:aws:iam::(\d{12}):(root|user/(.+))", name)
        if match:
            account = match.group(1)
            if match.group(3) is not None and not USER_NAME.fullmatch(match.group(3)):
                raise refuse(f"Principal {name!r}: a key's name has no wildcards (match names with aws:PrincipalArn)")
        if account is None:
            raise refuse(
                f"Principal {name!r} is not supported: name \"*\", the account ({account_id} or {root}) "
                f"or one key (arn:aws:iam::{account_id}:user/KEYNAME)"
            )
        if account != account_id:
            raise refuse(f"Principal {name!r} names account {account}; every key of this server is of {account_id}")
        found.add(name if match and match.group(3) else root)
    return frozenset(found)


def _action(pattern: str, element: str, refuse: Any) -> re.Pattern[str]:
    service, colon, _ = pattern.partition(":")
    if pattern != "*" and not (colon and service.lower() == "s3"):
        raise refuse(f"{element} {pattern!r}: only s3 actions are supported (the S3 plane's reads)")
    compiled = wildcard(pattern, ignore_case=True)
    if not any(compiled.fullmatch(action) for action in SERVED_ACTIONS):
        raise refuse(
            f"{element} {pattern!r} names no action this read-only access point serves "
            f"({', '.join(SERVED_ACTIONS)})"
        )
    return compiled


def _resource(pattern: str, element: str, access_point: str, refuse: Any) -> re.Pattern[str]:
    """A resource pattern, which must be able to name this access point or objects in it."""
    literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
    inside = literal == access_point or literal.startswith(access_point + "/") or access_point.startswith(literal)
    if pattern != "*" and not inside:
        raise refuse(
            f"{element} {pattern!r} names no resource of this access point: name {access_point} "
            f"(ListBucket) or {access_point}/object/KEY (GetObject), with * and ? as wildcards"
        )
    return wildcard(pattern)

"""The S3 access policy check of every S3 request (docs/s3.md, "Access policies"): the request's
action, resource and condition keys, evaluated against its store's policy after authentication.
With no policy every key of the account may read; with one, a request is served only if a
statement allows it and none denies it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from ..protocol.auth import AccessKey, _amz_seconds
from ..store.s3_access import S3AccessPolicies
from ..store.s3_objects import Bucket
from ..store.s3_policy import Decision, RequestContext, principal_arn
from .errors import access_denied
from .routing import Address

log = logging.getLogger("seqstore.s3")


def action_of(where: Address, method: str, query: dict[str, str]) -> str | None:
    """The S3 action a read is (None: an operation that is refused anyway, NotImplemented)."""
    if where.key:
        return "s3:GetObjectTagging" if "tagging" in query else "s3:GetObject"
    if method == "HEAD":  # HeadBucket
        return "s3:ListBucket"
    if "location" in query:
        return "s3:GetBucketLocation"
    return None if "tagging" in query else "s3:ListBucket"


def request_keys(
    scope: dict[str, Any], headers: dict[str, str], query: dict[str, str], action: str, now: float
) -> dict[str, str]:
    """The condition keys of a request (docs/s3.md, "Access policies"), read from the request as
    the app sees it (the client address uvicorn gives, after trusted X-Forwarded-For)."""
    client = scope.get("client")
    keys = {"aws:securetransport": "true" if scope.get("scheme") == "https" else "false"}
    if client:
        keys["aws:sourceip"] = client[0]
    stamp = None
    if "authorization" in headers:
        keys["s3:authtype"] = "REST-HEADER"
        stamp = headers.get("x-amz-date")
    elif "X-Amz-Algorithm" in query:
        keys["s3:authtype"] = "REST-QUERY-STRING"
        stamp = query.get("X-Amz-Date")
    if stamp is not None:
        keys["s3:signatureversion"] = "AWS4-HMAC-SHA256"
        with contextlib.suppress(ValueError):  # a malformed stamp failed verification already
            keys["s3:signatureage"] = str(max(0, int((now - _amz_seconds(stamp)) * 1000)))
    if action == "s3:ListBucket" and scope["method"] == "GET":
        keys["s3:prefix"] = query.get("prefix", "")
        for name in ("delimiter", "max-keys"):
            if name in query:
                keys[f"s3:{name}"] = query[name]
    return keys


async def authorize(
    policies: S3AccessPolicies, account_id: str, bucket: Bucket, where: Address, key: AccessKey | None,
    scope: dict[str, Any], headers: dict[str, str], query: dict[str, str], now: float | None = None,
) -> None:
    """Raise AccessDenied ("Access Denied", as S3 says it) unless the store's policy lets the
    request through; the log line says which statement decided."""
    action = action_of(where, scope["method"], query)
    if action is None:
        return
    hit, policy = policies.cached(bucket.store_id)
    if not hit:
        policy = await asyncio.to_thread(policies.load, bucket.store_id)
    if policy is None:
        return  # no policy: the account's keys may read (docs/s3.md, "Access policies")
    access_point = policies.access_point(bucket.store_id)
    resource = f"{access_point}/object/{where.key}" if where.key else access_point
    principal = principal_arn(account_id, (key.name or key.access_key_id) if key is not None else None)
    context = RequestContext(
        principal, action, resource, request_keys(scope, headers, query, action, time.time() if now is None else now)
    )
    decision, statement = policy.evaluate(context)
    if decision is not Decision.ALLOW:
        why = f"{statement.label} denies it" if statement is not None else "no statement allows it"
        log.info("s3 access policy of store %s refuses %s on %s to %s: %s", bucket.store_id, action, resource,
                 principal, why)
        raise access_denied("Access Denied")

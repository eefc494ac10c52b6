"""Bearer tokens for the GA4GH interfaces (htsget), which clients authenticate with
`Authorization: Bearer <token>` (htslib from HTS_AUTH_LOCATION, IGV, the htsget client).

A token names the access key it stands for, whether it may only read, and when it expires, and is
signed with a key derived from that access key's secret: it dies when the key is revoked (the
key's lookup then finds nothing) and nobody can forge one without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREFIX = "sqt1"
DEFAULT_LIFETIME = 3600  # seconds
MAX_LIFETIME = 7 * 24 * 3600


class TokenError(Exception):
    """The token cannot be accepted; str() says why."""


@dataclass(frozen=True)
class TokenClaims:
    access_key_id: str
    read_only: bool
    expires: int  # seconds since the epoch


def _signing_key(secret: str) -> bytes:
    return hashlib.sha256(b"seqstore bearer token\n" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(key: Any, *, read_only: bool = False, lifetime: int = DEFAULT_LIFETIME, now: float | None = None) -> str:
    """A token for access key `key` (its id and secret), valid `lifetime` seconds; read-only if
    asked or if the key itself is read-only."""
    if not 0 < lifetime <= MAX_LIFETIME:
        raise TokenError(f"a token lives between 1 second and {MAX_LIFETIME} seconds, not {lifetime}")
    expires = int((time.time() if now is None else now) + lifetime)
    claims = {"k": key.access_key_id, "r": bool(read_only or key.read_only), "e": expires}
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = _b64(hmac.new(_signing_key(key.secret_access_key), body.encode(), hashlib.sha256).digest())
    return f"{PREFIX}.{body}.{signature}"


def verify_token(token: str, lookup: Callable[[str], Any], now: float | None = None) -> TokenClaims:
    """The claims of a valid token, or TokenError saying why it is not valid."""
    try:
        prefix, body, signature = token.split(".")
        if prefix != PREFIX:
            raise ValueError
        claims = json.loads(_unb64(body))
        access_key_id, read_only, expires = str(claims["k"]), bool(claims["r"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise TokenError("the bearer token is malformed (make one with `seqstore keys token`)") from None
    key = lookup(access_key_id)
    if key is None:
        raise TokenError(f"the bearer token's access key {access_key_id} is unknown or revoked")
    expected = _b64(hmac.new(_signing_key(key.secret_access_key), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise TokenError("the bearer token's signature does not match")
    if (time.time() if now is None else now) >= expires:
        raise TokenError("the bearer token has expired (make a new one with `seqstore keys token`)")
    return TokenClaims(access_key_id, read_only or bool(key.read_only), expires)

"""SigV4 in the query string: presigned URLs (docs/s3.md, "Authentication"). The same keys,
scope and signature arithmetic as header signing (auth.py), with the query's X-Amz-* members in
place of the Authorization header and UNSIGNED-PAYLOAD as the payload hash."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from .auth import (
    UNSIGNED_PAYLOAD,
    AccessKey,
    AuthError,
    SigV4Verifier,
    _amz_seconds,
    _parse_head,
    s3_canonical_path,
    s3_canonical_query,
    string_signature,
)

MAX_EXPIRES = 7 * 24 * 3600  # what S3 allows a presigned URL
QUERY_MEMBERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
# A presigned URL is fetched again and again (htslib's ranged GETs of one region query): the
# requests it verified are kept, by everything the signature covers, with the key id, the secret
# it was verified with and the URL's expiry. A hit checks the expiry and that the key still has
# that secret (a revoked key fails as before), and skips the canonical request (~25 µs).
MAX_VERIFIED = 4096
Verified = tuple[str, str, float]  # access key id, its secret, expiry (seconds since the epoch)
_verified: dict[tuple[str, ...], Verified] = {}


def is_presigned(raw_query: str) -> bool:
    return "X-Amz-Algorithm=" in raw_query


def verify_presigned(
    verifier: SigV4Verifier, method: str, raw_path: str, raw_query: str, headers: dict[str, str]
) -> AccessKey:
    """The key that presigned this request, or AuthError (S3's codes: verifier.service is s3)."""
    memo = (verifier.service, verifier.region, method, raw_path, raw_query, headers.get("host", ""))
    seen = _verified.get(memo)
    if seen is not None:
        key_id, secret, expiry = seen
        key = verifier.lookup(key_id) if verifier.now() <= expiry else None
        if key is not None and key.secret_access_key == secret:
            return key
    key, expiry, names = _verify(verifier, method, raw_path, raw_query, headers)
    if names == ("host",):  # a URL whose only signed header is in `memo`
        if len(_verified) >= MAX_VERIFIED:
            _verified.clear()
        _verified[memo] = (key.access_key_id, key.secret_access_key, expiry)
    return key


def _verify(
    verifier: SigV4Verifier, method: str, raw_path: str, raw_query: str, headers: dict[str, str]
) -> tuple[AccessKey, float, tuple[str, ...]]:
    """verify_presigned's checks: the key, the URL's expiry and the names of the signed headers."""
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    missing = [name for name in (*QUERY_MEMBERS, "X-Amz-Expires") if not query.get(name)]
    if missing:
        raise AuthError("AuthorizationQueryParametersError", f"The presigned URL lacks {', '.join(missing)}")
    if query["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise AuthError(
            "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256 (SigV2 is not served)"
        )
    claim = _parse_head(
        f"AWS4-HMAC-SHA256 Credential={query['X-Amz-Credential']}, "
        f"SignedHeaders={query['X-Amz-SignedHeaders']}, Signature="
    )
    if claim.service != verifier.service or claim.region != verifier.region:
        raise AuthError(
            "AuthorizationQueryParametersError",
            f"The credential scope names {claim.region}/{claim.service}; this endpoint is "
            f"{verifier.region}/{verifier.service}",
        )
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        expires = -1
    if not 0 < expires <= MAX_EXPIRES:
        raise AuthError(
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES} (7 days)",
        )
    stamp = query["X-Amz-Date"]
    try:
        signed_at = _amz_seconds(stamp)
    except ValueError:
        raise AuthError("AuthorizationQueryParametersError", "X-Amz-Date is not YYYYMMDDTHHMMSSZ") from None
    if stamp[:8] != claim.date:
        raise AuthError("AuthorizationQueryParametersError", "The credential scope date does not match X-Amz-Date")
    now = verifier.now()
    if now > signed_at + expires:
        raise AuthError("AccessDenied", "Request has expired")
    if signed_at > now + 15 * 60:
        raise AuthError("AccessDenied", "Request is not valid yet: X-Amz-Date is in the future")
    if "host" not in claim.signed_headers:
        raise AuthError("AuthorizationQueryParametersError", "The Host header must be signed")
    key = verifier.lookup(claim.access_key_id)
    if key is None:
        raise AuthError(verifier.unknown_key_code, f"The access key id {claim.access_key_id} is unknown or revoked")
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in claim.names)
    canonical = (
        f"{method.upper()}\n{s3_canonical_path(raw_path)}\n{s3_canonical_query(raw_query)}\n"
        f"{canonical_headers}\n{claim.names_joined}\n{UNSIGNED_PAYLOAD}"
    )
    expected = string_signature(key.secret_access_key, claim, stamp, canonical)
    signature = query["X-Amz-Signature"]
    if not (signature.isascii() and hmac.compare_digest(expected, signature)):
        raise AuthError(
            verifier.mismatch_code,
            "The request signature we calculated does not match the signature you provided: check the "
            "secret access key and that the URL was not changed after it was presigned",
        )
    return key, float(signed_at + expires), tuple(claim.names)

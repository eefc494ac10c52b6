"""AWS Signature Version 4 verification of incoming requests (docs/behaviour.md, "SigV4").

The signature is recomputed from the request exactly as received (raw path, raw query, the
signed headers, the body's hash or the declared payload hash) with the rules of botocore's
signer — its own path normalization, and a test that compares our canonical requests with
botocore's SigV4Auth on generated requests — and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote, unquote

from botocore.utils import normalize_url_path

from .. import native
from ..errors import ServiceError

# Everything before the signature: the same for every request of one client on one day.
AUTHORIZATION_HEAD = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature="
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# The signature arithmetic in C (_sigv4.c), where it was built; SEQSTORE_NATIVE_SIGV4=0 keeps it
# in Python (the tests run both). Asked for once, when this module is first imported (a server
# process follows the switch from its start: seqstore.native's rule).
_native: Any = native.helper("sigv4")


class AccessKey(Protocol):
    """What verification needs of a signing key (seqstore.store.access_keys.AccessKey is one)."""

    @property
    def access_key_id(self) -> str: ...

    @property
    def secret_access_key(self) -> str: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def name(self) -> str | None: ...


class AuthError(ServiceError):
    """403 with a code botocore reports as ClientError (these are not omics shapes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code, status=403)


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~2 µs to build
class Credential:
    """What the Authorization header claims before its signature, parsed, with what is derived
    from it: built once per client and day (see `_parse_head`), not per request."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    names: tuple[str, ...]  # the signed header names as the canonical request lists them
    names_joined: str
    scope: str  # DATE/REGION/SERVICE/aws4_request


def parse_authorization(value: str | None) -> tuple[Credential, str]:
    """What the Authorization header claims: its credential and its signature (whose form is
    checked only when it does not match: a well-formed one is the common case)."""
    if not value:
        raise AuthError(
            "MissingAuthenticationTokenException",
            "The request is not signed: send AWS Signature Version 4 credentials (Authorization header)",
        )
    head, found, signature = value.strip().rpartition("Signature=")
    if not found:
        raise _not_understood()
    return _parse_head(head + found), signature


def _not_understood() -> AuthError:
    return AuthError(
        "IncompleteSignatureException",
        "The Authorization header is not an AWS4-HMAC-SHA256 signature this server understands",
    )


@lru_cache(maxsize=1024)
def _parse_head(head: str) -> Credential:
    """Access key id, date, region, service and signed headers of an Authorization header's part
    before the signature (parsed once: a client sends the same one all day)."""
    match = AUTHORIZATION_HEAD.fullmatch(head)
    if match is None:
        raise _not_understood()
    scope = match.group("credential").split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError(
            "IncompleteSignatureException",
            "The credential scope must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request",
        )
    signed = tuple(match.group("signed").split(";"))
    names = tuple(sorted(set(signed)))
    return Credential(
        scope[0], scope[1], scope[2], scope[3], signed, names, ";".join(names), "/".join(scope[1:])
    )


class SigV4Verifier:
    """Verifies requests against the keys `lookup` finds; returns the key that signed."""

    def __init__(
        self,
        lookup: Callable[[str], AccessKey | None],
        region: str,
        clock: Callable[[], datetime] | None = None,
        service: str = "omics",
    ) -> None:
        self.lookup = lookup
        self.region = region
        # The service the credential scope must name: "omics" (the API) or "s3" (the data plane,
        # whose canonical path and query are S3's: docs/s3.md, "Authentication"), and the codes
        # an unknown key and a wrong signature get in that service's errors.
        self.service = service
        self.s3 = service == "s3"
        self.unknown_key_code = "InvalidAccessKeyId" if self.s3 else "UnrecognizedClientException"
        self.mismatch_code = "SignatureDoesNotMatch" if self.s3 else "InvalidSignatureException"
        # Seconds since the epoch, now (a test may give a clock of its own).
        self.now: Callable[[], float] = (lambda: clock().timestamp()) if clock else time.time

    def verify(
        self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes | None
    ) -> AccessKey:
        """Return the key that signed the request, or raise AuthError saying which check failed.
        `headers` are lower-cased; `body` is None for a streamed body, which must then have signed
        its X-Amz-Content-SHA256 (UploadReadSetPart signs UNSIGNED-PAYLOAD)."""
        claim, signature = parse_authorization(headers.get("authorization"))
        if claim.service != self.service:
            raise AuthError(
                "InvalidSignatureException",
                f"The credential scope names service {claim.service!r}, not {self.service!r}",
            )
        if claim.region != self.region:
            raise AuthError(
                "InvalidSignatureException",
                f"The credential scope names region {claim.region!r}; this server is {self.region!r}",
            )
        key = self.lookup(claim.access_key_id)
        if key is None:
            raise AuthError(
                self.unknown_key_code,
                f"The access key id {claim.access_key_id} is unknown or revoked",
            )
        stamp = headers.get("x-amz-date", "")
        try:
            signed_at = _amz_seconds(stamp)
        except ValueError:
            raise AuthError(
                "IncompleteSignatureException", "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ"
            ) from None
        if abs(self.now() - signed_at) > MAX_SKEW_SECONDS:
            raise AuthError(
                "InvalidSignatureException",
                "Signature expired: X-Amz-Date is more than 15 minutes from the server's time",
            )
        if stamp[:8] != claim.date:
            raise AuthError(
                "InvalidSignatureException", "The credential scope date does not match X-Amz-Date"
            )
        if "host" not in claim.signed_headers:
            raise AuthError("InvalidSignatureException", "The Host header must be signed")
        if body is None and "x-amz-content-sha256" not in claim.signed_headers:
            raise AuthError(
                "InvalidSignatureException",
                "A streamed body must sign its hash (or UNSIGNED-PAYLOAD) in X-Amz-Content-SHA256",
            )
        declared = headers.get("x-amz-content-sha256")
        if declared is not None:
            # The signature covers this header's value instead of the body: a body read whole
            # must have exactly this hash, and a streamed one a hash its reader can check.
            if body is not None and declared != sha256_hex(body):
                raise AuthError(
                    "InvalidSignatureException",
                    "X-Amz-Content-SHA256 must be the SHA-256 of the body (UNSIGNED-PAYLOAD is only "
                    "for UploadReadSetPart), and this body does not have it",
                )
            if body is None and declared != UNSIGNED_PAYLOAD and not SHA256_HEX.fullmatch(declared):
                raise AuthError(
                    "InvalidSignatureException",
                    "X-Amz-Content-SHA256 must be a SHA-256 hex digest or UNSIGNED-PAYLOAD",
                )
        expected = expected_signature(
            method, raw_path, raw_query, headers, claim, body, stamp, key.secret_access_key, s3=self.s3
        )
        # (compare_digest refuses str that is not ASCII)
        if not (signature.isascii() and hmac.compare_digest(expected, signature)):
            if not SHA256_HEX.fullmatch(signature):
                raise _not_understood()
            raise AuthError(
                self.mismatch_code,
                "The request signature does not match: check the secret access key and that nothing "
                "changed the request (path, query, signed headers or body) after signing",
            )
        return key


def expected_signature(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    claim: Credential,
    body: bytes | None,
    stamp: str,
    secret: str,
    s3: bool = False,
) -> str:
    """The hex signature the request must carry: in C where the helper was built and every text
    it hashes is ASCII (as botocore's requests are), else in Python; both compute the same.
    With `s3`, the path and query are canonical as S3 signs them (not normalized, encoded once)."""
    if s3:
        path, raw_query = s3_canonical_path(raw_path), s3_canonical_query(raw_query)
    else:
        path = _canonical_path(raw_path)
    native = _native
    if native is not None:
        pads = _native_pads(secret, claim.date, claim.region, claim.service)
        expected: str | None = native.signature(
            method, path, raw_query, headers, claim.names, claim.names_joined, body,
            stamp, claim.scope, pads,
        )
        if expected is not None:
            return expected
    canonical = _canonical_request(method, path, raw_query, headers, claim.names, claim.names_joined, body)
    string_to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{claim.scope}\n{sha256_hex(canonical.encode())}"
    inner, outer = _hmac_pads(secret, claim.date, claim.region, claim.service)
    return _hmac_hex(inner, outer, string_to_sign.encode())


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    signed_headers: tuple[str, ...] | list[str],
    body: bytes | None,
) -> str:
    """The SigV4 canonical request, built the way botocore's SigV4Auth.canonical_request builds
    it (tests/test_sigv4_canonical.py checks that on generated requests): the path as sent,
    dot segments removed and percent-encoded again; the raw query pairs sorted, not re-encoded;
    the signed headers trimmed; the declared payload hash, else the body's. Written here because
    botocore's version costs ~60 µs a request in request and header objects."""
    names = tuple(sorted(set(signed_headers)))
    return _canonical_request(method, _canonical_path(raw_path), raw_query, headers, names, ";".join(names), body)


def _canonical_request(
    method: str,
    path: str,
    raw_query: str,
    headers: dict[str, str],
    names: tuple[str, ...],
    names_joined: str,
    body: bytes | None,
) -> str:
    """canonical_request with the path canonical and the signed header names sorted and joined."""
    if raw_query:
        pairs = sorted(pair.partition("=")[::2] for pair in raw_query.split("&"))
        query = "&".join(f"{name}={value}" for name, value in pairs)
    else:
        query = ""
    canonical_headers = "".join([f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in names])
    if "x-amz-content-sha256" in names:
        payload = headers.get("x-amz-content-sha256", "")
    else:
        payload = sha256_hex(body) if body else EMPTY_SHA256
    return f"{method.upper()}\n{path}\n{query}\n{canonical_headers}\n{names_joined}\n{payload}"


@lru_cache(maxsize=4096)
def _canonical_path(raw_path: str) -> str:
    """The path as SigV4 signs it: dot segments removed, percent-encoded again (paths repeat:
    the same stores and read sets are asked for again and again)."""
    return quote(normalize_url_path(raw_path), safe="/~")


def s3_canonical_path(raw_path: str) -> str:
    """The path as S3 signs it: as sent, without removing dot segments or encoding twice (each
    byte encoded once, whatever encoding the client chose)."""
    return quote(unquote(raw_path), safe="/~")


def s3_canonical_query(raw_query: str) -> str:
    """The query as S3 signs it: every name and value encoded once (RFC 3986 unreserved kept),
    the pairs sorted; `X-Amz-Signature` left out (a presigned URL's signature is not signed)."""
    pairs = []
    for pair in raw_query.split("&") if raw_query else ():
        name, _, value = pair.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if name != "X-Amz-Signature":
            pairs.append((name, quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def string_signature(secret: str, claim: Credential, stamp: str, canonical: str) -> str:
    """The hex signature of a canonical request (for presigned URLs: protocol/presigned.py)."""
    string_to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{claim.scope}\n{sha256_hex(canonical.encode())}"
    inner, outer = _hmac_pads(secret, claim.date, claim.region, claim.service)
    return _hmac_hex(inner, outer, string_to_sign.encode())


@lru_cache(maxsize=1024)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """HMAC("AWS4"+secret, date) → region → service → "aws4_request": the same for every
    request of one key on one day, so computed once."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


@lru_cache(maxsize=1024)
def _hmac_pads(secret: str, date: str, region: str, service: str) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) with the day's signing key, prepared: SHA-256 states that have
    absorbed the key xor ipad and xor opad. Copying them costs less than OpenSSL's HMAC set-up,
    which dominated the final step."""
    key = _signing_key(secret, date, region, service).ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


@lru_cache(maxsize=1024)
def _native_pads(secret: str, date: str, region: str, service: str) -> bytes:
    """_hmac_pads for the C helper: the same two states, as its opaque bytes."""
    return bytes(_native.pads(_signing_key(secret, date, region, service)))


def _hmac_hex(inner: Any, outer: Any, message: bytes) -> str:
    first = inner.copy()
    first.update(message)
    second = outer.copy()
    second.update(first.digest())
    return str(second.hexdigest())


@lru_cache(maxsize=64)
def _amz_seconds(stamp: str) -> float:
    """X-Amz-Date as seconds since the epoch."""
    return _parse_amz_date(stamp).timestamp()


def _parse_amz_date(stamp: str) -> datetime:
    """YYYYMMDDTHHMMSSZ (strptime is slow on this hot path; requests signed in the same second
    share the stamp)."""
    if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z" or not (stamp[:8] + stamp[9:15]).isdigit():
        raise ValueError(stamp)
    return datetime(
        int(stamp[0:4]),
        int(stamp[4:6]),
        int(stamp[6:8]),
        int(stamp[9:11]),
        int(stamp[11:13]),
        int(stamp[13:15]),
        tzinfo=UTC,
    )


def declared_body_hash(headers: dict[str, str]) -> str | None:
    """The SHA-256 a streamed body declared and signed, unless it is UNSIGNED-PAYLOAD."""
    declared = headers.get("x-amz-content-sha256")
    return None if declared in (None, UNSIGNED_PAYLOAD) else declared


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()

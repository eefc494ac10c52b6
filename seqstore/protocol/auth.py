"""AWS Signature Version 4 verification of incoming requests (wire-protocol.md §9).

The signature is recomputed with botocore's own signer from the request exactly as received
(raw path, raw query, the signed headers, the body's hash or the declared payload hash), the
way moto does it, and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .errors import ServiceError

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*"
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    read_only: bool = False
    name: str | None = None


class AuthError(ServiceError):
    """403 with a code botocore reports as ClientError (these are not omics shapes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code, status=403)


@dataclass(frozen=True)
class SignedRequest:
    """What the Authorization header claims, parsed."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str | None) -> SignedRequest:
    if not value:
        raise AuthError(
            "MissingAuthenticationTokenException",
            "The request is not signed: send AWS Signature Version 4 credentials (Authorization header)",
        )
    match = AUTHORIZATION.fullmatch(value.strip())
    if match is None:
        raise AuthError(
            "IncompleteSignatureException",
            "The Authorization header is not an AWS4-HMAC-SHA256 signature this server understands",
        )
    scope = match.group("credential").split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError(
            "IncompleteSignatureException",
            "The credential scope must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request",
        )
    return SignedRequest(
        scope[0], scope[1], scope[2], scope[3], match.group("signed").split(";"), match.group("signature")
    )


class SigV4Verifier:
    """Verifies requests against the keys `lookup` finds; returns the key that signed."""

    def __init__(
        self,
        lookup: Callable[[str], AccessKey | None],
        region: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.lookup = lookup
        self.region = region
        self.clock = clock or (lambda: datetime.now(UTC))

    def verify(
        self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes | None
    ) -> AccessKey:
        """Return the key that signed the request, or raise AuthError saying which check failed.
        `headers` are lower-cased; `body` is None for a streamed body, which must then have signed
        its X-Amz-Content-SHA256 (UploadReadSetPart signs UNSIGNED-PAYLOAD)."""
        claim = parse_authorization(headers.get("authorization"))
        if claim.service != "omics":
            raise AuthError(
                "InvalidSignatureException",
                f"The credential scope names service {claim.service!r}, not 'omics'",
            )
        if claim.region != self.region:
            raise AuthError(
                "InvalidSignatureException",
                f"The credential scope names region {claim.region!r}; this server is {self.region!r}",
            )
        key = self.lookup(claim.access_key_id)
        if key is None:
            raise AuthError(
                "UnrecognizedClientException",
                f"The access key id {claim.access_key_id} is unknown or revoked",
            )
        stamp = headers.get("x-amz-date", "")
        try:
            signed_at = _parse_amz_date(stamp)
        except ValueError:
            raise AuthError(
                "IncompleteSignatureException", "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ"
            ) from None
        if abs((self.clock() - signed_at).total_seconds()) > MAX_SKEW_SECONDS:
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
        url = f"http://{headers.get('host', '')}{raw_path}" + (f"?{raw_query}" if raw_query else "")
        request = AWSRequest(
            method=method,
            url=url,
            headers={name: headers.get(name, "") for name in claim.signed_headers},
            data=body or b"",
        )
        request.context["timestamp"] = stamp
        signer = _CachingSigner(Credentials(key.access_key_id, key.secret_access_key), "omics", claim.region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(str(expected), claim.signature):
            raise AuthError(
                "InvalidSignatureException",
                "The request signature does not match: check the secret access key and that nothing "
                "changed the request (path, query, signed headers or body) after signing",
            )
        return key


class _CachingSigner(SigV4Auth):
    """botocore's signer, keeping the derived signing key of a (secret, day, region): the
    four-HMAC derivation is the same for every request of a key on one day."""

    _keys: dict[tuple[str, str, str], bytes] = {}

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        sign: Any = self._sign  # type: ignore[attr-defined]
        region: str = self._region_name  # type: ignore[attr-defined]
        scope = (str(self.credentials.secret_key), str(request.context["timestamp"][0:8]), region)
        signing_key = self._keys.get(scope)
        if signing_key is None:
            k_date = sign(f"AWS4{scope[0]}".encode(), scope[1])
            signing_key = sign(sign(sign(k_date, region), "omics"), "aws4_request")
            if len(self._keys) > 1024:
                self._keys.clear()
            self._keys[scope] = signing_key
        return str(sign(signing_key, string_to_sign, hex=True))


def _parse_amz_date(stamp: str) -> datetime:
    """YYYYMMDDTHHMMSSZ (strptime is slow on this hot path)."""
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

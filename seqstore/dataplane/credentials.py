"""Who calls the GA4GH planes (htsget, DRS): a bearer token (`seqstore keys token`), a request
signed with SigV4 for service `omics` by one of the server's access keys, or nobody with
`--auth none`. A SigV4 caller is given a bearer token of its key for the URLs an answer hands
out (ticket and access URLs), since their fetches are not signed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ServiceError
from ..protocol.auth import SigV4Verifier
from .http import Request
from .tokens import TokenError, make_token, verify_token

SIGNED = "aws4-hmac-sha256"


class Unauthenticated(Exception):
    """No acceptable credentials; str() says what to send."""


def caller_token(request: Request, lookup: Callable[[str], Any], region: str, auth: str) -> str | None:
    """The bearer token that stands for the caller (None: credentials are not checked)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith(SIGNED):
        try:
            key = SigV4Verifier(lookup, region).verify(
                request.method, request.raw_path, request.raw_query, request.headers, request.body
            )
        except ServiceError as exc:
            raise Unauthenticated(f"the SigV4 signature was refused: {exc.message}") from None
        return make_token(key, read_only=key.read_only)
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        try:
            verify_token(token, lookup)
        except TokenError as exc:
            raise Unauthenticated(str(exc)) from None
        return token
    if auth == "none":
        return None
    raise Unauthenticated(
        "send Authorization: Bearer <token> (make one with `seqstore keys token`) or sign the request "
        "with SigV4 for service omics"
    )

"""protocol/presigned.py keeps the requests it verified: a URL verified once still fails once it
expires, once its key is revoked and once its key's secret changes (the kept entry is checked
against the clock and the key on every hit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from seqstore.protocol.auth import AuthError, SigV4Verifier
from seqstore.protocol.presigned import verify_presigned
from seqstore.store.access_keys import AccessKey

HOST = "127.0.0.1:9740"


def presigned(key: AccessKey, expires: int) -> tuple[str, str]:
    request = AWSRequest("GET", f"http://{HOST}/123456789012-1234567890-abc-s3alias/some/key.bam")
    S3SigV4QueryAuth(
        Credentials(key.access_key_id, key.secret_access_key), "s3", "us-east-1", expires
    ).add_auth(request)
    parts = urlsplit(request.url)
    return parts.path, parts.query


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


def test_a_verified_url_is_checked_again_on_every_hit() -> None:
    key = AccessKey("MEMOKEY", "memo-secret")
    keys: dict[str, AccessKey] = {key.access_key_id: key}
    clock = Clock()
    verifier = SigV4Verifier(keys.get, "us-east-1", clock=clock, service="s3")
    path, query = presigned(key, 60)
    headers = {"host": HOST}
    for _ in range(3):  # the first verifies and keeps, the others hit
        assert verify_presigned(verifier, "GET", path, query, headers) == key
    with pytest.raises(AuthError) as other_host:  # the host is signed: another one is not a hit
        verify_presigned(verifier, "GET", path, query, {"host": "localhost:9740"})
    assert other_host.value.code == "SignatureDoesNotMatch"

    keys[key.access_key_id] = AccessKey(key.access_key_id, "a-new-secret")
    with pytest.raises(AuthError) as changed:
        verify_presigned(verifier, "GET", path, query, headers)
    assert changed.value.code == "SignatureDoesNotMatch"

    keys[key.access_key_id] = key
    assert verify_presigned(verifier, "GET", path, query, headers) == key
    del keys[key.access_key_id]  # revoked
    with pytest.raises(AuthError) as revoked:
        verify_presigned(verifier, "GET", path, query, headers)
    assert revoked.value.code == "InvalidAccessKeyId"

    keys[key.access_key_id] = key
    assert verify_presigned(verifier, "GET", path, query, headers) == key
    clock.moment += timedelta(seconds=61)
    with pytest.raises(AuthError) as expired:
        verify_presigned(verifier, "GET", path, query, headers)
    assert expired.value.code == "AccessDenied" and "expired" in str(expired.value)

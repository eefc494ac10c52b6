"""seqstore's SigV4 canonical request must equal botocore's SigV4Auth.canonical_request for
whatever a client may send: generated paths (encoded ARNs, dot segments, doubled slashes),
queries (repeated keys, empty values, odd encodings), header values with runs of spaces, and
bodies with and without a declared hash. The C helper (seqstore/protocol/_sigv4.c) must compute
the signature botocore computes for the same requests, and leave what is not ASCII to Python."""

from __future__ import annotations

import random
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from seqstore.protocol import auth
from seqstore.protocol.auth import SigV4Verifier, canonical_request
from seqstore.store.access_keys import AccessKey
from tests.helpers.native import require_helper

SEGMENTS = ["sequencestore", "1234567890", "readset", "..", ".", "", "a%2Fb", "arn%3Aaws%3Aomics", "~x", "%7E",
            "%20", "caf%C3%A9", "-_.", "UPPER", "%25"]
QUERY_PARTS = ["partNumber=1", "file=SOURCE1", "tagKeys=k%201", "tagKeys=b%26c", "tagKeys=a+b", "empty=", "flag",
               "nextToken=tok%2F2%2B%3D", "a=%7E", "z=1", "a=2", "maxResults=50"]


def generated_requests(count: int) -> list[tuple[str, str, str, dict[str, str], bytes]]:
    rng = random.Random(20261123)
    requests = []
    for _ in range(count):
        path = "/" + "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.2:
            path += "/"
        query = "&".join(rng.choice(QUERY_PARTS) for _ in range(rng.randint(0, 4)))
        headers = {"host": rng.choice(["127.0.0.1:9740", "control-storage-omics.us-east-1.amazonaws.com"])}
        if rng.random() < 0.5:
            headers["content-type"] = rng.choice(
                ["application/json", "  application/json  ", "a  b   c", "a\tb\x0b c\x1f", "\x1c x\x1d\x1e"]
            )
        body = rng.choice([b"", b"{}", b'{"name": "x"}', bytes(range(256))])
        if rng.random() < 0.3:
            headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        requests.append((rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]), path, query, headers, body))
    return requests


@pytest.mark.parametrize("method,path,query,headers,body", generated_requests(300))
def test_the_canonical_request_is_botocores(method: str, path: str, query: str, headers: dict[str, str],
                                            body: bytes) -> None:
    url = f"http://{headers['host']}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = "20261123T120000Z"
    expected = SigV4Auth(Credentials("AK", "SK"), "omics", "us-east-1").canonical_request(request)
    assert canonical_request(method, path, query, headers, list(headers), body) == expected


STAMP = "20261123T120000Z"


def credential(headers: dict[str, str]) -> auth.Credential:
    """What the Authorization header of a request signing all of `headers` claims."""
    return auth._parse_head(
        f"AWS4-HMAC-SHA256 Credential=AK/{STAMP[:8]}/us-east-1/omics/aws4_request, "
        f"SignedHeaders={';'.join(sorted(headers))}, Signature="
    )


def require_sigv4_helper() -> None:
    """Go on only with the C helper (it is built wherever a compiler and OpenSSL's headers are)."""
    require_helper(auth._native is not None, "seqstore/protocol/_sigv4", ("/usr/include/openssl/sha.h",))


def test_the_sigv4_helper_is_built_wherever_a_compiler_is() -> None:
    require_sigv4_helper()


def long_requests() -> list[tuple[str, str, str, dict[str, str], bytes]]:
    """Past the helper's fixed buffers: more than 16 query pairs, a canonical request longer
    than 2 KiB."""
    query = "&".join(f"k{i % 7}={'v' * (i % 5)}{i}" for i in range(40, 0, -1))
    value = "  ".join(f"word{i}" for i in range(800))
    return [
        ("GET", "/sequencestores", query, {"host": "h"}, b""),
        ("POST", "/x/" + "a" * 3000, "", {"host": "h", "content-type": value}, b"{}" * 5000),
        ("PUT", "/y", query, {"host": "h", "x-long": value, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b""),
    ]


@pytest.mark.parametrize("method,path,query,headers,body", generated_requests(300) + long_requests())
def test_the_helper_signs_as_botocore_does(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_sigv4_helper()
    url = f"http://{headers['host']}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = STAMP
    signer = SigV4Auth(Credentials("AK", "SK"), "omics", "us-east-1")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    claim = credential(headers)
    # The helper itself answers (these requests are ASCII) ...
    pads = auth._native_pads("SK", claim.date, claim.region, claim.service)
    assert auth._native.signature(
        method, auth._canonical_path(path), query, headers, claim.names, claim.names_joined, body, STAMP,
        claim.scope, pads,
    ) == expected
    assert auth.expected_signature(method, path, query, headers, claim, body, STAMP, "SK") == expected
    # ... and so does the Python it stands in for.
    monkeypatch.setattr(auth, "_native", None)
    assert auth.expected_signature(method, path, query, headers, claim, body, STAMP, "SK") == expected


@pytest.mark.parametrize(
    "path,query,headers",
    [
        ("/sequencestores", "name=caf\xc3\xa9", {"host": "h"}),
        ("/sequencestores", "", {"host": "h", "content-type": "application/json; x=\xe9"}),
        ("/sequencestores", "", {"host": "h", "content-type": "a\xa0b\x85c"}),  # str.split() splits there
    ],
)
def test_the_helper_leaves_what_is_not_ascii_to_python(
    path: str, query: str, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Header values and paths arrive decoded as latin-1: Python's rules (str.split() on
    non-ASCII spaces, UTF-8 encoding) decide such requests, in either mode."""
    require_sigv4_helper()
    claim = credential(headers)
    pads = auth._native_pads("SK", claim.date, claim.region, claim.service)
    args = (auth._canonical_path(path), query, headers, claim.names, claim.names_joined, b"{}", STAMP, claim.scope, pads)
    assert auth._native.signature("POST", *args) is None
    with_helper = auth.expected_signature("POST", path, query, headers, claim, b"{}", STAMP, "SK")
    monkeypatch.setattr(auth, "_native", None)
    assert with_helper == auth.expected_signature("POST", path, query, headers, claim, b"{}", STAMP, "SK")


@pytest.mark.parametrize("native", [True, False], ids=["helper", "python"])
def test_a_botocore_signature_verifies(native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if native:
        require_sigv4_helper()
    else:
        monkeypatch.setattr(auth, "_native", None)
    key = AccessKey("AKIDEXAMPLE", "secret")
    arn = quote("arn:aws:omics:us-east-1:123456789012:sequenceStore/1234567890", safe="")
    url = f"http://127.0.0.1:9740/tags/{arn}?tagKeys=k%201&tagKeys=b%26c"
    request = AWSRequest(method="DELETE", url=url, headers={})
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "omics", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()} | {"host": "127.0.0.1:9740"}
    verifier = SigV4Verifier(lambda _: key, "us-east-1")
    assert verifier.verify("DELETE", f"/tags/{arn}", "tagKeys=k%201&tagKeys=b%26c", headers, b"") == key
    with pytest.raises(auth.AuthError, match="signature does not match"):
        verifier.verify("DELETE", f"/tags/{arn}", "tagKeys=k%201", headers, b"")

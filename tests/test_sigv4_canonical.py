"""seqstore's SigV4 canonical request must equal botocore's SigV4Auth.canonical_request for
whatever a client may send: generated paths (encoded ARNs, dot segments, doubled slashes),
queries (repeated keys, empty values, odd encodings), header values with runs of spaces, and
bodies with and without a declared hash."""

from __future__ import annotations

import random
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from seqstore.protocol.auth import AccessKey, SigV4Verifier, canonical_request

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
            headers["content-type"] = rng.choice(["application/json", "  application/json  ", "a  b   c"])
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


def test_a_botocore_signature_verifies() -> None:
    key = AccessKey("AKIDEXAMPLE", "secret")
    arn = quote("arn:aws:omics:us-east-1:123456789012:sequenceStore/1234567890", safe="")
    url = f"http://127.0.0.1:9740/tags/{arn}?tagKeys=k%201&tagKeys=b%26c"
    request = AWSRequest(method="DELETE", url=url, headers={})
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "omics", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()} | {"host": "127.0.0.1:9740"}
    verifier = SigV4Verifier(lambda _: key, "us-east-1")
    assert verifier.verify("DELETE", f"/tags/{arn}", "tagKeys=k%201&tagKeys=b%26c", headers, b"") == key

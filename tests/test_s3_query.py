"""The S3 plane's query parser (dataplane/routing.parse_query) gives what the standard library's
`parse_qsl` gives on every shape of query a client sends or an attacker tries."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, quote

import pytest

from seqstore.dataplane.routing import parse_query

QUERIES = [
    "",
    "list-type=2&prefix=123456789012%2FsequenceStore%2F&delimiter=%2F&max-keys=5",
    "tagging", "tagging=", "location&x=1", "a=1&a=2", "&&a=1&", "=v", "a==b",
    "prefix=a+b%20c&start-after=%E2%9C%93", "prefix=%ZZ%2", "prefix=%C3%28", "k%26=v%3D",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=bench%2F20261205%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261205T212200Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123",
    "partNumber=1&versionId=null",
    "caf\xe9=\xe9t\xe9",  # bytes that are not UTF-8, as the plane decodes them (latin-1)
]


@pytest.mark.parametrize("query", QUERIES)
def test_parse_query_is_parse_qsl(query: str) -> None:
    assert parse_query(query.encode("latin-1")) == dict(parse_qsl(query, keep_blank_values=True))


def test_parse_query_is_parse_qsl_on_random_queries() -> None:
    rng = random.Random(7)
    alphabet = "ab=&%+2F4Z~-_.é✓ "
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        query = quote(text, safe="=&%+") if rng.random() < 0.5 else text
        raw = query.encode("utf-8").decode("latin-1")
        assert parse_query(raw.encode("latin-1")) == dict(parse_qsl(raw, keep_blank_values=True)), raw

#!/usr/bin/env python
"""Model-driven fuzzing of seqstore's storage API.

Requests for every storage operation of botocore's omics model (a `storage` host prefix, plus the
three tag calls): valid ones naming real resources it creates first, each constraint of the model
violated in turn, values of the wrong type, random bytes as bodies, huge and empty values,
path-traversal and percent-encoding tricks in URI labels, unknown and repeated query parameters,
odd headers and methods. Every request is signed with botocore's SigV4Auth for exactly the bytes
it sends (a raw socket, no URL normalization), so it gets past authentication to validation.

Invalid requests aim at a "victim" sequence store (with a read set, tags, an upload in progress
and an access policy) and the reference store; valid ones, which may change things, at a separate
"scratch" store. The victim's data is snapshotted before and after: it must not change.

    bench/fuzz.py --requests 10000 [--seed N] [--url URL --access-key K --secret S]

Without --url it starts its own `seqstore serve` on a temporary data directory. Prints the count of
2xx/4xx/5xx answers per operation and overall; exits 1 if any answer is >= 500, any request got no
answer, or the victim's data changed."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.session
import regex
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[1]
MODEL = botocore.session.get_session().get_service_model("omics")
TAG_OPERATIONS = ("TagResource", "UntagResource", "ListTagsForResource")
ACCOUNT = os.environ.get("SEQSTORE_ACCOUNT_ID", "123456789012")
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_JSON_BODY = 1024 * 1024
PART_LIMIT = 104_857_600


def storage_operations() -> list[Any]:
    ops = [MODEL.operation_model(name) for name in MODEL.operation_names]
    return [
        op for op in ops
        if "storage" in (op.endpoint or {}).get("hostPrefix", "") or op.name in TAG_OPERATIONS
    ]


OPERATIONS = storage_operations()
BY_NAME = {op.name: op for op in OPERATIONS}
MUTATING = {op.name for op in OPERATIONS if not op.name.startswith(("Get", "List"))}


# ---------------------------------------------------------------------------------------------
# Sending signed requests byte for byte
# ---------------------------------------------------------------------------------------------


@dataclass
class Wire:
    """One request as it goes on the wire. `target` is the request target (path and query) as
    latin-1 text of the raw bytes sent; it is signed exactly as it is."""

    operation: str
    category: str
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    declared_length: int | None = None  # a Content-Length other than len(body)
    case: str = ""
    invalid: bool = False  # must not succeed
    subject: str | None = None  # the `id` it was built with (DeleteSequenceStore)
    store: str | None = None  # the `sequenceStoreId` it was built with


@dataclass
class Answer:
    status: int | None  # None: no answer (timeout, connection closed)
    headers: dict[str, str]
    body: bytes
    error: str = ""

    @property
    def bucket(self) -> str:
        if self.status is None:
            return "none"
        return f"{self.status // 100}xx"


class Transport:
    """A keep-alive connection sending signed requests exactly as built."""

    def __init__(self, url: str, key: str, secret: str, region: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.netloc = parts.netloc
        self.credentials = Credentials(key, secret)
        self.region = region
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def signed_headers(self, wire: Wire) -> list[tuple[str, str]]:
        request = AWSRequest(method=wire.method, url=f"http://{self.netloc}{wire.target}", data=wire.body,
                             headers=dict(wire.headers))
        SigV4Auth(self.credentials, "omics", self.region).add_auth(request)
        headers = [("Host", self.netloc)]
        headers += [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        length = wire.declared_length if wire.declared_length is not None else len(wire.body)
        if length or wire.method not in ("GET", "HEAD", "DELETE"):
            headers.append(("Content-Length", str(length)))
        return headers

    def send(self, wire: Wire) -> Answer:
        head = f"{wire.method} {wire.target} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.signed_headers(wire)) + "\r\n"
        data = head.encode("latin-1") + wire.body
        for attempt in range(2):
            reused = self.sock is not None
            if self.sock is None:
                self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock = self.sock
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)  # the server may answer (and close) before reading it all
            try:
                response = http.client.HTTPResponse(sock, method=wire.method)
                response.begin()
                body = response.read()
            except TimeoutError:
                self.close()
                return Answer(None, {}, b"", "timeout")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 0 and isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                ):
                    continue  # a keep-alive connection the server had closed: retry on a new one
                return Answer(None, {}, b"", repr(exc))
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close or wire.declared_length is not None:
                self.close()
            return Answer(response.status, headers, body)
        return Answer(None, {}, b"", "no answer")


# ---------------------------------------------------------------------------------------------
# Values from the model's shapes
# ---------------------------------------------------------------------------------------------


@cache
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


def fits(shape: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    enum = getattr(shape, "enum", None)
    if enum:
        return value in enum
    meta = shape.metadata
    if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**9):
        return False
    pattern = meta.get("pattern")
    return not pattern or _compiled(pattern).fullmatch(value) is not None


WORD = string.ascii_letters + string.digits
TEXT = WORD + " -_.,:;()[]@+="
UNICODE = "éßΩжλ中文한국어العربية🧬∑€"
WEIRD_STRINGS = [
    "", " ", "  leading", "trailing  ", "tab\there", "new\nline", "nul\x00byte", "bell\x07", "\ud800",
    "lone surrogate \udfff end", "zero\u200bwidth", "rtl\u202eoverride", "e\u0301 combining", "🧬" * 30,
    "é" * 127, "%2e%2e%2f", "../../etc/passwd", "..\\..\\windows", "'; DROP TABLE sequence_stores; --",
    "\" OR 1=1 --", "${jndi:ldap://x}", "{{7*7}}", "<script>alert(1)</script>", "\\u0000", "%00", "NaN",
    "null", "0", "-1", "1e999", "９８７６５４３２１０", "٠١٢٣٤٥٦٧٨٩", "ＡＢＣ", "\uffff", "\U0010ffff",
]
LABEL_TRICKS = [
    "%2e%2e", "%2E%2E", "..", ".", "%2e", "%2F", "%2f", "..%2F..%2F", "%2F..%2F..%2Fsequencestores",
    "%00", "%00{v}", "{v}%00", "{v}%2F..", "{v}%2F", "%252e%252e", "%252F", "%C0%AE%C0%AE", "%c0%af",
    "%ZZ", "%", "%2", "{v}%", "%C3%A9", "é", "中文", "%F0%9F%A7%AC", "%ED%A0%80", "%FF%FE", "+", "%20",
    "%20{v}", "{v}%20", "{v}+", "%09{v}", "{v}%0D%0A", "{v};x=1", "%3F", "%23", "{v}%23frag",
    "~{v}", "{v}~", "-{v}", "0x{v}", "{v}.0", "{v}e0", "１２３４５６７８９０", "٠١٢٣٤٥٦٧٨٩", "A" * 300,
    "9" * 40, "9" * 5000, "%41" * 100, "{v}/..", "{v}/.", "../{v}", "./{v}",
]
# Tricks that may leave a valid request (a raw `?` ends the path early, the router ignores a
# trailing `/`, two ids make another well-formed id): aimed at the scratch store.
MAYBE_VALID_LABEL_TRICKS = ["{v}//", "{v}?x", "{v}?", "{v}{v}", "{v}/", "{v}#frag"]
QUERY_TRICKS = [
    "unknown=1", "x-debug=true", "maxResults=1&maxResults=2", "partNumber=1&partNumber=1", "=", "&&&", "a",
    "%ZZ=1", "a=%ZZ", "a=%", "%00=%00", "a=%00", "nextToken=%07", "nextToken=" + "A" * 6145,
    "maxResults=" + "9" * 40, "maxResults=-1", "maxResults=0", "maxResults=1.5", "maxResults=%31",
    "partNumber=%31", "partNumber=1%00", "partNumber=0x1", "partNumber= 1", "file=source1", "file=%E2%98%83",
    "tagKeys=", "tagKeys=%2F..%2F", "x=" + "y" * 4000, "%C3%A9=%C3%A9", "a=1;b=2", "a+b=c+d", "a=1#frag",
]
REFUSED_CONTENT_TYPES = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data",
                         "application/jsonx", "*/*", "application/octet-stream", "application/json\u00e9", "json"]
# Content types a JSON body may come with (parameters and case do not matter; empty is none).
ACCEPTED_CONTENT_TYPES = ["APPLICATION/JSON", "application/json;", "application/json; charset=utf-8", "",
                          "application/x-amz-json-1.0", " application/json "]
METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "get"]


def random_text(rng: random.Random, low: int, high: int, alphabet: str = TEXT) -> str:
    length = rng.randint(low, max(low, min(high, 40)))
    return "".join(rng.choice(alphabet) for _ in range(length))


def _pattern_candidates(shape: Any, rng: random.Random, region: str) -> list[str]:
    pattern = shape.metadata.get("pattern", "")
    word = random_text(rng, 3, 12, WORD)
    candidates: list[str] = []
    if "accesspoint" in pattern:
        candidates.append(f"arn:aws:s3:{region}:{ACCOUNT}:accesspoint/{ACCOUNT}-{rng.randrange(10**9, 10**10)}")
    if "arn:" in pattern:
        candidates += [f"arn:aws:kms:{region}:{ACCOUNT}:key/{word}",
                       f"arn:aws:iam::{ACCOUNT}:role/fuzz-{word}",
                       f"arn:aws:omics:{region}:{ACCOUNT}:referenceStore/1234567890/reference/1234567890"]
    if "s3://" in pattern:
        candidates += [f"s3://fuzz-bucket/{word}/", f"s3://fuzz-bucket/{word}/reads.fastq", ""]
    if pattern == "[0-9]+":
        candidates.append(str(rng.randrange(10**9, 10**10)))
    if pattern.startswith("[\\p{N}||\\p{P}]"):
        candidates += [f"{rng.randrange(0, 100)}-{rng.randrange(100, 200)}", "0-99"]
    return candidates


def fitting_string(shape: Any, rng: random.Random, region: str) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(rng.choice(enum))
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 64)
    for candidate in _pattern_candidates(shape, rng, region):
        if fits(shape, candidate):
            return candidate
    for alphabet in (TEXT, TEXT + UNICODE, WORD):
        for _ in range(5):
            candidate = random_text(rng, max(low, 1), high, alphabet)
            if fits(shape, candidate):
                return candidate
    raise ValueError(f"no value fits {shape.name}")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class MapKey:
    """A path step naming a map's key (its own shape) rather than a value."""

    def __repr__(self) -> str:
        return "{key}"


MAP_KEY = MapKey()
PLACEHOLDER_KEY = "fuzz-key"


def child(shape: Any, step: Any) -> Any:
    if shape.type_name == "structure":
        return shape.members[step]
    if shape.type_name == "list":
        return shape.member
    if shape.type_name == "map":
        return shape.key if step is MAP_KEY else shape.value
    raise KeyError(step)


def walk(shape: Any, path: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, shape) under `shape`, list items as index 0 and map values under PLACEHOLDER_KEY."""
    if depth > 6:
        return
    if path:
        yield path, shape
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            yield from walk(member, (*path, name), depth + 1)
    elif shape.type_name == "list":
        yield from walk(shape.member, (*path, 0), depth + 1)
    elif shape.type_name == "map":
        yield (*path, MAP_KEY), shape.key
        yield from walk(shape.value, (*path, PLACEHOLDER_KEY), depth + 1)


def location(op: Any, path: tuple[Any, ...]) -> str:
    member = op.input_shape.members[path[0]]
    return "body" if len(path) > 1 else member.serialization.get("location", "body")


# The violation kinds, as test_protocol.py names them.
def violations(shape: Any, op: Any, path: tuple[Any, ...], parent: Any) -> list[tuple[str, Any]]:
    """(kind, value) pairs: each breaks one rule of `shape`. DELETE removes the member."""
    found: list[tuple[str, Any]] = []
    meta = shape.metadata
    where = location(op, path)
    name = path[-1]
    if parent.type_name == "structure" and name in parent.required_members:
        in_query_list = where == "querystring" and shape.type_name == "list"
        if not in_query_list:
            found.append(("required", DELETE))
    kind = shape.type_name
    enum = getattr(shape, "enum", None) if kind == "string" else None
    if enum:
        found += [("enum", "NOT_A_VALUE"), ("enum", str(enum[0]).lower() + "x"), ("enum", f" {enum[0]}")]
    elif kind == "string":
        low, high = meta.get("min"), meta.get("max")
        pattern = meta.get("pattern")
        if low:
            found.append(("min-length", _length_string(shape, low - 1)))
        if high is not None and high < 200_000:
            found.append(("max-length", _length_string(shape, high + 1)))
        if pattern:
            for bad in ("12345abcde", "not-an-arn-\x07", "bad\x01value", "s3:/no", "\ud800\ud800"):
                if _compiled(pattern).fullmatch(bad) is None and (low or 0) <= len(bad) <= (high or 10**9):
                    found.append(("pattern", bad))
                    break
    elif kind in ("integer", "long"):
        if meta.get("min") is not None:
            found.append(("range-min", meta["min"] - 1))
        if meta.get("max") is not None:
            found.append(("range-max", meta["max"] + 1))
    elif kind in ("list", "map"):
        if meta.get("min"):
            found.append((f"{kind}-min", [] if kind == "list" else {}))
        if meta.get("max") is not None and meta["max"] < 5000:
            count = meta["max"] + 1
            if kind == "list":
                found.append(("list-max", [_any_valid(shape.member) for _ in range(count)]))
            else:
                found.append(("map-max", {f"k{i}": _any_valid(shape.value) for i in range(count)}))
    return found


def _length_string(shape: Any, length: int) -> str:
    pattern = shape.metadata.get("pattern")
    for candidate in ("1" * length, "a" * length, ("arn:" + "a" * length)[:length],
                      ("s3://fuzz-bucket/" + "a" * length)[:length]):
        if not pattern or _compiled(pattern).fullmatch(candidate):
            return candidate
    return "a" * length


def _any_valid(shape: Any) -> Any:
    return valid_value(shape, random.Random(0), "us-east-1", {}, 5)


class Delete:
    def __repr__(self) -> str:
        return "<deleted>"


DELETE = Delete()


def wrong_types(shape: Any, where: str) -> list[Any]:
    """Values of the wrong type for `shape` as it travels in `where`."""
    if where in ("querystring", "header", "uri"):
        if shape.type_name in ("integer", "long"):
            return ["abc", "1.5", "", "1e3", "0x10", " 7", "+5", "٣", "9" * 30, "true"]
        if shape.type_name == "boolean":
            return ["yes", "1", ""]
        return ["", "\x00"]
    kind = shape.type_name
    if kind == "string":
        return [123, 1.5, True, [], {}, ["a"], {"a": "b"}, -0.0]
    if kind in ("integer", "long"):
        return ["12", 1.5, True, [], {}, 1e300, "", 10**40]
    if kind == "boolean":
        return ["true", 1, 0, [], {}]
    if kind == "timestamp":
        return [True, [], {}, "yesterday", "2026-13-45T25:61:61Z", 1e300, -1e300, "9" * 40, "", "NaN"]
    if kind == "structure":
        return ["x", [], 1, True, [{}]]
    if kind == "list":
        return ["x", {}, 1, True, "[]"]
    if kind == "map":
        return ["x", [], 1, True, [["k", "v"]]]
    return ["x", 1]


def valid_value(shape: Any, rng: random.Random, region: str, ids: dict[str, str], depth: int = 0) -> Any:
    kind = shape.type_name
    if kind == "structure":
        result = {}
        for name, member in shape.members.items():
            if name in shape.required_members or (depth < 3 and rng.random() < 0.3):
                result[name] = valid_value(member, rng, region, ids, depth + 1)
        return result
    if kind == "list":
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 3)
        count = rng.randint(low, max(low, min(high, 3)))
        return [valid_value(shape.member, rng, region, ids, depth + 1) for _ in range(count)]
    if kind == "map":
        count = rng.randint(shape.metadata.get("min", 0), min(shape.metadata.get("max", 3), 3))
        return {fitting_string(shape.key, rng, region): valid_value(shape.value, rng, region, ids, depth + 1)
                for _ in range(count)}
    if kind == "string":
        if shape.name in ids:
            return ids[shape.name]
        return fitting_string(shape, rng, region)
    if kind in ("integer", "long"):
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 1000)
        return rng.randint(low, min(high, low + 20))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 10**9))
        return rng.choice([iso(moment), moment.timestamp(), int(moment.timestamp())])
    if kind == "blob":
        return fastq(rng.randint(1, 20), rng)
    raise ValueError(kind)


def fastq(count: int, rng: random.Random) -> bytes:
    lines = []
    for i in range(count):
        sequence = "".join(rng.choice("ACGT") for _ in range(30))
        lines.append(f"@read{i}\n{sequence}\n+\n{'I' * len(sequence)}\n")
    return "".join(lines).encode()


def set_at(params: dict[str, Any], op: Any, path: tuple[Any, ...], value: Any, rng: random.Random,
           region: str, ids: dict[str, str]) -> None:
    """Put `value` at `path` in `params`, creating missing containers (DELETE removes)."""
    container: Any = params
    shape = op.input_shape
    for step in path[:-1]:
        shape_next = child(shape, step)
        if isinstance(container, dict):
            if step is MAP_KEY:
                raise ValueError("map keys have no children")
            current = container.get(step)
            if not isinstance(current, dict | list):
                container[step] = _container_for(shape_next, rng, region, ids)
            container = container[step]
        else:
            while len(container) <= step:
                container.append(_container_for(shape_next, rng, region, ids))
            if not isinstance(container[step], dict | list):
                container[step] = _container_for(shape_next, rng, region, ids)
            container = container[step]
        shape = shape_next
    last = path[-1]
    if last is MAP_KEY:
        container.clear()
        container[value if isinstance(value, str) else json.dumps(value)] = valid_value(
            shape.value, rng, region, ids, 5)
    elif isinstance(container, list):
        while len(container) <= last:
            container.append(None)
        if value is DELETE:
            container.pop(last)
        else:
            container[last] = value
    elif value is DELETE:
        container.pop(last, None)
    else:
        container[last] = value


def _container_for(shape: Any, rng: random.Random, region: str, ids: dict[str, str]) -> Any:
    if shape.type_name == "structure":
        return valid_value(shape, rng, region, ids, 5)
    if shape.type_name == "list":
        return [valid_value(shape.member, rng, region, ids, 5)]
    if shape.type_name == "map":
        return {}
    return valid_value(shape, rng, region, ids, 5)


# ---------------------------------------------------------------------------------------------
# Resources the requests name
# ---------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One sequence store and what lives in it."""

    store: str
    store_arn: str
    read_set: str
    read_set_arn: str
    upload: str
    access_point: str


@dataclass
class Resources:
    region: str
    victim: Side
    scratch: Side
    reference_store: str
    reference_store_arn: str
    reference: str
    reference_arn: str
    jobs: dict[str, str]  # ImportJobId / ExportJobId / ActivationJobId / ReferenceImportJobId
    notes: list[str] = field(default_factory=list)
    disposable: list[str] = field(default_factory=list)  # stores valid creates made

    def ids(self, side: Side, op_name: str) -> dict[str, str]:
        """Shape name -> value for the resources `side` offers to `op_name`."""
        ids = {
            "SequenceStoreId": side.store,
            "ReadSetId": side.read_set,
            "UploadId": side.upload,
            "ReferenceStoreId": self.reference_store,
            "ReferenceId": self.reference,
            "ExportJobId": self.jobs.get("ExportJobId", "1234567890"),
            "ActivationJobId": self.jobs.get("ActivationJobId", "1234567890"),
            "ImportJobId": self.jobs.get(
                "ReferenceImportJobId" if "Reference" in op_name else "ImportJobId", "1234567890"
            ),
            "S3AccessPointArn": side.access_point,
            "ReferenceArn": self.reference_arn,
        }
        if op_name in TAG_OPERATIONS:
            ids["TagArn"] = side.store_arn
        return ids

    def tag_arns(self, side: Side) -> list[str]:
        arns = [side.store_arn, side.read_set_arn]
        if side is self.victim:
            arns += [self.reference_store_arn, self.reference_arn]
        return arns


def make_client(url: str, key: str, secret: str, region: str):  # type: ignore[no-untyped-def]
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region).client(
        "omics", endpoint_url=url,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 2, "mode": "standard"}),
    )


def _wait(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _side(client: Any, label: str, rng: random.Random) -> Side:
    store = client.create_sequence_store(name=f"fuzz-{label}-{uuid.uuid4().hex[:8]}", description=f"fuzz {label}",
                                         tags={"fuzz": label})
    data = fastq(20, rng)
    upload = client.create_multipart_read_set_upload(
        sequenceStoreId=store["id"], sourceFileType="FASTQ", name=f"{label}-reads", subjectId="subject",
        sampleId="sample")
    part = client.upload_read_set_part(sequenceStoreId=store["id"], uploadId=upload["uploadId"],
                                       partSource="SOURCE1", partNumber=1, payload=data)
    done = client.complete_multipart_read_set_upload(
        sequenceStoreId=store["id"], uploadId=upload["uploadId"],
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
    read_set = done["readSetId"]
    _wait(lambda: client.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set)["status"]
          != "PROCESSING_UPLOAD")
    read_set_arn = client.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set)["arn"]
    client.tag_resource(resourceArn=read_set_arn, tags={"fuzz": label, "kind": "read set"})
    pending = client.create_multipart_read_set_upload(
        sequenceStoreId=store["id"], sourceFileType="FASTQ", name=f"{label}-pending", subjectId="subject",
        sampleId="sample")["uploadId"]
    client.upload_read_set_part(sequenceStoreId=store["id"], uploadId=pending, partSource="SOURCE1",
                                partNumber=1, payload=data)
    access_point = (store.get("s3Access") or {}).get(
        "s3AccessPointArn", f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/{ACCOUNT}-{store['id']}")
    with contextlib.suppress(ClientError):
        client.put_s3_access_policy(s3AccessPointArn=access_point,
                                    s3AccessPolicy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    return Side(store["id"], store["arn"], read_set, read_set_arn, pending, access_point)


def setup(client: Any, region: str, rng: random.Random, buckets_dir: Path | None) -> Resources:
    """Create the victim and scratch stores, a reference (when the buckets dir is known) and jobs."""
    notes: list[str] = []
    victim = _side(client, "victim", rng)
    scratch = _side(client, "scratch", rng)
    stores = client.list_reference_stores().get("referenceStores", [])
    if stores:
        ref_store = stores[0]
    else:
        ref_store = client.create_reference_store(name="fuzz-references", tags={"fuzz": "reference"})
    reference, reference_arn, jobs = "1234567890", "", {}
    references = client.list_references(referenceStoreId=ref_store["id"]).get("references", [])
    active = [r for r in references if r.get("status") == "ACTIVE"]
    if active:
        reference, reference_arn = active[0]["id"], active[0]["arn"]
    elif buckets_dir is not None:
        (buckets_dir / "fuzz").mkdir(parents=True, exist_ok=True)
        fasta = buckets_dir / "fuzz" / "reference.fa"
        fasta.write_text(">chr1\n" + "\n".join("".join(rng.choice("ACGT") for _ in range(60)) for _ in range(40))
                         + "\n")
        job = client.start_reference_import_job(
            referenceStoreId=ref_store["id"], roleArn=f"arn:aws:iam::{ACCOUNT}:role/fuzz",
            sources=[{"sourceFile": "s3://fuzz/reference.fa", "name": "fuzz-reference"}])
        jobs["ReferenceImportJobId"] = job["id"]

        def finished() -> bool:
            got = client.get_reference_import_job(referenceStoreId=ref_store["id"], id=job["id"])
            return got["status"] not in ("SUBMITTED", "IN_PROGRESS")

        _wait(finished)
        got = client.get_reference_import_job(referenceStoreId=ref_store["id"], id=job["id"])
        if got["status"] == "COMPLETED":
            reference = got["sources"][0]["referenceId"]
            reference_arn = client.get_reference_metadata(referenceStoreId=ref_store["id"], id=reference)["arn"]
        else:
            notes.append(f"reference import ended {got['status']}")
    else:
        notes.append("no reference: pass --buckets-dir to import one")
    if reference_arn:
        client.tag_resource(resourceArn=reference_arn, tags={"fuzz": "reference"})
    else:
        reference_arn = f"arn:aws:omics:{region}:{ACCOUNT}:referenceStore/{ref_store['id']}/reference/{reference}"
    role = f"arn:aws:iam::{ACCOUNT}:role/fuzz"
    starters = {
        "ImportJobId": lambda: client.start_read_set_import_job(
            sequenceStoreId=scratch.store, roleArn=role,
            sources=[{"sourceFiles": {"source1": "s3://fuzz/missing.fastq"}, "sourceFileType": "FASTQ",
                      "subjectId": "s", "sampleId": "s"}])["id"],
        "ExportJobId": lambda: client.start_read_set_export_job(
            sequenceStoreId=scratch.store, destination="s3://fuzz/export/", roleArn=role,
            sources=[{"readSetId": scratch.read_set}])["id"],
        "ActivationJobId": lambda: client.start_read_set_activation_job(
            sequenceStoreId=scratch.store, sources=[{"readSetId": scratch.read_set}])["id"],
    }
    for name, start in starters.items():
        try:
            jobs[name] = start()
        except (ClientError, BotoCoreError) as exc:
            notes.append(f"{name}: {exc}")
    return Resources(region, victim, scratch, ref_store["id"], ref_store["arn"], reference, reference_arn, jobs,
                     notes)


def new_upload(client: Any, side: Side) -> None:
    with contextlib.suppress(ClientError, BotoCoreError):
        side.upload = client.create_multipart_read_set_upload(
            sequenceStoreId=side.store, sourceFileType="FASTQ", name="fuzz-upload", subjectId="s",
            sampleId="s")["uploadId"]


# ---------------------------------------------------------------------------------------------
# Snapshots of the victim's data
# ---------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _pages(client: Any, method: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page = getattr(client, method)(**kwargs, **({"nextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return items


def snapshot(client: Any, res: Resources) -> dict[str, Any]:
    """What the invalid requests must leave alone."""
    victim = res.victim

    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return _clean(call())
        except ClientError as exc:
            return {"error": exc.response["Error"]["Code"]}

    shot: dict[str, Any] = {
        "sequenceStores": {s["id"]: _clean(s) for s in _pages(client, "list_sequence_stores", "sequenceStores")},
        "victimStore": attempt(lambda: client.get_sequence_store(id=victim.store)),
        "readSets": attempt(lambda: _pages(client, "list_read_sets", "readSets", sequenceStoreId=victim.store)),
        "uploads": attempt(lambda: _pages(client, "list_multipart_read_set_uploads", "uploads",
                                          sequenceStoreId=victim.store)),
        "uploadParts": attempt(lambda: _pages(client, "list_read_set_upload_parts", "parts",
                                              sequenceStoreId=victim.store, uploadId=victim.upload,
                                              partSource="SOURCE1")),
        "importJobs": attempt(lambda: _pages(client, "list_read_set_import_jobs", "importJobs",
                                             sequenceStoreId=victim.store)),
        "exportJobs": attempt(lambda: _pages(client, "list_read_set_export_jobs", "exportJobs",
                                             sequenceStoreId=victim.store)),
        "activationJobs": attempt(lambda: _pages(client, "list_read_set_activation_jobs", "activationJobs",
                                                 sequenceStoreId=victim.store)),
        "accessPolicy": attempt(lambda: client.get_s3_access_policy(s3AccessPointArn=victim.access_point)),
        "referenceStore": attempt(lambda: client.get_reference_store(id=res.reference_store)),
        "reference": attempt(lambda: client.get_reference_metadata(referenceStoreId=res.reference_store,
                                                                   id=res.reference)),
    }
    read_sets = shot["readSets"] if isinstance(shot["readSets"], list) else []
    shot["readSetMetadata"] = {
        r["id"]: attempt(lambda r=r: client.get_read_set_metadata(sequenceStoreId=victim.store, id=r["id"]))
        for r in read_sets
    }
    shot["tags"] = {arn: attempt(lambda arn=arn: client.list_tags_for_resource(resourceArn=arn))
                    for arn in res.tag_arns(victim)}
    return shot


def compare(before: dict[str, Any], after: dict[str, Any], res: Resources, created: set[str],
            deleted: set[str]) -> list[str]:
    """The differences the invalid requests made (valid creates and deletes, and the scratch store,
    are allowed to change the list of stores)."""
    problems = []
    stores_before, stores_after = before["sequenceStores"], after["sequenceStores"]
    expected = (set(stores_before) | created) - deleted
    if set(stores_after) != expected:
        problems.append(f"sequence stores: unexpected {sorted(set(stores_after) - expected)}, "
                        f"missing {sorted(expected - set(stores_after))}")
    for store_id, entry in stores_before.items():
        if store_id in (res.scratch.store, *res.disposable) or store_id in deleted:
            continue
        if stores_after.get(store_id) != entry:
            problems.append(f"sequence store {store_id}: {entry} -> {stores_after.get(store_id)}")
    for key in before:
        if key != "sequenceStores" and before[key] != after[key]:
            problems.append(f"{key}: {json.dumps(before[key], default=str)[:600]} -> "
                            f"{json.dumps(after[key], default=str)[:600]}")
    return problems


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def _bindings(op: Any) -> dict[str, tuple[str, str]]:
    """member -> (location, wire name)."""
    result = {}
    for name, member in op.input_shape.members.items():
        result[name] = (member.serialization.get("location", "body"), member.serialization.get("name", name))
    return result


def _encode_label(value: Any) -> str:
    # surrogatepass: a lone surrogate goes out as the (invalid UTF-8) bytes ED A0 80.
    return quote(str(value), safe="-_.~", errors="surrogatepass")


def build(op: Any, params: dict[str, Any], category: str, *, raw_labels: dict[str, str] | None = None,
          extra_query: list[str] | None = None, body: bytes | None = None, content_type: str | None = None,
          method: str | None = None, headers: dict[str, str] | None = None, case: str = "",
          invalid: bool = False, declared_length: int | None = None) -> Wire:
    """The wire form of `params` for `op`, as botocore serializes restJson1 (plus the tricks)."""
    bindings = _bindings(op)
    uri, _, fixed_query = op.http["requestUri"].partition("?")
    labels = {wire: member for member, (where, wire) in bindings.items() if where == "uri"}

    def label(match: Any) -> str:
        wire = match.group(1).rstrip("+")
        if raw_labels and wire in raw_labels:
            return raw_labels[wire]
        member = labels[wire]
        if member not in params or params[member] is DELETE:
            return ""
        return _encode_label(params[member])

    path = regex.sub(r"\{([^}]+)\}", label, uri)
    query: list[str] = [fixed_query] if fixed_query else []
    wire_headers: dict[str, str] = dict(headers or {})
    json_members: dict[str, Any] = {}
    payload = op.input_shape.serialization.get("payload")
    for member, value in params.items():
        if value is DELETE:
            continue
        where, wire = bindings.get(member, ("body", member))
        if where == "uri":
            continue
        if where == "querystring":
            values = value if isinstance(value, list) else [value]
            for item in values:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                query.append(f"{quote(wire, safe='-_.~')}={_encode_label(text)}")
        elif where == "header":
            wire_headers[wire] = str(value)
        elif member != payload:
            json_members[member] = value
    query += extra_query or []
    target = path + ("?" + "&".join(query) if query else "")
    if payload:
        data = body if body is not None else params.get(payload, b"")
        wire_headers.setdefault("X-Amz-Content-SHA256", UNSIGNED_PAYLOAD)
        if not isinstance(data, bytes):
            data = json.dumps(data).encode()
    elif body is not None:
        data = body
        if content_type is None:
            content_type = "application/json"
    else:
        has_body = any(where == "body" for where, _ in bindings.values())
        data = json.dumps(json_members).encode() if (json_members or has_body) else b""
        if data and content_type is None:
            content_type = "application/json"
    if content_type is not None:
        wire_headers["Content-Type"] = content_type
    return Wire(op.name, category, method or op.http["method"], target, wire_headers, data,
                declared_length=declared_length, case=case, invalid=invalid)


def _ascii_safe(value: Any) -> bool:
    """Header values must be latin-1 text without line breaks."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return "\r" not in value and "\n" not in value


class Generator:
    """Produces the fuzz requests, cycling through every constraint and type case of the model."""

    def __init__(self, res: Resources, seed: int) -> None:
        self.res = res
        self.rng = random.Random(seed)
        self.region = res.region
        self.constraint_cases: list[tuple[Any, tuple[Any, ...], str, Any]] = []
        self.type_cases: list[tuple[Any, tuple[Any, ...], Any]] = []
        for op in OPERATIONS:
            if op.input_shape is None:
                continue
            payload = op.input_shape.serialization.get("payload")
            for path, shape in walk(op.input_shape):
                if path[0] == payload:
                    continue  # any bytes are a part
                parent = op.input_shape
                for step in path[:-1]:
                    parent = child(parent, step)
                for kind, value in violations(shape, op, path, parent):
                    self.constraint_cases.append((op, path, kind, value))
                top = op.input_shape.members[path[0]].serialization.get("location")
                if path[-1] is MAP_KEY or (top and len(path) > 1):
                    continue  # query list items are strings on the wire, whatever they were
                where = location(op, path)
                if where == "querystring" and shape.type_name == "list":
                    continue
                for value in wrong_types(shape, where):
                    if shape.type_name == "string" and fits(shape, value):
                        continue  # on the wire every query, header and label value is a string
                    self.type_cases.append((op, path, value))
        self.rng.shuffle(self.constraint_cases)
        self.rng.shuffle(self.type_cases)
        self.constraint_index = 0
        self.type_index = 0
        self.covered: set[str] = set()
        self.last_params: dict[str, Any] = {}
        self.skipped: Counter[str] = Counter()
        self.categories: list[tuple[str, float, Callable[[Any], Wire | None]]] = [
            ("valid", 22, self.valid),
            ("constraint", 20, self.constraint),
            ("type", 16, self.wrong_type),
            ("bytes", 7, self.random_bytes),
            ("huge", 6, self.huge),
            ("empty", 5, self.empty),
            ("weird", 5, self.weird),
            ("label", 9, self.label_trick),
            ("query", 6, self.query_trick),
            ("header", 3, self.header_trick),
            ("method", 1, self.method_trick),
        ]

    # --- parameters

    def params(self, op: Any, side: Side) -> dict[str, Any]:
        ids = self.res.ids(side, op.name)
        params = valid_value(op.input_shape, self.rng, self.region, ids) if op.input_shape else {}
        params.pop("nextToken", None)
        if op.name == "UploadReadSetPart":
            params["partSource"] = "SOURCE1"
        if op.name in ("GetReadSet", "GetReference"):
            params["partNumber"] = 1
            if self.rng.random() < 0.7:
                params.pop("range", None)
        if op.name == "PutS3AccessPolicy":
            params["s3AccessPolicy"] = json.dumps({"Version": "2012-10-17", "Statement": []})
        if side is self.res.scratch:
            self._valid_targets(op, params)
        self.last_params = params
        return params

    def _valid_targets(self, op: Any, params: dict[str, Any]) -> None:
        """Valid mutating requests must leave the victim (and the one reference store) alone."""
        nowhere = str(self.rng.randrange(10**9, 10**10))
        if op.name == "DeleteSequenceStore":
            params["id"] = self.res.disposable.pop() if self.res.disposable else nowhere
        elif op.name in ("DeleteReferenceStore", "DeleteReference"):
            params["id"] = nowhere
        elif op.name == "BatchDeleteReadSet":
            params["ids"] = [str(self.rng.randrange(10**9, 10**10)) for _ in params.get("ids", [])] or [nowhere]
        elif op.name == "TagResource" or op.name == "UntagResource":
            params["resourceArn"] = self.rng.choice(self.res.tag_arns(self.res.scratch))
        elif op.name == "StartReferenceImportJob":
            for source in params.get("sources", []):
                source["sourceFile"] = "s3://fuzz/missing-reference.fa"

    def side(self, op: Any) -> Side:
        """Where invalid requests aim: the victim, whose data must not change."""
        return self.res.victim

    # --- categories

    def valid(self, op: Any) -> Wire | None:
        params = self.params(op, self.res.scratch)
        extra = [self.rng.choice(QUERY_TRICKS[:2])] if self.rng.random() < 0.1 else None
        raw_labels = None
        if self.rng.random() < 0.1:
            # Percent-encoding every character of a label changes nothing.
            labels = [m for m, (where, _) in _bindings(op).items() if where == "uri" and m in params]
            if labels:
                member = self.rng.choice(labels)
                wire = _bindings(op)[member][1]
                raw_labels = {wire: "".join(f"%{b:02X}" for b in str(params[member]).encode())}
        return build(op, params, "valid", extra_query=extra, raw_labels=raw_labels)

    def constraint(self, op: Any) -> Wire | None:
        case_op, path, kind, value = self.constraint_cases[self.constraint_index % len(self.constraint_cases)]
        self.constraint_index += 1
        params = self.params(case_op, self.side(case_op))
        where = location(case_op, path)
        if where == "header" and not _ascii_safe(value):
            return None
        set_at(params, case_op, path, value, self.rng, self.region, self.res.ids(self.res.victim, case_op.name))
        name = f"{case_op.name}.{'.'.join(map(str, path))}:{kind}:{_short(value)}"
        self.covered.add(name)
        return build(case_op, params, "constraint", case=name, invalid=True)

    def wrong_type(self, op: Any) -> Wire | None:
        case_op, path, value = self.type_cases[self.type_index % len(self.type_cases)]
        self.type_index += 1
        params = self.params(case_op, self.side(case_op))
        where = location(case_op, path)
        if where == "header" and not _ascii_safe(value):
            return None
        set_at(params, case_op, path, value, self.rng, self.region, self.res.ids(self.res.victim, case_op.name))
        name = f"{case_op.name}.{'.'.join(map(str, path))}:type:{_short(value)}"
        self.covered.add(name)
        return build(case_op, params, "type", case=name, invalid=True)

    def random_bytes(self, op: Any) -> Wire | None:
        choice = self.rng.randrange(8)
        # Bytes that might still be an acceptable body (a corrupted byte) go to the scratch store.
        params = self.params(op, self.res.scratch if choice == 4 else self.side(op))
        as_json = json.dumps({k: v for k, v in params.items() if not isinstance(v, bytes)})
        if choice == 0:
            body = b"\x00" + self.rng.randbytes(self.rng.randint(1, 4096))
        elif choice == 1:
            body = bytes(self.rng.choice([0, 0xFF, 0x7B, 0x22]) for _ in range(self.rng.randint(1, 64)))
        elif choice == 2:
            body = self.rng.choice([b"[]", b"\"x\"", b"1", b"null", b"true", b"{", b"}", b"{\"a\":}", b"{}}",
                                    b"\xef\xbb\xbf{}", b"{\"name\": NaN}", b"{\"maxResults\": Infinity}",
                                    b"{\"maxResults\": 1e400}", b"{\"name\":\"\\ud800\"}", b"\x00{}",
                                    b"{\"a\":1,\"a\":2}", b"{\"name\": \"x\"} trailing", b"\xff\xfe{\x00}\x00"])
        elif choice == 3:
            depth = self.rng.choice([100, 900, 5000, 100_000])
            body = (b"[" * depth + b"]" * depth) if self.rng.random() < 0.5 else (
                b"{\"a\":" * depth + b"1" + b"}" * depth)
        elif choice == 4:
            text = as_json.encode()
            position = self.rng.randrange(max(1, len(text)))
            body = text[:position] + self.rng.randbytes(self.rng.randint(1, 8)) + text[position + 1:]
        elif choice == 5:
            body = as_json.encode("utf-16")
        elif choice == 6:
            body = as_json.encode()[: self.rng.randrange(1, max(2, len(as_json)))]
        else:
            body = b"{\"" + "é".encode("latin-1") + b"\": 1}"
        if op.input_shape.serialization.get("payload"):
            # Any bytes are a valid part: send them to the scratch upload.
            params = self.params(op, self.res.scratch)
            return build(op, params, "bytes", body=body)
        content_type = self.rng.choice(["application/json", None, "application/x-amz-json-1.1"])
        return build(op, params, "bytes", body=body, content_type=content_type, invalid=choice != 4,
                     case=f"bytes:{choice}")

    def huge(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        payload = op.input_shape.serialization.get("payload")
        body_members = [m for m, (where, _) in _bindings(op).items() if where == "body" and m != payload]
        query_members = [m for m, (where, _) in _bindings(op).items() if where == "querystring"]
        choice = self.rng.randrange(6)
        if choice == 0 and body_members:
            member = self.rng.choice(body_members)
            params[member] = "x" * self.rng.choice([10_000, 200_000, 1_000_000 - 200])
            return build(op, params, "huge", case=f"{op.name}.{member}:huge-string", invalid=True)
        if choice == 1 and body_members:
            params[self.rng.choice(body_members)] = self.rng.choice(
                [10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, 10**4000])
            return build(op, params, "huge", invalid=True)
        if choice == 2 and body_members:
            params[self.rng.choice(body_members)] = ["1234567890"] * self.rng.choice([1000, 50_000])
            return build(op, params, "huge", invalid=True)
        if choice == 3 and query_members:
            member = self.rng.choice(query_members)
            params[member] = self.rng.choice(["9" * 5000, "A" * 7000])
            return build(op, params, "huge", invalid=True)
        if choice == 4:
            # A declared body over the limit with little sent: refused without waiting for it.
            limit = PART_LIMIT if op.input_shape.serialization.get("payload") else MAX_JSON_BODY
            length = self.rng.choice([limit + 1, limit * 2, 10**15])
            return build(op, params, "huge", declared_length=length, invalid=True,
                         body=b"{}" if not op.input_shape.serialization.get("payload") else fastq(1, self.rng))
        labels = [wire for where, wire in _bindings(op).values() if where == "uri"]
        if labels:
            return build(op, params, "huge", raw_labels={self.rng.choice(labels): "1" * 8000}, invalid=True)
        return build(op, self.params(op, self.res.scratch), "huge", extra_query=["x=" + "y" * 8000])

    def empty(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        options = []
        payload = op.input_shape.serialization.get("payload")
        for member, (where, _) in _bindings(op).items():
            if member == payload:
                continue
            shape = op.input_shape.members[member]
            # Only empty values that break a rule: "" against a minimum or pattern, [] against a
            # minimum, {} missing required members.
            empty = {"string": "" if not fits(shape, "") else None,
                     "list": [] if shape.metadata.get("min") and where == "body" else None,
                     "structure": {} if shape.required_members else None}.get(shape.type_name)
            if empty is not None:
                options.append((member, empty))
        if options and self.rng.random() < 0.8:
            member, value = self.rng.choice(options)
            params[member] = value
            return build(op, params, "empty", case=f"{op.name}.{member}:empty", invalid=True)
        if _has_required_body(op):
            return build(op, params, "empty", body=self.rng.choice([b"", b"{}", b" ", b"\n"]), invalid=True)
        if op.input_shape.serialization.get("payload"):
            return build(op, params, "empty", body=b"", invalid=True, case="empty part")
        return None

    def weird(self, op: Any) -> Wire | None:
        """Odd but perhaps valid strings (unicode, control characters, lone surrogates, boundary
        lengths) in string members: sent to the scratch store, any answer but a 5xx will do."""
        params = self.params(op, self.res.scratch)
        strings = [(path, shape) for path, shape in walk(op.input_shape)
                   if shape.type_name == "string" and location(op, path) in ("body", "querystring")
                   and path[-1] is not MAP_KEY]
        keyed = [(path, shape) for path, shape in walk(op.input_shape) if path[-1] is MAP_KEY]
        if not strings and not keyed:
            return None
        path, shape = self.rng.choice(strings + keyed)
        meta = shape.metadata
        value = self.rng.choice([
            *WEIRD_STRINGS,
            "a" * meta.get("max", 64), "é" * meta.get("max", 64), "🧬" * meta.get("max", 64),
            "a" * max(meta.get("min", 1), 1),
        ])
        try:
            set_at(params, op, path, value, self.rng, self.region, self.res.ids(self.res.scratch, op.name))
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        return build(op, params, "weird", case=f"{op.name}.{'.'.join(map(str, path))}:weird")

    def label_trick(self, op: Any) -> Wire | None:
        labels = [(member, wire) for member, (where, wire) in _bindings(op).items() if where == "uri"]
        if not labels:
            return self.query_trick(op)
        maybe_valid = self.rng.random() < 0.1
        params = self.params(op, self.res.scratch if maybe_valid else self.side(op))
        member, wire = self.rng.choice(labels)
        trick = self.rng.choice(MAYBE_VALID_LABEL_TRICKS if maybe_valid else LABEL_TRICKS)
        raw = trick.replace("{v}", _encode_label(params.get(member, "1234567890")))
        raw = raw.encode("utf-8").decode("latin-1")  # raw UTF-8 bytes for unicode tricks
        return build(op, params, "label", raw_labels={wire: raw}, case=f"label:{trick[:20]}",
                     invalid=not maybe_valid)

    def query_trick(self, op: Any) -> Wire | None:
        # Unknown parameters may be ignored: a valid request, so aimed at the scratch store.
        # Some tricks leave the request valid (partNumber=%31 is partNumber=1), so they go to the
        # scratch store and any answer but a 5xx will do.
        trick = self.rng.choice(QUERY_TRICKS)
        params = self.params(op, self.res.scratch)
        for part in trick.split("&"):
            params.pop(part.split("=")[0], None)  # the trick's own value replaces it
        return build(op, params, "query", extra_query=[trick], case=f"query:{trick[:20]}")

    def header_trick(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        choice = self.rng.randrange(4)
        payload = op.input_shape.serialization.get("payload")
        if choice == 0 and not payload and _has_required_body(op):
            accepted = self.rng.random() < 0.3
            if accepted:
                params = self.params(op, self.res.scratch)
            body = json.dumps({k: v for k, v in params.items()
                               if _bindings(op).get(k, ("body",))[0] == "body"}).encode()
            content_type = self.rng.choice(ACCEPTED_CONTENT_TYPES if accepted else REFUSED_CONTENT_TYPES)
            return build(op, params, "header", content_type=content_type, invalid=not accepted, body=body,
                         case=f"content-type:{content_type}")
        if choice == 1:
            # A signed body hash the body does not have, or an unsigned JSON body.
            declared = self.rng.choice(
                ["0" * 64, "zz", "", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "E3B0C442" + "0" * 56]
                if payload else [UNSIGNED_PAYLOAD, hashlib.sha256(b"{}").hexdigest(), "", "0" * 64])
            wire = build(op, params, "header", invalid=True, headers={"X-Amz-Content-SHA256": declared},
                         case=f"declared-sha256:{declared[:20]}")
            if payload or wire.body != b"{}" or declared != hashlib.sha256(b"{}").hexdigest():
                return wire
            return None
        if choice == 2:
            member = "range" if op.name == "GetReference" else None
            if member:
                params[member] = self.rng.choice(["bytes=99-1", "bytes=-", "bytes=0-", "bytes=1-2,3-4",
                                                  "x" * 200, "bytes=99999999999999999999-", "-1"])
                return build(op, params, "header", case="header:range")
        # Headers the protocol ignores: a valid request, so to the scratch store.
        return build(op, self.params(op, self.res.scratch), "header", headers={
            self.rng.choice(["X-Amz-Target", "X-Forwarded-For", "X-Amzn-ErrorType", "Expect"]):
                self.rng.choice(["omics.DeleteSequenceStore", "127.0.0.1", "x" * 4000, "100-continue"])
        })

    def method_trick(self, op: Any) -> Wire | None:
        uri = op.http["requestUri"].split("?")[0]
        routed = {other.http["method"] for other in OPERATIONS
                  if len(other.http["requestUri"].split("?")[0].split("/")) == len(uri.split("/"))}
        choices = [m for m in METHODS if m not in routed]
        params = self.params(op, self.side(op))
        return build(op, params, "method", method=self.rng.choice(choices), invalid=True)

    # --- the stream

    def next(self) -> Wire:
        names = [c[0] for c in self.categories]
        weights = [c[1] for c in self.categories]
        while True:
            op = self.rng.choice(OPERATIONS)
            category = self.rng.choices(names, weights)[0]
            make = dict((c[0], c[2]) for c in self.categories)[category]
            try:
                wire = make(op)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                self.skipped[f"{category}: {type(exc).__name__}"] += 1  # reported, then another
                continue
            if wire is not None:
                subject, store = self.last_params.get("id"), self.last_params.get("sequenceStoreId")
                wire.subject = subject if isinstance(subject, str) else None
                wire.store = store if isinstance(store, str) else None
                return wire


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:16]}...({len(text)})"


def _has_required_body(op: Any) -> bool:
    """True when a JSON body member is required (a streamed payload is not a JSON body)."""
    shape = op.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return shape is not None and any(
        "location" not in shape.members[name].serialization and name != payload
        for name in shape.required_members)


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


@dataclass
class Report:
    requests: int = 0
    seconds: float = 0.0
    by_operation: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)  # 5xx and no answer
    accepted_invalid: list[str] = field(default_factory=list)  # 2xx to a request that must fail
    data_changes: list[str] = field(default_factory=list)
    covered_cases: int = 0
    total_cases: int = 0
    unframed: int = 0  # 4xx answers without x-amzn-ErrorType (uvicorn refusing malformed HTTP)
    notes: list[str] = field(default_factory=list)

    @property
    def overall(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_operation.values():
            total.update(counts)
        return total

    @property
    def ok(self) -> bool:
        overall = self.overall
        return not overall["5xx"] and not overall["none"] and not self.data_changes

    def render(self) -> str:
        lines = [f"{'operation':40} {'2xx':>6} {'4xx':>6} {'5xx':>6} {'none':>6}"]
        for name in sorted(self.by_operation):
            c = self.by_operation[name]
            lines.append(f"{name:40} {c['2xx']:6} {c['4xx']:6} {c['5xx']:6} {c['none']:6}")
        o = self.overall
        lines.append(f"{'TOTAL':40} {o['2xx']:6} {o['4xx']:6} {o['5xx']:6} {o['none']:6}")
        lines.append("")
        lines.append(f"{'category':40} {'2xx':>6} {'4xx':>6} {'5xx':>6} {'none':>6}")
        for name in sorted(self.by_category):
            c = self.by_category[name]
            lines.append(f"{name:40} {c['2xx']:6} {c['4xx']:6} {c['5xx']:6} {c['none']:6}")
        lines.append("")
        lines.append(f"{self.requests} requests in {self.seconds:.1f} s "
                     f"({self.requests / max(self.seconds, 1e-9):.0f}/s); constraint and type cases covered: "
                     f"{self.covered_cases} of {self.total_cases}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.unframed:
            lines.append(f"{self.unframed} 4xx answers came from uvicorn itself (malformed HTTP: raw non-ASCII "
                         "or control bytes in the request target, odd methods), without x-amzn-ErrorType")
        if self.accepted_invalid:
            lines.append(f"{len(self.accepted_invalid)} invalid requests were accepted (2xx), e.g.:")
            lines += [f"  {line}" for line in self.accepted_invalid[:10]]
        if self.failures:
            lines.append(f"FAILED: {len(self.failures)} answers >= 500 or no answer:")
            lines += [f"  {line}" for line in self.failures[:30]]
        if self.data_changes:
            lines.append("FAILED: the invalid requests changed the victim's data:")
            lines += [f"  {line}" for line in self.data_changes]
        lines.append("OK: no answer >= 500, every request answered, the victim's data unchanged" if self.ok
                     else "FAILED")
        return "\n".join(lines)


def describe(wire: Wire, answer: Answer) -> str:
    body = wire.body[:160]
    return (f"{answer.status or answer.error} {wire.operation} [{wire.category} {wire.case}] {wire.method} "
            f"{wire.target[:200]!r} body={body!r} -> {answer.body[:300]!r} "
            f"(request id {answer.headers.get('x-amzn-requestid')})")


def run(url: str, key: str, secret: str, *, requests: int, seed: int = 0, region: str = "us-east-1",
        buckets_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Set up the resources, snapshot, send `requests` fuzz requests, snapshot again."""
    rng = random.Random(seed)
    client = make_client(url, key, secret, region)
    res = setup(client, region, rng, buckets_dir)
    report = Report(notes=list(res.notes))
    before = snapshot(client, res)
    generator = Generator(res, seed)
    report.total_cases = len(generator.constraint_cases) + len(generator.type_cases)
    transport = Transport(url, key, secret, region)
    created: set[str] = set()
    deleted: set[str] = set()
    started = time.monotonic()
    for number in range(requests):
        wire = generator.next()
        answer = transport.send(wire)
        report.by_operation[wire.operation][answer.bucket] += 1
        report.by_category[wire.category][answer.bucket] += 1
        if answer.status is None or answer.status >= 500:
            report.failures.append(describe(wire, answer))
        elif answer.status >= 400 and "x-amzn-errortype" not in answer.headers:
            report.unframed += 1
        elif 200 <= answer.status < 300:
            if wire.invalid:
                report.accepted_invalid.append(describe(wire, answer))
            _track(wire, answer, res, client, created, deleted)
        if progress and (number + 1) % 1000 == 0:
            progress(f"{number + 1} requests, {report.overall['5xx']} answers >= 500")
    report.seconds = time.monotonic() - started
    report.requests = requests
    transport.close()
    report.covered_cases = len(generator.covered)
    if generator.skipped:
        report.notes.append(f"generator skipped (and replaced) {dict(generator.skipped)}")
    # Jobs the valid requests started may still be running: let them settle before comparing.
    after = snapshot(client, res)
    report.data_changes = compare(before, after, res, created, deleted)
    return report


def _track(wire: Wire, answer: Answer, res: Resources, client: Any, created: set[str], deleted: set[str]) -> None:
    """Follow what a successful request changed."""
    if wire.operation == "CreateSequenceStore":
        with contextlib.suppress(ValueError, KeyError):
            store_id = json.loads(answer.body)["id"]
            created.add(store_id)
            res.disposable.append(store_id)
    elif wire.operation == "DeleteSequenceStore" and wire.subject:
        deleted.add(wire.subject)
    elif (wire.operation in ("AbortMultipartReadSetUpload", "CompleteMultipartReadSetUpload")
          and wire.store == res.scratch.store):
        new_upload(client, res.scratch)  # the victim's upload stays: its change is reported


@contextlib.contextmanager
def own_server(key: str, secret: str) -> Iterator[tuple[str, Path, Path]]:
    """A `seqstore serve` on a temporary data dir: yields (url, data dir, log file)."""
    with tempfile.TemporaryDirectory(prefix="seqstore-fuzz-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "SEQSTORE_ACCESS_KEY_ID": key, "SEQSTORE_SECRET_ACCESS_KEY": secret}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
                 "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 30
                while True:
                    if process.poll() is not None:
                        raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
                    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not start in 30 s")
                    time.sleep(0.1)
                yield url, data_dir, log_path
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="a running seqstore (default: start one on a temporary directory)")
    parser.add_argument("--access-key", default="fuzz-key")
    parser.add_argument("--secret", default="fuzz-secret")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--buckets-dir", type=Path, help="the server's buckets dir (to import a reference)")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.url:
        report = run(args.url, args.access_key, args.secret, requests=args.requests, seed=args.seed,
                     region=args.region, buckets_dir=args.buckets_dir, progress=progress)
        print(report.render())
        return 0 if report.ok else 1
    with own_server(args.access_key, args.secret) as (url, data_dir, log_path):
        report = run(url, args.access_key, args.secret, requests=args.requests, seed=args.seed,
                     region=args.region, buckets_dir=data_dir / "buckets", progress=progress)
        print(report.render())
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if "Traceback" in line or "Error" in line or "ERROR" in line]
        if errors:
            print(f"server log ({log_path}) has {len(errors)} error lines, e.g.:")
            print("\n".join(f"  {line}" for line in errors[:20]))
            if not report.ok:
                print(log_path.read_text(errors="replace")[-6000:])
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

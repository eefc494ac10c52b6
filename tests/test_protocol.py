"""The restJson1 protocol as botocore's omics model defines it: routing, parsing, the model's
constraints, output serialization and errors. Constraint and type tests are generated from the
model itself, so every member with a rule gets a violating request."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
import regex
import requests
import uvicorn
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape

from seqstore.protocol.dispatch import Dispatcher
from seqstore.protocol.operations import Operation, Registry
from seqstore.protocol.parsing import payload_member
from seqstore.protocol.streams import ResponseStream
from tests.helpers.clients import client_env, error_message, error_status, make_client
from tests.helpers.names import MIB, UUID_RE, unique
from tests.helpers.ports import free_port

MODEL = botocore.session.get_session().get_service_model("omics")
ENV = client_env("http://unused")
TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def storage_operations() -> list[OperationModel]:
    """The storage API: operations with a `storage` host prefix, plus the three tag calls."""
    ops = [MODEL.operation_model(name) for name in MODEL.operation_names]
    return [
        op for op in ops
        if "storage" in (op.endpoint or {}).get("hostPrefix", "")
        or op.name in ("TagResource", "UntagResource", "ListTagsForResource")
    ]


def send(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | Iterator[bytes] = b"",
    signed_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """A raw HTTP request, SigV4-signed with the credentials users configure (`path` may carry
    a query string, sent as is)."""
    # Sign the URL as requests will send it (it normalizes e.g. %31 to 1).
    url = requests.Request(method, base_url + path).prepare().url or base_url + path
    to_sign = signed_body if signed_body is not None else body
    assert isinstance(to_sign, bytes)
    request = AWSRequest(method=method, url=url, data=to_sign, headers=dict(headers or {}))
    credentials = Credentials(ENV["AWS_ACCESS_KEY_ID"], ENV["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(credentials, "omics", ENV["AWS_DEFAULT_REGION"]).add_auth(request)
    return requests.request(method, url, data=body, headers=dict(request.headers.items()), timeout=30)


def send_json(base_url: str, method: str, path: str, payload: Any) -> requests.Response:
    return send(base_url, method, path, body=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"})


def assert_error(response: requests.Response, code: str, *fragments: str) -> str:
    """The response is the modelled error `code`, readable by botocore; return its message."""
    assert response.headers.get("x-amzn-ErrorType") == code, (response.status_code, response.text)
    status = MODEL.shape_for(code).metadata["error"]["httpStatusCode"] if code in MODEL.shape_names else 404
    assert response.status_code == status
    assert UUID_RE.fullmatch(response.headers.get("x-amzn-RequestId", ""))
    message = response.json()["message"]
    assert isinstance(message, str) and message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


@pytest.fixture(scope="module")
def target(omics) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A store the constraint tests aim their (refused) calls at."""
    created = omics.create_sequence_store(name=unique("target"))
    return {"id": created["id"], "arn": created["arn"]}


# ---------------------------------------------------------------------------------------------
# Constraints, generated from the model
# ---------------------------------------------------------------------------------------------

# The operations served today and a valid input for each (`{id}` / `{arn}` name the target store).
BASE_INPUTS: dict[str, dict[str, Any]] = {
    "CreateSequenceStore": {"name": "constraint-test"},
    "UpdateSequenceStore": {"id": "{id}"},
    "ListSequenceStores": {},
    "GetSequenceStore": {"id": "{id}"},
    "DeleteSequenceStore": {"id": "{id}"},
    "TagResource": {"resourceArn": "{arn}", "tags": {}},
    "UntagResource": {"resourceArn": "{arn}", "tagKeys": ["k"]},
    "ListTagsForResource": {"resourceArn": "{arn}"},
}
SAMPLES = [
    "sample",
    "1234567890",
    "s3://sample-bucket/prefix/",
    "arn:aws:kms:us-east-1:123456789012:key/sample",
    "arn:aws:omics:us-east-1:123456789012:sequenceStore/1234567890",
    "",
]
KINDS = ("required", "enum", "max-length", "min-length", "pattern", "range-max", "range-min",
         "list-max", "map-max")


def _fits(shape: Shape, value: str) -> bool:
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10**9)
    pattern = shape.metadata.get("pattern")
    return low <= len(value) <= high and (not pattern or regex.fullmatch(pattern, value) is not None)


def valid_value(shape: Shape) -> Any:
    """A value that satisfies every rule of `shape`."""
    if shape.type_name == "string":
        if shape.enum:
            return shape.enum[0]
        for sample in SAMPLES:
            if _fits(shape, sample):
                return sample
        raise AssertionError(f"no sample fits {shape.name}")
    if shape.type_name == "structure":
        return {name: valid_value(shape.members[name]) for name in shape.required_members}
    if shape.type_name == "list":
        return []
    if shape.type_name == "map":
        return {}
    if shape.type_name in ("integer", "long"):
        return shape.metadata.get("min", 1)
    raise AssertionError(shape.type_name)


def _string_of_length(shape: Shape, length: int) -> str:
    """A string of `length` characters that matches the shape's pattern when one can."""
    for candidate in ("a" * length, "1" * length, ("arn:" + "a" * length)[:length]):
        pattern = shape.metadata.get("pattern")
        if not pattern or regex.fullmatch(pattern, candidate):
            return candidate
    return "a" * length


def member_location(parent: Shape, name: str) -> str | None:
    return parent.members[name].serialization.get("location")


def violation(kind: str, shape: Shape, parent: Shape, name: str) -> tuple[Any, str] | None:
    """A value of `shape` that breaks rule `kind` (and as far as possible nothing else), and a
    fragment the error message must contain; None when the member has no such rule."""
    meta, is_label = shape.metadata, parent.members[name].serialization.get("location") == "uri"
    enum = shape.enum if shape.type_name == "string" else []
    plain_string = shape.type_name == "string" and not enum
    if kind == "required":
        # A list in the query string cannot be told missing from empty on the wire: botocore
        # sends `tagKeys=[]` as no parameter, so the server reads an absent list as empty.
        in_query_list = member_location(parent, name) == "querystring" and shape.type_name == "list"
        return (None, name) if name in parent.required_members and not is_label and not in_query_list else None
    if kind == "enum":
        return ("NOT_IN_THE_ENUM", name) if enum else None
    if kind == "max-length" and plain_string and "max" in meta:
        return _string_of_length(shape, meta["max"] + 1), str(meta["max"])
    if kind == "min-length" and plain_string and meta.get("min", 0) >= 2:
        return _string_of_length(shape, meta["min"] - 1), str(meta["min"])
    if kind == "pattern" and plain_string and "pattern" in meta:
        # Best: a valid value with a bad tail, so that a check matching only a prefix is caught.
        valid = valid_value(shape)
        candidates = [valid + tail for tail in ("\x07", "\n")]
        candidates += [char * max(meta.get("min", 1), 1) for char in ("\x07", "x", "-")]
        for candidate in candidates:
            if meta.get("min", 0) <= len(candidate) <= meta.get("max", 10**9) and not regex.fullmatch(
                meta["pattern"], candidate
            ):
                return candidate, name
        return None
    if kind == "range-max" and shape.type_name in ("integer", "long") and "max" in meta:
        return meta["max"] + 1, str(meta["max"])
    if kind == "range-min" and shape.type_name in ("integer", "long") and "min" in meta:
        return meta["min"] - 1, str(meta["min"])
    if kind == "list-max" and shape.type_name == "list" and "max" in meta:
        return [valid_value(shape.member)] * (meta["max"] + 1), str(meta["max"])
    if kind == "map-max" and shape.type_name == "map" and "max" in meta:
        return {f"k{i}": "v" for i in range(meta["max"] + 1)}, str(meta["max"])
    return None


def _walk(shape: Shape, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Shape, Shape]]:
    for name, member in shape.members.items():
        yield path + (name,), member, shape
        if member.type_name == "structure":
            yield from _walk(member, path + (name,))


def constraint_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    cases = []
    for operation in BASE_INPUTS:
        for path, shape, parent in _walk(MODEL.operation_model(operation).input_shape):
            for kind in KINDS:
                if violation(kind, shape, parent, path[-1]) is not None:
                    cases.append((kind, operation, path))
    return cases


CASES = constraint_cases()


def test_the_model_offers_a_member_for_every_kind_of_constraint() -> None:
    assert {kind for kind, _, _ in CASES} == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "operation", "path"), CASES, ids=[f"{k}-{o}.{'.'.join(p)}" for k, o, p in CASES]
)
def test_a_value_breaking_a_model_constraint_is_a_validation_error_naming_the_member(
    raw_omics, target: dict[str, str], kind: str, operation: str, path: tuple[str, ...]
) -> None:
    params = {
        key: (value.format(**target) if isinstance(value, str) else value)
        for key, value in BASE_INPUTS[operation].items()
    }
    if operation == "CreateSequenceStore":
        params["name"] = unique("constraint")
    # Walk down to the parent structure, filling in what it requires.
    container, shape = params, MODEL.operation_model(operation).input_shape
    for name in path[:-1]:
        shape = shape.members[name]
        container = container.setdefault(name, valid_value(shape))
    found = violation(kind, shape.members[path[-1]], shape, path[-1])
    assert found is not None
    value, fragment = found
    if kind == "required":
        container.pop(path[-1], None)
    else:
        container[path[-1]] = value

    with pytest.raises(raw_omics.exceptions.ValidationException) as excinfo:
        getattr(raw_omics, xform_name(operation))(**params)
    message = error_message(excinfo)
    assert error_status(excinfo) == 400
    assert ".".join(path) in message
    assert fragment in message


# Wrong JSON types, generated from the model: every body member of CreateSequenceStore and every
# filter member of ListSequenceStores gets a value of another type.
WRONG_TYPE = {
    "string": 12345,
    "structure": "not an object",
    "list": "not a list",
    "map": ["not", "a", "map"],
    "integer": "12",
    "long": "12",
    "boolean": "yes",
    "timestamp": True,
}


def type_cases() -> list[tuple[str, str]]:
    cases = [("/sequencestore", name) for name, member in
             MODEL.operation_model("CreateSequenceStore").input_shape.members.items()
             if "location" not in member.serialization]
    list_filter = MODEL.operation_model("ListSequenceStores").input_shape.members["filter"]
    cases += [("/sequencestores", f"filter.{name}") for name in list_filter.members]
    return cases


@pytest.mark.parametrize(("path", "member"), type_cases())
def test_a_value_of_the_wrong_type_is_a_validation_error_naming_the_member(server, path: str, member: str) -> None:
    operation = "CreateSequenceStore" if path == "/sequencestore" else "ListSequenceStores"
    shape = MODEL.operation_model(operation).input_shape
    for part in member.split("."):
        shape = shape.members[part]
    body: dict[str, Any] = {"name": unique("types")} if operation == "CreateSequenceStore" else {}
    if member.startswith("filter."):
        body["filter"] = {member.split(".")[1]: WRONG_TYPE[shape.type_name]}
    else:
        body[member] = WRONG_TYPE[shape.type_name]
    assert_error(send_json(server.url, "POST", path, body), "ValidationException", member)


# ---------------------------------------------------------------------------------------------
# Bad input on the wire
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"name": "x"', b'{"name": }', b"\xff\xfe{}", b'"just a string"', b"[1, 2]", b"[" * 5000,
     b'{"name": ' + b"[" * 990 + b"]" * 990 + b"}"],
    ids=["truncated", "syntax", "not-utf8", "string", "array", "deep-truncated", "deep-nesting"],
)
def test_a_body_that_is_not_a_json_object_is_a_validation_error(server, body: bytes) -> None:
    response = send(server.url, "POST", "/sequencestore", body=body,
                    headers={"Content-Type": "application/json"})
    message = assert_error(response, "ValidationException")
    assert "JSON" in message or "name" in message


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_with_a_foreign_content_type_is_a_validation_error(server, content_type: str) -> None:
    response = send(server.url, "POST", "/sequencestore", body=b'{"name": "x"}',
                    headers={"Content-Type": content_type})
    assert_error(response, "ValidationException", content_type)


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x-amz-json-1.1", None]
)
def test_json_bodies_are_accepted_with_json_content_types_or_none(server, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    name = unique("ctype")
    response = send(server.url, "POST", "/sequencestore", body=json.dumps({"name": name}).encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name


def test_a_json_body_over_one_mebibyte_is_refused(server) -> None:
    body = json.dumps({"name": unique("big"), "description": "x" * MIB}).encode()
    response = send(server.url, "POST", "/sequencestore", body=body, headers={"Content-Type": "application/json"})
    assert_error(response, "ValidationException", str(MIB))


def test_a_chunked_json_body_over_one_mebibyte_is_refused(server) -> None:
    body = json.dumps({"name": unique("big"), "description": "x" * (MIB + 10)}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: requests sends it chunked
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    response = send(server.url, "POST", "/sequencestore", body=chunks(), signed_body=body,
                    headers={"Content-Type": "application/json"})
    assert_error(response, "ValidationException", str(MIB))


def test_a_body_just_under_the_limit_is_read_and_validated(server) -> None:
    body = json.dumps({"name": unique("big"), "description": "x" * (MIB - 100)}).encode()
    response = send(server.url, "POST", "/sequencestore", body=body, headers={"Content-Type": "application/json"})
    assert_error(response, "ValidationException", "description", "255")


def test_unknown_members_are_refused_by_name(server) -> None:
    response = send_json(server.url, "POST", "/sequencestore", {"name": unique("proto"), "colour": "blue"})
    assert_error(response, "ValidationException", "colour")
    response = send_json(server.url, "POST", "/sequencestores", {"filter": {"nmae": "typo"}})
    assert_error(response, "ValidationException", "filter.nmae")


def test_a_missing_body_on_create_names_the_required_member(server) -> None:
    assert_error(send(server.url, "POST", "/sequencestore"), "ValidationException", "name")


def test_a_member_bound_to_the_path_is_refused_in_the_body(server, target: dict[str, str]) -> None:
    response = send_json(server.url, "PATCH", f"/sequencestore/{target['id']}", {"id": "9999999999"})
    assert_error(response, "ValidationException", "id")


@pytest.mark.parametrize(
    ("query", "member"),
    [("maxResults=abc", "maxResults"), ("maxResults=1.5", "maxResults"), ("maxResults=1&maxResults=2", "maxResults"),
     ("maxResults=" + "9" * 40, "maxResults"), ("nextToken=%07", "nextToken"), ("nextToken=" + "a" * 6145, "nextToken")],
)
def test_bad_query_values_are_validation_errors_naming_the_parameter(server, query: str, member: str) -> None:
    assert_error(send_json(server.url, "POST", f"/sequencestores?{query}", {}), "ValidationException", member)


def test_unknown_query_parameters_are_ignored(server) -> None:
    response = send_json(server.url, "POST", "/sequencestores?maxResults=1&x-debug=1", {})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/sequencestore/12345", "/sequencestore/abcdefghij", "/sequencestore/" + "1" * 37, "/sequencestore/%31%32%33"],
)
def test_a_malformed_id_in_the_path_is_a_validation_error(server, path: str) -> None:
    assert_error(send(server.url, "GET", path), "ValidationException", "id")


def test_timestamps_in_a_filter_are_accepted_in_every_form_botocore_sends(server, omics) -> None:
    name = unique("when")
    created = omics.create_sequence_store(name=name)["creationTime"]
    before, after = created - timedelta(seconds=2), created + timedelta(seconds=2)
    forms = {
        "iso-z": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso-micro": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "iso-offset": lambda t: t.astimezone(timezone(timedelta(hours=-5))).isoformat(),
        "epoch-int": lambda t: int(t.timestamp()),
        "epoch-float": lambda t: t.timestamp(),
    }
    for form, render in forms.items():
        found = send_json(server.url, "POST", "/sequencestores",
                          {"filter": {"name": name, "createdAfter": render(before)}})
        assert found.status_code == 200, (form, found.text)
        assert len(found.json()["sequenceStores"]) == 1, form
        none = send_json(server.url, "POST", "/sequencestores",
                         {"filter": {"name": name, "createdAfter": render(after)}})
        assert none.json()["sequenceStores"] == [], form


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00Z", "", 1e300])
def test_an_unreadable_timestamp_is_a_validation_error(server, value: Any) -> None:
    response = send_json(server.url, "POST", "/sequencestores", {"filter": {"createdAfter": value}})
    assert_error(response, "ValidationException", "filter.createdAfter")


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def conformance_problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Where a JSON output value breaks its output shape (independent of the server's code)."""
    problems: list[str] = []
    kind = shape.type_name
    if value is None:
        return [f"{path}: null"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        for name in value:
            if name not in shape.members:
                problems.append(f"{path}.{name}: not in {shape.name}")
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required but absent")
        for name, item in value.items():
            if name in shape.members:
                problems += conformance_problems(shape.members[name], item, f"{path}.{name}")
    elif kind == "list":
        problems += [] if isinstance(value, list) else [f"{path}: not a list"]
        for i, item in enumerate(value if isinstance(value, list) else []):
            problems += conformance_problems(shape.member, item, f"{path}[{i}]")
    elif kind == "map":
        problems += [] if isinstance(value, dict) else [f"{path}: not a map"]
    elif kind == "timestamp":
        if not (isinstance(value, str) and TIMESTAMP_RE.fullmatch(value)):
            problems.append(f"{path}: timestamp {value!r} is not UTC with milliseconds")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: {value!r} is not an integer")
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: {value!r} is not a string")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not in the enum")
        elif not _fits(shape, value):
            problems.append(f"{path}: {value!r} breaks the length or pattern of {shape.name}")
    return problems


def test_every_sequence_store_output_conforms_to_its_output_shape(server) -> None:
    name = unique("shape")
    full = {
        "name": name, "description": "all fields", "eTagAlgorithmFamily": "SHA512up",
        "sseConfig": {"type": "KMS", "keyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"},
        "fallbackLocation": "s3://fallback-bucket/", "propagatedSetLevelTags": ["a"],
        "s3AccessConfig": {"accessLogLocation": "s3://log-bucket/"}, "tags": {"t": "v"},
    }
    bare = send_json(server.url, "POST", "/sequencestore", {"name": name})
    created = send_json(server.url, "POST", "/sequencestore", full)
    store_id = created.json()["id"]
    responses = {
        "CreateSequenceStore": [bare, created],
        "GetSequenceStore": [send(server.url, "GET", f"/sequencestore/{store_id}"),
                             send(server.url, "GET", f"/sequencestore/{bare.json()['id']}")],
        "UpdateSequenceStore": [send_json(server.url, "PATCH", f"/sequencestore/{store_id}",
                                          {"description": "changed", "fallbackLocation": ""})],
        "ListSequenceStores": [send_json(server.url, "POST", "/sequencestores?maxResults=1", {"filter": {"name": name}})],
        "ListTagsForResource": [send(server.url, "GET", "/tags/" + quote(created.json()["arn"], safe=""))],
    }
    for operation, answers in responses.items():
        shape = MODEL.operation_model(operation).output_shape
        for response in answers:
            assert response.status_code == 200, response.text
            assert response.headers["Content-Type"].startswith("application/json")
            assert conformance_problems(shape, response.json()) == [], operation
    assert "description" not in bare.json()  # absent members are left out, not null
    assert "nextToken" in responses["ListSequenceStores"][0].json()


def test_tag_calls_answer_204_with_no_body(server, target: dict[str, str]) -> None:
    path = "/tags/" + quote(target["arn"], safe="")
    tagged = send_json(server.url, "POST", path, {"tags": {"k": "v"}})
    assert tagged.status_code == 204 and tagged.content == b""
    untagged = send(server.url, "DELETE", path + "?tagKeys=k")
    assert untagged.status_code == 204 and untagged.content == b""


def test_every_response_carries_a_fresh_request_id(server, omics, target: dict[str, str]) -> None:
    responses = [
        send_json(server.url, "POST", "/sequencestore", {"name": unique("proto")}),  # 200
        send_json(server.url, "POST", "/tags/" + quote(target["arn"], safe=""), {"tags": {"a": "b"}}),  # 204
        send(server.url, "POST", "/sequencestore", body=b"{", headers={"Content-Type": "application/json"}),
        send(server.url, "GET", "/sequencestore/0000000005"),  # 404 modelled
        send(server.url, "GET", "/nothing"),  # 404 unknown route
        send(server.url, "POST", "/sequencestore", body=b"x" * (MIB + 1)),  # oversized
    ]
    ids = [r.headers.get("x-amzn-RequestId", "") for r in responses]
    assert all(UUID_RE.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    # boto3 shows it as ResponseMetadata.RequestId, on success and on error.
    assert UUID_RE.fullmatch(omics.list_sequence_stores(maxResults=1)["ResponseMetadata"]["RequestId"])
    with pytest.raises(ClientError) as excinfo:
        omics.get_sequence_store(id="0000000006")
    assert UUID_RE.fullmatch(excinfo.value.response["ResponseMetadata"]["RequestId"])


# ---------------------------------------------------------------------------------------------
# Errors as boto3 sees them
# ---------------------------------------------------------------------------------------------


def _model_status(code: str) -> int:
    return int(MODEL.shape_for(code).metadata["error"]["httpStatusCode"])


def test_boto3_raises_the_modelled_exception_class_with_the_models_status(omics, target: dict[str, str]) -> None:
    calls = {
        "ValidationException": lambda: omics.create_sequence_store(name="x" * 128),
        "ResourceNotFoundException": lambda: omics.get_sequence_store(id="0000000007"),
        "ServiceQuotaExceededException": lambda: [
            omics.tag_resource(resourceArn=target["arn"], tags={f"q{n}-{i}": "v" for i in range(50)})
            for n in range(2)
        ],
    }
    for code, call in calls.items():
        with pytest.raises(getattr(omics.exceptions, code)) as excinfo:
            call()
        response = excinfo.value.response
        assert response["Error"]["Code"] == code
        assert response["ResponseMetadata"]["HTTPStatusCode"] == _model_status(code)
        assert response["Error"]["Message"]
        assert response["message"] == response["Error"]["Message"]  # the modelled member


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing"), ("PUT", "/sequencestore"), ("GET", "/sequencestore"),
     ("GET", "/sequencestore/1234567890/extra/segments"), ("POST", "/"), ("DELETE", "/sequencestores")],
)
def test_an_unknown_route_is_a_404_error_botocore_can_read(server, method: str, path: str) -> None:
    response = send(server.url, method, path)
    assert response.status_code == 404
    code = response.headers.get("x-amzn-ErrorType")
    assert code and code not in ("ResourceNotFoundException",)
    assert path in response.json()["message"]


def test_boto3_reports_an_unknown_route_as_a_client_error_with_code_and_message(server) -> None:
    # An endpoint with a path puts every request under it: no operation matches.
    client = make_client(server.url + "/not-omics")
    with pytest.raises(ClientError) as excinfo:
        client.list_sequence_stores()
    error = excinfo.value.response["Error"]
    assert error_status(excinfo) == 404
    assert error["Code"] == "UnknownOperationException"
    assert "/not-omics/sequencestores" in error["Message"]


# ---------------------------------------------------------------------------------------------
# Routing: every operation of the model
# ---------------------------------------------------------------------------------------------

LABEL_VALUES = {
    "resourceArn": "arn:aws:omics:us-east-1:123456789012:sequenceStore/1234567890/readSet/1234567891",
    "s3AccessPointArn": "arn:aws:s3:us-east-1:123456789012:accesspoint/123456789012-1234567890",
}


def route_for(operation: OperationModel) -> str:
    """The request path of `operation` with its labels filled in, percent-encoded as botocore does."""
    uri, _, query = operation.http["requestUri"].partition("?")
    path = re.sub(r"\{(\w+)\+?\}", lambda m: quote(LABEL_VALUES.get(m.group(1), "1234567890"), safe=""), uri)
    return path + (f"?{query}" if query else "")


@contextlib.contextmanager
def serve_in_thread(app: Dispatcher) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free port in this process; yield its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def bare_dispatcher() -> Iterator[str]:
    """The real protocol layer with no handlers at all."""
    with serve_in_thread(Dispatcher(Registry(()))) as url:
        yield url


def test_the_storage_api_has_41_operations() -> None:
    assert len(storage_operations()) == 41


@pytest.mark.parametrize("operation", storage_operations(), ids=lambda op: op.name)
def test_every_operation_is_routed_and_unimplemented_ones_say_so(bare_dispatcher: str, operation: OperationModel) -> None:
    response = send(bare_dispatcher, operation.http["method"], route_for(operation))
    message = assert_error(response, "NotSupportedOperationException", "not implemented")
    assert re.search(rf"\b{operation.name}\b", message), message


def test_boto3_raises_not_supported_for_an_operation_without_a_handler(bare_dispatcher: str) -> None:
    client = make_client(bare_dispatcher)
    for call in (lambda: client.create_reference_store(name="refs"),
                 lambda: client.get_sequence_store(id="1234567890")):
        with pytest.raises(client.exceptions.NotSupportedOperationException) as excinfo:
            call()
        assert error_status(excinfo) == _model_status(
            "NotSupportedOperationException")
        assert "not implemented" in error_message(excinfo)


def test_the_bare_dispatcher_also_answers_unknown_routes(bare_dispatcher: str) -> None:
    response = send(bare_dispatcher, "GET", "/nothing")
    assert response.status_code == 404 and response.headers.get("x-amzn-ErrorType")


@pytest.mark.parametrize("operation", storage_operations(), ids=lambda op: op.name)
def test_the_server_routes_every_operation_and_never_fails_with_a_5xx(server, operation: OperationModel) -> None:
    # Ids that name nothing, and no input beyond the path: a modelled error or an empty result,
    # never an unknown route or an internal error.
    has_body = any("location" not in m.serialization for m in operation.input_shape.members.values())
    if payload_member(operation):
        # Streamed bodies are signed the way botocore signs them: UNSIGNED-PAYLOAD, declared.
        response = send(server.url, operation.http["method"], route_for(operation),
                        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    elif has_body:
        response = send(server.url, operation.http["method"], route_for(operation), body=b"{}",
                        headers={"Content-Type": "application/json"})
    else:
        response = send(server.url, operation.http["method"], route_for(operation))
    assert response.status_code < 500, response.text
    assert UUID_RE.fullmatch(response.headers.get("x-amzn-RequestId", ""))
    if response.status_code >= 300:
        code = response.headers.get("x-amzn-ErrorType")
        assert code in MODEL.shape_names, (code, response.text)
        assert response.status_code == _model_status(code)
        assert response.json()["message"]


# ---------------------------------------------------------------------------------------------
# What handlers receive: the protocol layer with recording handlers in place of the store
# ---------------------------------------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 1500  # 384,000 bytes, several ASGI chunks


def _stream(data: bytes) -> ResponseStream:
    async def chunks() -> Any:
        for start in range(0, len(data), 65536):
            yield data[start:start + 65536]

    return ResponseStream(len(data), chunks)


@pytest.fixture(scope="module")
def recording() -> Iterator[tuple[Any, dict[str, Any]]]:
    received: dict[str, Any] = {}

    def record(name: str, output: dict[str, Any]) -> Any:
        def handler(params: dict[str, Any]) -> dict[str, Any]:
            received[name] = params
            return output
        return handler

    async def upload_part(params: dict[str, Any]) -> dict[str, Any]:
        digest, size = hashlib.sha256(), 0
        async for chunk in params["payload"].chunks():
            digest.update(chunk)
            size += len(chunk)
        received["UploadReadSetPart"] = {k: v for k, v in params.items() if k != "payload"}
        return {"checksum": f"{size}-{digest.hexdigest()}"}

    async def get_read_set(params: dict[str, Any]) -> dict[str, Any]:
        received["GetReadSet"] = params
        return {"payload": _stream(PAYLOAD)}

    async def get_reference(params: dict[str, Any]) -> dict[str, Any]:
        received["GetReference"] = params
        return {"payload": _stream(b"")}

    registry = Registry((
        Operation("UntagResource", record("UntagResource", {}), read_only=False),
        Operation("ListSequenceStores", record("ListSequenceStores", {"sequenceStores": []}), read_only=True),
        Operation("UploadReadSetPart", upload_part, read_only=False),
        Operation("GetReadSet", get_read_set, read_only=True),
        Operation("GetReference", get_reference, read_only=True),
    ))
    with serve_in_thread(Dispatcher(registry)) as url:
        yield make_client(url), received


def test_labels_and_query_lists_arrive_percent_decoded(recording: tuple[Any, dict[str, Any]]) -> None:
    client, received = recording
    arn = "arn:aws:omics:us-east-1:123456789012:sequenceStore/1234567890/readSet/1234567891"
    keys = ["k 1", "b&c", "a+b", "ü/=", "x%y"]
    client.untag_resource(resourceArn=arn, tagKeys=keys)
    assert received["UntagResource"] == {"resourceArn": arn, "tagKeys": keys}


def test_query_integers_and_body_timestamps_arrive_typed(recording: tuple[Any, dict[str, Any]]) -> None:
    client, received = recording
    plus_two = timezone(timedelta(hours=2))
    client.list_sequence_stores(
        maxResults=7, nextToken="tok/2+=",
        filter={"name": "n", "createdAfter": datetime(2024, 1, 2, 5, 4, 5, 123000, tzinfo=plus_two),
                "createdBefore": datetime(2024, 1, 2, 5, 4, 5, tzinfo=plus_two)},
    )
    params = received["ListSequenceStores"]
    assert params["maxResults"] == 7 and isinstance(params["maxResults"], int)
    assert params["nextToken"] == "tok/2+="
    assert params["filter"]["createdAfter"] == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert params["filter"]["createdBefore"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert params["filter"]["name"] == "n"


def test_a_header_bound_member_arrives(recording: tuple[Any, dict[str, Any]]) -> None:
    client, received = recording
    client.get_reference(referenceStoreId="1234567890", id="1234567891", partNumber=3, range="0-99")
    params = received["GetReference"]
    assert (params["range"], params["partNumber"]) == ("0-99", 3)
    assert (params["referenceStoreId"], params["id"]) == ("1234567890", "1234567891")


def test_a_blob_payload_streams_through_whole_from_bytes_and_from_a_file(
    recording: tuple[Any, dict[str, Any]], tmp_path: Any
) -> None:
    client, received = recording
    expected = f"{len(PAYLOAD)}-{hashlib.sha256(PAYLOAD).hexdigest()}"
    answer = client.upload_read_set_part(sequenceStoreId="1234567890", uploadId="1234567891",
                                         partSource="SOURCE2", partNumber=10000, payload=PAYLOAD)
    assert answer["checksum"] == expected
    assert received["UploadReadSetPart"] == {"sequenceStoreId": "1234567890", "uploadId": "1234567891",
                                             "partSource": "SOURCE2", "partNumber": 10000}
    part = tmp_path / "part.bin"
    part.write_bytes(PAYLOAD)
    with part.open("rb") as handle:
        answer = client.upload_read_set_part(sequenceStoreId="1234567890", uploadId="1234567891",
                                             partSource="SOURCE1", partNumber=1, payload=handle)
    assert answer["checksum"] == expected


def test_a_refused_payload_call_never_reaches_the_handler_and_the_connection_stays_usable(
    recording: tuple[Any, dict[str, Any]]
) -> None:
    client, received = recording
    received.pop("UploadReadSetPart", None)
    for bad in ({"partNumber": 10001, "partSource": "SOURCE1"}, {"partNumber": 1, "partSource": "SOURCE3"}):
        with pytest.raises(client.exceptions.ValidationException) as excinfo:
            client.upload_read_set_part(sequenceStoreId="1234567890", uploadId="1234567891",
                                        payload=PAYLOAD, **bad)
        assert ("partNumber" if bad["partNumber"] > 10000 else "partSource") in error_message(excinfo)
    assert "UploadReadSetPart" not in received
    answer = client.upload_read_set_part(sequenceStoreId="1234567890", uploadId="1234567891",
                                         partSource="SOURCE1", partNumber=2, payload=b"abc")
    assert answer["checksum"] == f"3-{hashlib.sha256(b'abc').hexdigest()}"


def test_a_streaming_output_arrives_whole_with_its_length(recording: tuple[Any, dict[str, Any]]) -> None:
    client, received = recording
    answer = client.get_read_set(sequenceStoreId="1234567890", id="1234567891", partNumber=1)
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-length"] == str(len(PAYLOAD))
    assert answer["payload"].read() == PAYLOAD
    assert received["GetReadSet"]["partNumber"] == 1
    assert "file" not in received["GetReadSet"]

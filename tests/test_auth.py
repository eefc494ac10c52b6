"""Authentication and authorization: SigV4 verification as real clients (boto3, the AWS CLI) and
hand-signed raw requests meet it, access keys made with `seqstore keys`, read-only keys, body
limits, `--auth none`, the first-start key, secrets at rest and the audit log."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError

from tests.helpers.auth import parse_exports, raw_request, sign, signed_request, stored_key_rows
from tests.helpers.clients import (
    KEY,
    SECRET,
    client_for,
    error_code,
    error_message,
    error_status,
    make_client,
)
from tests.helpers.commands import aws_cli, keys, keys_command, seqstore_cli
from tests.helpers.fastq import fastq_text
from tests.helpers.names import MIB, PART_SIZE, UUID_RE, unique
from tests.helpers.ports import free_port
from tests.helpers.servers import OptionServer, Server, running

JSON = {"Content-Type": "application/json"}


def utc_now() -> datetime:
    """Naive UTC, as botocore's clock gives it."""
    return datetime.now(UTC).replace(tzinfo=None)



def assert_refused(response: Any, status: int, code: str, *fragments: str) -> str:
    """A raw response is the error `code` with `status`, an x-amzn-ErrorType, a request id and a
    JSON message containing `fragments`; returns the message."""
    assert response.status == status, response
    assert response.headers.get("x-amzn-errortype") == code, response
    assert UUID_RE.fullmatch(response.headers.get("x-amzn-requestid", "")), response.headers
    message = response.json()["message"]
    assert isinstance(message, str) and message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def audit_entries(server: Server) -> list[dict[str, Any]]:
    entries = []
    for line in server.logs().splitlines():
        _, marker, payload = line.partition(" seqstore.audit ")
        if marker:
            entries.append(json.loads(payload))
    return entries


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OptionServer]:
    """A server of its own, logging at info so the audit log (logger seqstore.audit) shows."""
    with running(OptionServer(tmp_path_factory.mktemp("auth") / "data", log_level="info")) as server:
        yield server


@pytest.fixture(scope="module")
def admin(auth_server: OptionServer):  # type: ignore[no-untyped-def]
    """A client with the server's environment key."""
    return client_for(auth_server.url)


@pytest.fixture(scope="module")
def store(admin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = admin.create_sequence_store(name=unique("store"))
    return {"id": created["id"], "arn": created["arn"]}


@pytest.fixture(scope="module")
def read_set(admin, store: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """A read set in `store`, uploaded through boto3 (UploadReadSetPart signs UNSIGNED-PAYLOAD)."""
    upload = admin.create_multipart_read_set_upload(sequenceStoreId=store["id"], sourceFileType="FASTQ",
                                                    name=unique("reads"), subjectId="s", sampleId="s")
    part = admin.upload_read_set_part(sequenceStoreId=store["id"], uploadId=upload["uploadId"],
                                      partSource="SOURCE1", partNumber=1, payload=fastq_text(20, seed=3))
    done = admin.complete_multipart_read_set_upload(
        sequenceStoreId=store["id"], uploadId=upload["uploadId"],
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
    return str(done["readSetId"])


def new_upload(admin, store_id: str) -> str:  # type: ignore[no-untyped-def]
    return str(admin.create_multipart_read_set_upload(sequenceStoreId=store_id, sourceFileType="FASTQ",
                                                      name=unique("up"), subjectId="s", sampleId="s")["uploadId"])


# ---------------------------------------------------------------------------------------------
# Who may call: signatures and keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("POST", "/sequencestores"), ("GET", "/sequencestore/1234567890"),
                                              ("POST", "/sequencestore")])
def test_an_unsigned_request_is_refused_with_an_error_type_and_a_message(auth_server: OptionServer, method: str,
                                                                          path: str) -> None:
    response = requests.request(method, auth_server.url + path, json={"name": "x"} if method == "POST" else None,
                                timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert UUID_RE.fullmatch(response.headers["x-amzn-RequestId"])
    assert "not signed" in response.json()["message"]


def test_a_wrong_secret_is_an_invalid_signature(auth_server: OptionServer) -> None:
    client = client_for(auth_server.url, KEY, "not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        client.list_sequence_stores()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert error_status(excinfo) == 403
    assert "signature does not match" in error_message(excinfo)


def test_an_unknown_key_id_is_an_unrecognized_client(auth_server: OptionServer) -> None:
    client = client_for(auth_server.url, "AKIDNOSUCHKEY0000000", SECRET)
    with pytest.raises(ClientError) as excinfo:
        client.list_sequence_stores()
    assert error_code(excinfo) == "UnrecognizedClientException"
    assert error_status(excinfo) == 403
    assert "AKIDNOSUCHKEY0000000" in error_message(excinfo)


def test_a_key_made_with_the_cli_works_until_it_is_revoked(auth_server: OptionServer) -> None:
    name = unique("ci")
    created = keys(auth_server, "create", "--name", name)
    key_id, secret = parse_exports(created.stdout)
    assert re.fullmatch(r"[A-Z0-9]{16,32}", key_id) and len(secret) >= 30
    client = client_for(auth_server.url, key_id, secret)
    store_id = client.create_sequence_store(name=name)["id"]
    assert store_id in {s["id"] for s in client.list_sequence_stores(filter={"name": name})["sequenceStores"]}

    listed = keys(auth_server, "list").stdout
    [line] = [line for line in listed.splitlines() if key_id in line]
    assert "active" in line and "read-write" in line and name in line
    assert secret not in listed

    revoked_at = time.monotonic()
    result = keys(auth_server, "revoke", key_id)
    assert key_id in result.stdout
    while True:
        try:
            client.get_sequence_store(id=store_id)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "UnrecognizedClientException"
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            break
        assert time.monotonic() - revoked_at < 6, "a revoked key still worked after 6 s"
        time.sleep(0.2)

    listed = keys(auth_server, "list").stdout
    [line] = [line for line in listed.splitlines() if key_id in line]
    assert "revoked" in line and "active" not in line
    assert secret not in listed
    again = keys_command(auth_server, "revoke", key_id)
    assert again.returncode != 0 and key_id in again.stderr


def test_keys_list_never_prints_a_secret(auth_server: OptionServer) -> None:
    secrets = [parse_exports(keys(auth_server, "create", *flags).stdout)[1]
               for flags in ((), ("--read-only",), ("--name", "someone"))]
    listed = keys(auth_server, "list").stdout
    assert listed.strip()
    for secret in secrets:
        assert secret not in listed


@pytest.mark.parametrize("skew", [timedelta(minutes=-20), timedelta(minutes=20)], ids=["past", "future"])
def test_a_signature_dated_20_minutes_off_is_expired(auth_server: OptionServer, skew: timedelta) -> None:
    response = signed_request(auth_server.url, "POST", "/sequencestores", body=b"{}", headers=JSON,
                              when=utc_now() + skew)
    assert_refused(response, 403, "InvalidSignatureException", "expired")
    # boto3 with its clock 20 minutes off gets the same.
    client = client_for(auth_server.url)
    with mock.patch("botocore.auth.get_current_datetime", return_value=utc_now() + skew), \
            pytest.raises(ClientError) as excinfo:
        client.list_sequence_stores()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert "expired" in error_message(excinfo)


def test_a_clock_10_minutes_off_is_within_the_allowed_skew(auth_server: OptionServer) -> None:
    response = signed_request(auth_server.url, "POST", "/sequencestores", body=b"{}", headers=JSON,
                              when=utc_now() - timedelta(minutes=10))
    assert response.status == 200, response


def test_a_signature_for_another_region_names_the_region(auth_server: OptionServer) -> None:
    client = client_for(auth_server.url, region="eu-west-1")
    with pytest.raises(ClientError) as excinfo:
        client.list_sequence_stores()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert error_status(excinfo) == 403
    message = error_message(excinfo)
    assert "eu-west-1" in message and "us-east-1" in message


def test_a_signature_for_another_service_is_refused(auth_server: OptionServer) -> None:
    # (A scope naming s3 is the S3 data plane's: tests/test_s3_plane.py.)
    response = signed_request(auth_server.url, "POST", "/sequencestores", body=b"{}", headers=JSON, service="sts")
    assert_refused(response, 403, "InvalidSignatureException", "sts")


@pytest.mark.parametrize("authorization", [
    "Bearer abc",
    "AWS4-HMAC-SHA256 Credential=seqstore/20260101/us-east-1/omics, SignedHeaders=host, Signature=" + "0" * 64,
    "AWS4-HMAC-SHA256 Credential=seqstore/20260101/us-east-1/omics/aws4_request, SignedHeaders=host",
])
def test_a_malformed_authorization_header_is_an_incomplete_signature(auth_server: OptionServer,
                                                                      authorization: str) -> None:
    response = raw_request(auth_server.url, "POST", "/sequencestores", body=b"{}",
                           headers={"Host": auth_server.url.split("//")[1], "Authorization": authorization,
                                    "X-Amz-Date": utc_now().strftime("%Y%m%dT%H%M%SZ"), **JSON})
    assert_refused(response, 403, "IncompleteSignatureException")


@pytest.mark.parametrize("signature", ["z" * 64, "0" * 63, "\xe9" * 64, ""])
def test_a_signature_that_is_not_hex_is_an_incomplete_signature(auth_server: OptionServer,
                                                                 signature: str) -> None:
    """Checked after everything else (a well-formed signature is the common case), and never a
    500 whatever its characters."""
    signed = sign("POST", auth_server.url + "/sequencestores", body=b"{}", headers=JSON)
    head = signed["Authorization"].rpartition("Signature=")[0]
    response = raw_request(auth_server.url, "POST", "/sequencestores", body=b"{}",
                           headers={**signed, "Authorization": head + "Signature=" + signature})
    assert_refused(response, 403, "IncompleteSignatureException")


def test_a_read_only_key_may_get_and_list_but_not_change_anything(auth_server: OptionServer, admin,  # type: ignore[no-untyped-def]
                                                                   store: dict[str, str], read_set: str) -> None:
    created = keys(auth_server, "create", "--read-only", "--name", "viewer")
    assert "read-only" in created.stdout
    viewer = client_for(auth_server.url, *parse_exports(created.stdout))

    assert viewer.get_sequence_store(id=store["id"])["id"] == store["id"]
    assert store["id"] in {s["id"] for s in viewer.list_sequence_stores(maxResults=100)["sequenceStores"]}
    assert read_set in {r["id"] for r in viewer.list_read_sets(sequenceStoreId=store["id"])["readSets"]}
    viewer.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set)
    viewer.list_tags_for_resource(resourceArn=store["arn"])

    upload_id = new_upload(admin, store["id"])
    refused = {
        "BatchDeleteReadSet": lambda: viewer.batch_delete_read_set(sequenceStoreId=store["id"], ids=[read_set]),
        "CreateSequenceStore": lambda: viewer.create_sequence_store(name=unique("viewer")),
        "DeleteSequenceStore": lambda: viewer.delete_sequence_store(id=store["id"]),
        "TagResource": lambda: viewer.tag_resource(resourceArn=store["arn"], tags={"by": "viewer"}),
        "UploadReadSetPart": lambda: viewer.upload_read_set_part(
            sequenceStoreId=store["id"], uploadId=upload_id, partSource="SOURCE1", partNumber=1,
            payload=fastq_text(5, seed=1)),
    }
    for operation, call in refused.items():
        with pytest.raises(viewer.exceptions.AccessDeniedException) as excinfo:
            call()
        assert error_status(excinfo) == 403
        assert operation in error_message(excinfo)
    # Nothing changed.
    assert read_set in {r["id"] for r in admin.list_read_sets(sequenceStoreId=store["id"])["readSets"]}
    assert "by" not in admin.list_tags_for_resource(resourceArn=store["arn"])["tags"]
    assert admin.list_read_set_upload_parts(sequenceStoreId=store["id"], uploadId=upload_id,
                                            partSource="SOURCE1")["parts"] == []


# ---------------------------------------------------------------------------------------------
# What is signed: a request changed after signing is refused
# ---------------------------------------------------------------------------------------------


def test_a_body_changed_after_signing_is_refused(auth_server: OptionServer, admin) -> None:  # type: ignore[no-untyped-def]
    name_a, name_b = unique("a"), unique("b")
    body_a, body_b = json.dumps({"name": name_a}).encode(), json.dumps({"name": name_b}).encode()
    signed = sign("POST", auth_server.url + "/sequencestore", body=body_a, headers=JSON)
    response = raw_request(auth_server.url, "POST", "/sequencestore", body=body_b, headers=signed)
    assert_refused(response, 403, "InvalidSignatureException", "signature does not match")
    # The same with the body's hash declared (and signed) in X-Amz-Content-SHA256, or
    # UNSIGNED-PAYLOAD declared for a JSON body: the server still checks the body it read.
    for declared in (hashlib.sha256(body_a).hexdigest(), "UNSIGNED-PAYLOAD"):
        signed = sign("POST", auth_server.url + "/sequencestore", body=body_a,
                      headers={**JSON, "X-Amz-Content-SHA256": declared})
        response = raw_request(auth_server.url, "POST", "/sequencestore", body=body_b, headers=signed)
        assert_refused(response, 403, "InvalidSignatureException", "X-Amz-Content-SHA256")
    names = {s["name"] for s in admin.list_sequence_stores(maxResults=100)["sequenceStores"]}
    assert name_b not in names and name_a not in names
    # Unchanged, the request signed with its body's hash declared is accepted.
    signed = sign("POST", auth_server.url + "/sequencestore", body=body_a,
                  headers={**JSON, "X-Amz-Content-SHA256": hashlib.sha256(body_a).hexdigest()})
    response = raw_request(auth_server.url, "POST", "/sequencestore", body=body_a, headers=signed)
    assert response.status == 200, response
    assert response.json()["name"] == name_a


def test_a_streamed_part_that_differs_from_its_signed_hash_is_refused(auth_server: OptionServer, admin,  # type: ignore[no-untyped-def]
                                                                      store: dict[str, str]) -> None:
    upload_id = new_upload(admin, store["id"])
    path = f"/sequencestore/{store['id']}/upload/{upload_id}/part?partSource=SOURCE1&partNumber=1"
    part = fastq_text(10, seed=5)
    signed = sign("PUT", auth_server.url + path, body=part,
                  headers={"X-Amz-Content-SHA256": hashlib.sha256(part).hexdigest()})
    tampered = part.replace(b"A", b"C", 1)
    response = raw_request(auth_server.url, "PUT", path, body=tampered, headers=signed)
    assert_refused(response, 403, "InvalidSignatureException", "X-Amz-Content-SHA256")
    # A declared value that is neither a SHA-256 nor UNSIGNED-PAYLOAD, and no signed hash at all.
    for headers in ({"X-Amz-Content-SHA256": ""}, {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                    {}):
        signed = sign("PUT", auth_server.url + path, body=part, headers=headers)
        response = raw_request(auth_server.url, "PUT", path, body=part, headers=signed)
        assert_refused(response, 403, "InvalidSignatureException", "X-Amz-Content-SHA256")
    assert admin.list_read_set_upload_parts(sequenceStoreId=store["id"], uploadId=upload_id,
                                            partSource="SOURCE1")["parts"] == []
    # Signed with its real hash, the same part is stored.
    signed = sign("PUT", auth_server.url + path, body=part,
                  headers={"X-Amz-Content-SHA256": hashlib.sha256(part).hexdigest()})
    assert raw_request(auth_server.url, "PUT", path, body=part, headers=signed).status == 200


def test_a_path_query_or_header_other_than_the_signed_one_is_refused(auth_server: OptionServer,  # type: ignore[no-untyped-def]
                                                                     admin, store: dict[str, str]) -> None:
    other = admin.create_sequence_store(name=unique("other"))["id"]
    url = auth_server.url
    signed = sign("GET", f"{url}/sequencestore/{store['id']}")
    assert raw_request(url, "GET", f"/sequencestore/{store['id']}", headers=signed).status == 200
    assert_refused(raw_request(url, "GET", f"/sequencestore/{other}", headers=signed), 403,
                   "InvalidSignatureException", "signature does not match")
    # The same path percent-encoded is another canonical path.
    encoded = "/sequencestore/" + "".join(f"%{b:02X}" for b in store["id"].encode())
    assert_refused(raw_request(url, "GET", encoded, headers=signed), 403, "InvalidSignatureException")

    signed = sign("POST", f"{url}/sequencestores?maxResults=1", body=b"{}", headers=JSON)
    assert raw_request(url, "POST", "/sequencestores?maxResults=1", body=b"{}", headers=signed).status == 200
    for query in ("?maxResults=2", "?maxResults=1&extra=1", ""):
        response = raw_request(url, "POST", f"/sequencestores{query}", body=b"{}", headers=signed)
        assert_refused(response, 403, "InvalidSignatureException")
    # A signed header changed, and another method.
    changed = {**signed, "Content-Type": "application/x-amz-json-1.1"}
    assert_refused(raw_request(url, "POST", "/sequencestores?maxResults=1", body=b"{}", headers=changed), 403,
                   "InvalidSignatureException")
    signed = sign("GET", f"{url}/sequencestore/{other}")
    assert_refused(raw_request(url, "DELETE", f"/sequencestore/{other}", headers=signed), 403,
                   "InvalidSignatureException")
    assert admin.get_sequence_store(id=other)["id"] == other


def test_a_path_with_dot_segments_signs_like_its_normal_form_but_reaches_no_other_operation(
        auth_server: OptionServer) -> None:
    # botocore removes dot segments before signing, so the server does too when it checks the
    # signature; routing uses the raw path, so such a path reaches no operation.
    for path in ("/x/../sequencestores", "/sequencestore/../sequencestores", "/sequencestores/."):
        response = signed_request(auth_server.url, "POST", path, body=b"{}", headers=JSON)
        assert response.status == 404, (path, response)
        assert response.headers.get("x-amzn-errortype") == "UnknownOperationException"


def test_the_tags_path_is_signed_double_encoded_as_boto3_does(auth_server: OptionServer, admin,  # type: ignore[no-untyped-def]
                                                               store: dict[str, str]) -> None:
    path = "/tags/" + quote(store["arn"], safe="")
    response = signed_request(auth_server.url, "GET", path)
    assert response.status == 200, response
    assert "tags" in response.json()


# ---------------------------------------------------------------------------------------------
# Bodies: limits answered without reading what is over them
# ---------------------------------------------------------------------------------------------


def test_a_2_mib_json_body_is_refused(auth_server: OptionServer) -> None:
    body = json.dumps({"name": unique("big"), "description": "x" * (2 * MIB)}).encode()
    response = signed_request(auth_server.url, "POST", "/sequencestore", body=body, headers=JSON)
    assert_refused(response, 400, "ValidationException", str(MIB))


def test_a_json_body_declared_over_the_limit_is_refused_before_it_arrives(auth_server: OptionServer) -> None:
    body = json.dumps({"name": unique("big"), "description": "x" * (2 * MIB)}).encode()
    signed = sign("POST", auth_server.url + "/sequencestore", body=body, headers=JSON)
    # Only the first 100 bytes are ever sent: the answer must not wait for the rest.
    response = raw_request(auth_server.url, "POST", "/sequencestore", body=[body[:100]],
                           headers={**signed, "Content-Length": str(len(body))}, timeout=20)
    assert_refused(response, 400, "ValidationException", str(len(body)))
    assert response.elapsed < 5


def test_a_part_declared_over_the_part_limit_is_refused_before_it_arrives(auth_server: OptionServer, admin,  # type: ignore[no-untyped-def]
                                                                          store: dict[str, str]) -> None:
    upload_id = new_upload(admin, store["id"])
    path = f"/sequencestore/{store['id']}/upload/{upload_id}/part?partSource=SOURCE1&partNumber=1"
    signed = sign("PUT", auth_server.url + path, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    response = raw_request(auth_server.url, "PUT", path, body=[fastq_text(5, seed=9)],
                           headers={**signed, "Content-Length": str(PART_SIZE + 1)}, timeout=40)
    assert_refused(response, 400, "ValidationException", str(PART_SIZE))
    assert response.elapsed < 5, f"the server waited {response.elapsed:.1f} s for a body it refuses"
    assert admin.list_read_set_upload_parts(sequenceStoreId=store["id"], uploadId=upload_id,
                                            partSource="SOURCE1")["parts"] == []


def test_boto3_uploads_parts_with_an_unsigned_payload_while_auth_is_on(auth_server: OptionServer, admin,  # type: ignore[no-untyped-def]
                                                                       store: dict[str, str]) -> None:
    sent: dict[str, str] = {}

    def capture(request: Any, **_: Any) -> None:
        sent.update({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    client = client_for(auth_server.url)
    client.meta.events.register("before-send.omics.UploadReadSetPart", capture)
    upload_id = new_upload(admin, store["id"])
    data = fastq_text(50, seed=11)
    part = client.upload_read_set_part(sequenceStoreId=store["id"], uploadId=upload_id, partSource="SOURCE1",
                                       partNumber=1, payload=data)
    assert sent["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-content-sha256" in sent["authorization"]
    [listed] = admin.list_read_set_upload_parts(sequenceStoreId=store["id"], uploadId=upload_id,
                                                partSource="SOURCE1")["parts"]
    assert listed["partSize"] == len(data) and listed["checksum"] == part["checksum"]
    done = admin.complete_multipart_read_set_upload(
        sequenceStoreId=store["id"], uploadId=upload_id,
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
    assert done["readSetId"]


# ---------------------------------------------------------------------------------------------
# --auth none, the first start, secrets at rest
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_auth_none_is_refused_on_a_non_loopback_address(tmp_path: Path, host: str) -> None:
    result = seqstore_cli("serve", "--auth", "none", "--host", host, "--port", str(free_port()),
                          "--data-dir", str(tmp_path / "data"), timeout=30)
    assert result.returncode != 0
    assert "--auth none" in result.stderr and host in result.stderr


def test_auth_none_on_loopback_accepts_any_credentials(tmp_path: Path) -> None:
    with running(OptionServer(tmp_path / "data", "--auth", "none", "--host", "127.0.0.1")) as server:
        assert "signatures are not checked" in server.logs()
        client = client_for(server.url, "ANYKEY", "any-secret", region="eu-west-1")
        store_id = client.create_sequence_store(name=unique("open"))["id"]
        assert client.get_sequence_store(id=store_id)["id"] == store_id
        response = requests.post(f"{server.url}/sequencestores", json={}, timeout=10)
        assert response.status_code == 200
        assert store_id in {s["id"] for s in response.json()["sequenceStores"]}


def test_the_first_start_prints_a_new_key_which_works_and_is_stored_encrypted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, extra_env={"SEQSTORE_ACCESS_KEY_ID": "", "SEQSTORE_SECRET_ACCESS_KEY": ""})
    with running(server):
        banner = server.logs()
        assert re.search(r"export AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+", banner), banner
        key_id, secret = parse_exports(banner)
        client = client_for(server.url, key_id, secret)
        store_id = client.create_sequence_store(name=unique("first"))["id"]
        # The test suite's usual key is not configured here.
        with pytest.raises(ClientError) as excinfo:
            client_for(server.url).list_sequence_stores()
        assert error_code(excinfo) == "UnrecognizedClientException"

    # The stored secret is encrypted: not in the access_keys table, nor anywhere in the data
    # directory (the SQLite database and its WAL, blobs).
    [row] = [r for r in stored_key_rows(server) if r["access_key_id"] == key_id]
    assert secret not in json.dumps(row, default=str) and row["secret_encrypted"]
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    if "SEQSTORE_DATABASE_URL" not in server.extra_env:
        assert (data_dir / "seqstore.db").exists()
    master = data_dir / "master.key"
    assert stat.S_IMODE(master.stat().st_mode) == 0o600
    assert secret.encode() not in master.read_bytes()

    # A restart does not show (or make) a key again, and the stored one still works.
    server.log_path.write_text("")
    with running(server):
        banner = server.logs()
        assert secret not in banner
        assert "AWS_ACCESS_KEY_ID=..." in banner
        assert client_for(server.url, key_id, secret).get_sequence_store(id=store_id)["id"] == store_id
    listed = keys(server, "list").stdout
    assert key_id in listed and secret not in listed and len(listed.strip().splitlines()) == 1


def test_a_process_with_another_master_key_refuses_to_start_with_the_reason(tmp_path: Path) -> None:
    """Every API process (and `seqstore keys`) needs the master key the stored secrets were
    encrypted with; one started with another would answer every request signed with a stored
    key with an error, so it does not start. Workers do not read the secrets and need no key."""
    from cryptography.fernet import Fernet

    data_dir = tmp_path / "data"
    server = Server(data_dir, extra_env={"SEQSTORE_ACCESS_KEY_ID": "", "SEQSTORE_SECRET_ACCESS_KEY": ""})
    with running(server):
        key_id, secret = parse_exports(server.logs())
    wrong = {**server.extra_env, "SEQSTORE_MASTER_KEY": Fernet.generate_key().decode()}
    database = server.extra_env.get("SEQSTORE_DATABASE_URL")
    for command in (
        ("serve", "--port", str(free_port()), "--data-dir", str(data_dir)),
        ("keys", "--data-dir", str(data_dir), *(("--database-url", database) if database else ()), "create"),
    ):
        result = seqstore_cli(*command, env=wrong, timeout=60)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "master key cannot decrypt the stored secret of access key " + key_id in result.stderr
        assert "Traceback" not in result.stderr
    assert len(stored_key_rows(server)) == 1  # no key was created with the other master key
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SEQSTORE_")}
    worker = subprocess.Popen(  # a worker never reads the secrets: it starts with any key
        [sys.executable, "-m", "seqstore.cli", "worker", "--data-dir", str(tmp_path / "worker"),
         *(("--database-url", database) if database else ("--database-url", f"sqlite:///{data_dir / 'seqstore.db'}"))],
        env={**environment, **wrong}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else b""
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    with running(server):  # with its own key the deployment still works
        assert client_for(server.url, key_id, secret).list_sequence_stores()["sequenceStores"] == []


# ---------------------------------------------------------------------------------------------
# The AWS CLI, and the audit log
# ---------------------------------------------------------------------------------------------


def test_the_aws_cli_works_with_a_valid_key_and_gets_a_403_error_with_a_wrong_one(
        auth_server: OptionServer, tmp_path: Path) -> None:
    result = aws_cli(auth_server.url, tmp_path, KEY, SECRET, "list-sequence-stores")
    assert result.returncode == 0, result.stderr
    assert "sequenceStores" in json.loads(result.stdout)
    result = aws_cli(auth_server.url, tmp_path, KEY, "wrong-secret", "list-sequence-stores")
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr and "ListSequenceStores" in result.stderr
    result = aws_cli(auth_server.url, tmp_path, "NOSUCHKEY", SECRET, "list-sequence-stores")
    assert result.returncode != 0 and "UnrecognizedClientException" in result.stderr


def test_the_audit_log_records_each_request_with_its_key_and_never_a_secret(auth_server: OptionServer,  # type: ignore[no-untyped-def]
                                                                            admin, store: dict[str, str]) -> None:
    created = admin.create_sequence_store(name=unique("audited"))
    got = admin.get_sequence_store(id=store["id"])
    with pytest.raises(ClientError) as excinfo:
        client_for(auth_server.url, KEY, "not-the-secret").get_sequence_store(id=store["id"])
    unsigned = requests.post(f"{auth_server.url}/sequencestores", json={}, timeout=10)
    ids = {
        "create": created["ResponseMetadata"]["RequestId"],
        "get": got["ResponseMetadata"]["RequestId"],
        "forged": excinfo.value.response["ResponseMetadata"]["RequestId"],
        "unsigned": unsigned.headers["x-amzn-RequestId"],
    }
    deadline = time.monotonic() + 5
    while True:
        entries = {e["requestId"]: e for e in audit_entries(auth_server)}
        if all(request_id in entries for request_id in ids.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for name, request_id in ids.items():
        assert request_id in entries, (name, auth_server.logs()[-2000:])
    create, get = entries[ids["create"]], entries[ids["get"]]
    assert create["accessKeyId"] == KEY and create["operation"] == "CreateSequenceStore"
    assert create["status"] == 200 and create["bytesIn"] > 0 and create["bytesOut"] > 0
    assert get["operation"] == "GetSequenceStore" and get["resource"] == store["arn"] and get["status"] == 200
    assert isinstance(get["latencyMs"], int | float) and datetime.fromisoformat(get["time"])
    forged, unsigned_entry = entries[ids["forged"]], entries[ids["unsigned"]]
    assert forged["status"] == 403 and forged["accessKeyId"] is None
    assert forged["operation"] == "GetSequenceStore"
    assert unsigned_entry["status"] == 403 and unsigned_entry["operation"] == "ListSequenceStores"
    audit_lines = [line for line in auth_server.logs().splitlines() if "seqstore.audit" in line]
    assert not any(SECRET in line or "not-the-secret" in line for line in audit_lines)
    assert not any("Signature=" in line or "AWS4-HMAC-SHA256" in line for line in audit_lines)


def test_the_health_check_needs_no_signature(auth_server: OptionServer) -> None:
    response = requests.get(f"{auth_server.url}/_seqstore/health", timeout=10)
    assert response.status_code == 200 and response.json()["status"] == "ok"



def test_audit_log_option_writes_one_json_line_per_request_to_a_file(tmp_path: Path) -> None:
    audit_file = tmp_path / "audit.jsonl"
    with running(OptionServer(tmp_path / "data", "--audit-log", str(audit_file))) as server:
        client = client_for(server.url)
        created = client.create_sequence_store(name=unique("file"))
        with pytest.raises(ClientError):
            client_for(server.url, KEY, "not-the-secret").list_sequence_stores()
        request_id = created["ResponseMetadata"]["RequestId"]
        deadline = time.monotonic() + 5
        while request_id not in audit_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = audit_file.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # nothing but JSON lines
    by_id = {e["requestId"]: e for e in entries}
    assert by_id[request_id]["operation"] == "CreateSequenceStore" and by_id[request_id]["accessKeyId"] == KEY
    assert any(e["status"] == 403 and e["operation"] == "ListSequenceStores" for e in entries)
    assert not any(e["operation"] == "-" and e["status"] == 200 for e in entries)  # no health checks
    assert SECRET not in audit_file.read_text() and "not-the-secret" not in audit_file.read_text()
    # The audit lines went to the file, not to the server's log.
    assert request_id not in server.logs()


def test_loopback_detection_for_auth_none() -> None:
    from seqstore.cli import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("127.5.6.7") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("127.example.com") and not is_loopback("10.0.0.1")


def test_concurrent_part_uploads_per_key_are_bounded(tmp_path: Path) -> None:
    """With SEQSTORE_MAX_CONCURRENT_PARTS=2, a third part while two are still streaming is
    throttled at once (boto3 retries ThrottlingException); when one ends, uploads go on."""
    import http.client
    import json as jsonlib
    from urllib.parse import urlsplit

    server = Server(tmp_path / "data", {"SEQSTORE_MAX_CONCURRENT_PARTS": "2"})
    server.start()
    held: list[http.client.HTTPConnection] = []
    try:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="bounded")["id"]
        upload_id = omics.create_multipart_read_set_upload(
            sequenceStoreId=store_id, sourceFileType="FASTQ", subjectId="s", sampleId="s", name="n"
        )["uploadId"]
        netloc = urlsplit(server.url).netloc

        def open_part(number: int, length: int, payload: bytes) -> http.client.HTTPConnection:
            path = f"/sequencestore/{store_id}/upload/{upload_id}/part?partSource=SOURCE1&partNumber={number}"
            headers = sign("PUT", server.url + path, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            connection = http.client.HTTPConnection(netloc, timeout=10)
            connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
            for name, value in {**headers, "Content-Length": str(length)}.items():
                connection.putheader(name, value)
            connection.endheaders()
            connection.send(payload)
            return connection

        # Two parts that announce 1 MiB and send 10 bytes: they stay in flight.
        held = [open_part(n, 1 << 20, b"@r\nACGT\n+\n") for n in (1, 2)]
        time.sleep(0.5)
        third = open_part(3, 10, b"@r\nACGT\n+\n")
        response = third.getresponse()
        assert response.status == 429
        assert response.getheader("x-amzn-ErrorType") == "ThrottlingException"
        assert "at most 2" in jsonlib.loads(response.read())["message"]

        held.pop().close()  # the client gives up on one: its slot is free again
        time.sleep(0.5)
        fourth = open_part(4, 10, b"@r\nACGT\n+\n")
        assert fourth.getresponse().status == 200
    finally:
        for connection in held:
            connection.close()
        server.stop()

"""S3 access policies enforced by the live S3 plane (docs/s3.md, "Access policies"): a policy put
with PutS3AccessPolicy decides every S3 request of boto3's s3 client and of presigned URLs, per
key; what the evaluator does not understand is refused when it is put. The evaluator's rules one
by one are tests/test_s3_policy_rules.py."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.config import Config

from seqstore.store.s3_access import CACHE_SECONDS
from tests.helpers.auth import parse_exports
from tests.helpers.clients import KEY, SECRET, make_client, s3_client
from tests.helpers.commands import keys
from tests.helpers.data import gz
from tests.helpers.fastq import fastq_text
from tests.helpers.names import ACCOUNT
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server, running

S3V4 = Config(signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of its own (its keys are the test's): a store with two read sets, and the
    credentials of the environment key and of the keys `alice`, `bob` and read-only `reader`."""
    with running(Server(tmp_path_factory.mktemp("s3-policy") / "data")) as server:
        omics = make_client(server.url)
        store = omics.create_sequence_store(name="policies")
        sets = [ingest(omics, store["id"], "FASTQ", gz(fastq_text(50, seed=seed)), name=f"rs{seed}")
                for seed in (1, 2)]
        assert all(s["status"] == "ACTIVE" for s in sets)
        creds = {"environment": (KEY, SECRET)}
        for name, *options in (("alice",), ("bob",), ("reader", "--read-only")):
            creds[name] = parse_exports(keys(server, "create", "--name", name, *options).stdout)
        uris = [s["files"]["source1"]["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1) for s in sets]
        yield {"server": server, "omics": omics, "store": store, "point": store["s3Access"]["s3AccessPointArn"],
               "bucket": uris[0][0], "keys": [key for _, key in uris], "sets": sets, "creds": creds}


def client(plane: dict[str, Any], who: str, config: Config | None = None):  # type: ignore[no-untyped-def]
    return s3_client(plane["server"].url, *plane["creds"][who], config=config)


def outcome(call: Callable[[], Any]) -> str:
    """"ok", or the S3 error code the call got."""
    try:
        call()
    except Exception as error:  # botocore's ClientError, or urllib's HTTPError for a presigned URL
        if isinstance(error, urllib.error.HTTPError):
            return f"HTTP {error.code}"
        response = getattr(error, "response", None)
        if response is None:
            raise
        return str(response["Error"]["Code"])
    return "ok"


def get(plane: dict[str, Any], who: str, index: int = 0) -> str:
    s3 = client(plane, who)
    return outcome(lambda: s3.get_object(Bucket=plane["bucket"], Key=plane["keys"][index])["Body"].read())


def listing(plane: dict[str, Any], who: str) -> str:
    return outcome(lambda: client(plane, who).list_objects_v2(Bucket=plane["bucket"]))


def settled(check: Callable[[], str], expected: str) -> str:
    """What `check` answers once a policy change has had the documented time to reach every
    process (CACHE_SECONDS; at once on this one-process server): polled, not timed."""
    deadline = time.monotonic() + CACHE_SECONDS + 10
    while (found := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def put(plane: dict[str, Any], *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    plane["omics"].put_s3_access_policy(s3AccessPointArn=plane["point"], s3AccessPolicy=json.dumps(document))


def user(name: str) -> dict[str, str]:
    return {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}


def objects(plane: dict[str, Any], pattern: str = "*") -> str:
    return f"{plane['point']}/object/{pattern}"


@pytest.fixture
def no_policy(plane: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`plane`, with no policy before and after the test."""
    yield plane
    try:
        plane["omics"].delete_s3_access_policy(s3AccessPointArn=plane["point"])
    except plane["omics"].exceptions.ResourceNotFoundException:
        pass


def test_with_no_policy_every_key_of_the_account_reads(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    for who in ("environment", "alice", "bob", "reader"):
        s3 = client(plane, who)
        assert get(plane, who) == "ok"
        assert outcome(lambda s3=s3: s3.get_object_tagging(Bucket=plane["bucket"], Key=plane["keys"][1])) == "ok"
        assert outcome(lambda s3=s3: s3.head_bucket(Bucket=plane["bucket"])) == "ok"
        assert listing(plane, who) == "ok"


def test_a_deny_of_one_read_set_for_one_key(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    first_set = plane["keys"][0].rsplit("/", 1)[0]
    put(plane,
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [plane["point"], objects(plane)]},
        {"Sid": "NotAliceOnRs1", "Effect": "Deny", "Principal": user("alice"), "Action": "s3:GetObject",
         "Resource": objects(plane, f"{first_set}/*")})
    assert settled(lambda: get(plane, "alice"), "AccessDenied") == "AccessDenied"
    s3 = client(plane, "alice")
    with pytest.raises(s3.exceptions.ClientError) as denied:
        s3.get_object(Bucket=plane["bucket"], Key=plane["keys"][0])
    assert denied.value.response["Error"]["Message"] == "Access Denied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Denied before the key is looked up: a key that names no object is refused alike.
    assert outcome(lambda: s3.head_object(Bucket=plane["bucket"], Key=f"{first_set}/nothing")) == "403"
    assert get(plane, "alice", 1) == "ok"
    assert get(plane, "bob") == get(plane, "environment") == get(plane, "reader") == "ok"
    assert listing(plane, "alice") == "ok"
    tagging = outcome(lambda: s3.get_object_tagging(Bucket=plane["bucket"], Key=plane["keys"][1]))
    assert tagging == "AccessDenied"  # no statement allows s3:GetObjectTagging


def test_an_allow_of_one_key_only(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    put(plane, {"Effect": "Allow", "Principal": user("bob"), "Action": "s3:GetObject", "Resource": objects(plane)})
    assert settled(lambda: get(plane, "alice"), "AccessDenied") == "AccessDenied"
    assert get(plane, "environment") == get(plane, "reader") == "AccessDenied"
    assert get(plane, "bob") == get(plane, "bob", 1) == "ok"
    assert listing(plane, "bob") == "AccessDenied"  # s3:ListBucket is not allowed


def test_presigned_only_by_auth_type(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    put(plane, {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": objects(plane),
                "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}})
    assert settled(lambda: get(plane, "alice"), "AccessDenied") == "AccessDenied"
    url = client(plane, "alice", S3V4).generate_presigned_url(
        "get_object", Params={"Bucket": plane["bucket"], "Key": plane["keys"][0]}, ExpiresIn=600)
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200 and answer.read()


def test_signature_age_limits_old_presigned_urls(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    put(plane, {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject", "Resource": objects(plane),
                "Condition": {"NumericLessThan": {"s3:signatureAge": 10 * 60 * 1000}}})
    s3 = client(plane, "bob", S3V4)
    params = {"Bucket": plane["bucket"], "Key": plane["keys"][1]}
    signed_long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_long_ago):
        old = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)  # not expired
    fresh = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
    assert settled(lambda: outcome(lambda: urllib.request.urlopen(old, timeout=30).read()), "HTTP 403") == "HTTP 403"
    assert outcome(lambda: urllib.request.urlopen(fresh, timeout=30).read()) == "ok"
    assert get(plane, "bob", 1) == "ok"  # a header signature is seconds old


def test_source_ip(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [plane["point"], objects(plane)]}
    put(plane, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    assert settled(lambda: get(plane, "alice"), "AccessDenied") == "AccessDenied"
    put(plane, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}})
    assert settled(lambda: get(plane, "alice"), "ok") == "ok"
    assert listing(plane, "bob") == "ok"



def forwarded_get(plane: dict[str, Any], who: str, address: str) -> str:
    """A GET claiming, in X-Forwarded-For, to come from `address`."""
    s3 = client(plane, who)
    s3.meta.events.register("before-sign.s3.GetObject",
                            lambda request, **_: request.headers.__setitem__("X-Forwarded-For", address))  # fmt: skip
    return outcome(lambda: s3.get_object(Bucket=plane["bucket"], Key=plane["keys"][0])["Body"].read())


def test_source_ip_is_the_sockets_not_a_forwarded_header(no_policy: dict[str, Any]) -> None:
    """Without --forwarded-allow-ips no X-Forwarded-For is believed, not even from loopback
    (uvicorn's own default believes 127.0.0.1's)."""
    plane = no_policy
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [plane["point"], objects(plane)]}
    put(plane, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    assert settled(lambda: get(plane, "alice"), "AccessDenied") == "AccessDenied"
    assert forwarded_get(plane, "alice", "10.1.2.3") == "AccessDenied"
    put(plane, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}})
    assert settled(lambda: get(plane, "alice"), "ok") == "ok"
    assert forwarded_get(plane, "alice", "10.1.2.3") == "ok"


def test_wildcards_in_action_and_resource(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    second_set = plane["sets"][1]["id"]
    put(plane, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:Get*",
                "Resource": objects(plane, f"{ACCOUNT}/sequenceStore/??????????/readSet/{second_set}/*")})
    assert settled(lambda: get(plane, "alice", 0), "AccessDenied") == "AccessDenied"
    s3 = client(plane, "alice")
    assert get(plane, "alice", 1) == "ok"
    assert outcome(lambda: s3.get_object_tagging(Bucket=plane["bucket"], Key=plane["keys"][1])) == "ok"
    assert outcome(lambda: s3.head_bucket(Bucket=plane["bucket"])) == "403"
    assert listing(plane, "alice") == "AccessDenied"


def test_deleting_the_policy_restores_the_default(no_policy: dict[str, Any]) -> None:
    plane = no_policy
    put(plane)  # no statements: nothing is allowed
    assert settled(lambda: listing(plane, "environment"), "AccessDenied") == "AccessDenied"
    assert get(plane, "bob") == "AccessDenied"
    plane["omics"].delete_s3_access_policy(s3AccessPointArn=plane["point"])
    assert settled(lambda: listing(plane, "environment"), "ok") == "ok"
    assert get(plane, "bob") == get(plane, "alice", 1) == "ok"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"Condition": {"StringEquals": {"s3:x-amz-acl": "private"}}}, "condition key is not supported"),
        ({"Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}, "DateGreaterThan"),
        ({"NotPrincipal": {"AWS": ACCOUNT}}, "NotPrincipal is not supported"),
        ({"Effect": "Permit"}, "Effect must be 'Allow' or 'Deny'"),
    ],
)
def test_a_policy_the_evaluator_does_not_understand_is_refused(
    no_policy: dict[str, Any], change: dict[str, Any], named: str
) -> None:
    plane, omics = no_policy, no_policy["omics"]
    statement = {"Sid": "Shared", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": objects(plane), **change}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(omics.exceptions.ValidationException) as refused:
        omics.put_s3_access_policy(s3AccessPointArn=plane["point"], s3AccessPolicy=document)
    message = refused.value.response["Error"]["Message"]
    assert "Statement[0] (Sid 'Shared')" in message and named in message, message
    with pytest.raises(omics.exceptions.ResourceNotFoundException):  # nothing was stored
        omics.get_s3_access_policy(s3AccessPointArn=plane["point"])


def test_the_aws_default_policy_reads_as_no_policy_does(no_policy: dict[str, Any]) -> None:
    """The policy AWS puts on a new store (the account root may get objects under the store's
    prefix and their tags, and list the access point) lets every key of the account read."""
    plane = no_policy
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    put(plane,
        {"Effect": "Allow", "Principal": root, "Action": ["s3:GetObject", "s3:GetObjectTagging"],
         "Resource": objects(plane, f"{ACCOUNT}/sequenceStore/{plane['store']['id']}/*")},
        {"Effect": "Allow", "Principal": root, "Action": "s3:ListBucket", "Resource": plane["point"]})
    for who in ("environment", "alice", "reader"):
        assert get(plane, who) == listing(plane, who) == "ok"
    s3 = client(plane, "bob")
    assert outcome(lambda: s3.get_object_tagging(Bucket=plane["bucket"], Key=plane["keys"][1])) == "ok"
    assert outcome(lambda: s3.get_bucket_location(Bucket=plane["bucket"])) == "AccessDenied"  # not granted


def test_a_change_reaches_every_api_process(tmp_path: Path) -> None:
    """With two API processes, a Put through one is seen by the other within CACHE_SECONDS: fresh
    connections (each may reach either process, whose caches were warmed with "no policy") are
    polled until a run of them is refused."""
    with running(Server(tmp_path / "data", options=("--workers", "2"))) as server:
        omics = make_client(server.url)
        store = omics.create_sequence_store(name="two-processes")
        read_set = ingest(omics, store["id"], "FASTQ", gz(fastq_text(20, seed=3)))
        bucket, key = read_set["files"]["source1"]["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)

        def fresh_reads(count: int) -> str:
            """"ok" or "AccessDenied" if every one of `count` new clients got it, else "mixed"."""
            found = {outcome(lambda: s3_client(server.url).get_object(Bucket=bucket, Key=key)) for _ in range(count)}
            return found.pop() if len(found) == 1 else "mixed"

        assert fresh_reads(10) == "ok"
        document = {"Version": "2012-10-17", "Statement": []}
        omics.put_s3_access_policy(s3AccessPointArn=store["s3Access"]["s3AccessPointArn"],
                                   s3AccessPolicy=json.dumps(document))
        assert settled(lambda: fresh_reads(10), "AccessDenied") == "AccessDenied"

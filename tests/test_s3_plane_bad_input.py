"""Bad input to the S3 data plane (docs/s3.md, "Errors"): each gets S3's XML error with the right
code, nothing is written, and the server stays healthy."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers.clients import make_client, s3_client
from tests.helpers.data import gz
from tests.helpers.fasta import fasta_bytes, random_sequences
from tests.helpers.fastq import paired_fastq
from tests.helpers.jobs import wait_for_read_set_status
from tests.helpers.names import ACCOUNT, unique
from tests.helpers.readsets import ingest, start_upload
from tests.helpers.references import import_fasta
from tests.helpers.servers import OptionServer, Server, healthy, running


def split(uri: str) -> tuple[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


@pytest.fixture(scope="module")
def read_set(omics) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    store_id = omics.create_sequence_store(name=unique("s3-bad"))["id"]
    r1, _ = paired_fastq(100, seed=171)
    metadata = ingest(omics, store_id, "FASTQ", gz(r1), name="bad")
    assert metadata["status"] == "ACTIVE"
    return {**metadata, "bytes": gz(r1), "store": omics.get_sequence_store(id=store_id)}


def code_of(failure: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = failure.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_a_wrong_secret_is_signature_does_not_match(server: Server, read_set: dict[str, Any]) -> None:
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    with pytest.raises(ClientError) as failure:
        s3_client(server.url, secret="not-the-secret").get_object(Bucket=bucket, Key=key)
    assert code_of(failure) == (403, "SignatureDoesNotMatch")


def test_an_unknown_key_is_invalid_access_key_id(server: Server, read_set: dict[str, Any]) -> None:
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    with pytest.raises(ClientError) as failure:
        s3_client(server.url, key="AKIANOBODY").get_object(Bucket=bucket, Key=key)
    assert code_of(failure) == (403, "InvalidAccessKeyId")
    assert "AKIANOBODY" in failure.value.response["Error"]["Message"]


def test_an_unsigned_request_is_refused_when_auth_is_on(server: Server, read_set: dict[str, Any]) -> None:
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    answer = requests.get(f"{server.url}/{bucket}/{key}", timeout=30)
    assert answer.status_code == 403
    assert "<Code>AccessDenied</Code>" in answer.text and "Anonymous" in answer.text


def test_expired_and_tampered_presigned_urls(server: Server, read_set: dict[str, Any]) -> None:
    s3 = s3_client(server.url, config=Config(signature_version="s3v4"))
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
    time.sleep(2.1)
    answer = requests.get(expired, timeout=30)
    assert answer.status_code == 403
    assert "<Code>AccessDenied</Code>" in answer.text and "Request has expired" in answer.text

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
    for tampered in (url.replace(key, key[:-1] + "x"), url.replace("X-Amz-Expires=600", "X-Amz-Expires=900")):
        answer = requests.get(tampered, timeout=30)
        assert answer.status_code == 403, tampered
        assert "<Code>SignatureDoesNotMatch</Code>" in answer.text
    too_long = url.replace("X-Amz-Expires=600", "X-Amz-Expires=604801")
    answer = requests.get(too_long, timeout=30)
    assert answer.status_code == 400 and "7 days" in answer.text
    with pytest.raises(urllib.error.HTTPError) as sigv2:  # boto3's default presigning is SigV2
        urllib.request.urlopen(s3_client(server.url).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}), timeout=30)
    assert sigv2.value.code == 400 and b"s3v4" in sigv2.value.read()


def test_an_alias_of_no_store_is_no_such_bucket(server: Server, read_set: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    store_id = read_set["sequenceStoreId"]
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    for name in (f"{ACCOUNT}-{store_id}-{'x' * 24}-s3alias",  # the store's id with another random part
                 f"{ACCOUNT}-9999999999-{'a' * 24}-s3alias", "plain-bucket"):
        with pytest.raises(ClientError) as failure:
            s3.get_object(Bucket=name, Key=key)
        assert code_of(failure) == (404, "NoSuchBucket"), name
    with pytest.raises(ClientError) as failure:
        s3.head_bucket(Bucket=f"{ACCOUNT}-9999999999-{'a' * 24}-s3alias")
    assert code_of(failure)[0] == 404


def test_keys_outside_the_store_and_path_tricks_are_no_such_key(server: Server, read_set: dict[str, Any]) -> None:
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    store_id = read_set["sequenceStoreId"]
    other = f"{ACCOUNT}/sequenceStore/0000000001/readSet/{read_set['id']}/{key.rsplit('/', 1)[1]}"
    s3 = s3_client(server.url)
    for bad in (other, key + "x", key.rsplit("/", 1)[0], f"{ACCOUNT}/sequenceStore/{store_id}/readSet/../../../etc/passwd",
                f"{key.rsplit('/', 1)[0]}/../{read_set['id']}/{key.rsplit('/', 1)[1]}"):
        with pytest.raises(ClientError) as failure:
            s3.get_object(Bucket=bucket, Key=bad)
        assert code_of(failure) == (404, "NoSuchKey"), bad
    # Percent-encoded slashes and dots are decoded once and compared with stored keys, nothing more.
    for raw in (quote(key, safe=""), key.replace("/readSet/", "/readSet/%2e%2e/"), "%2e%2e/%2e%2e/etc/passwd"):
        answer = requests.get(f"{server.url}/{bucket}/{raw}", timeout=30)
        assert answer.status_code in (403, 404), raw  # unsigned: refused before any lookup
        assert "<Error>" in answer.text


def test_a_range_past_the_end_is_invalid_range(server: Server, read_set: dict[str, Any]) -> None:
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    size = len(read_set["bytes"])
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        with pytest.raises(ClientError) as failure:
            s3_client(server.url).get_object(Bucket=bucket, Key=key, Range=header)
        assert code_of(failure) == (416, "InvalidRange"), header


def test_writes_of_every_kind_are_refused_and_write_nothing(server: Server, read_set: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    attempts = [
        lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"overwritten"),
        lambda: s3.put_object(Bucket=bucket, Key=key.rsplit("/", 1)[0] + "/new.txt", Body=b"new"),
        lambda: s3.delete_object(Bucket=bucket, Key=key),
        lambda: s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]}),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key=key),
        lambda: s3.copy_object(Bucket=bucket, Key=key + ".copy", CopySource={"Bucket": bucket, "Key": key}),
        lambda: s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": []}),
        lambda: s3.delete_bucket(Bucket=bucket),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as failure:
            attempt()
        assert code_of(failure) == (403, "AccessDenied")
    for subresource in (lambda: s3.get_object_acl(Bucket=bucket, Key=key), lambda: s3.get_bucket_policy(Bucket=bucket)):
        with pytest.raises(ClientError) as failure:
            subresource()
        assert code_of(failure) == (501, "NotImplemented")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == read_set["bytes"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == sorted(split(f["s3Access"]["s3Uri"])[1] for f in read_set["files"].values())
    assert healthy(server)


def test_files_of_read_sets_that_are_not_active_are_not_objects(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    store = omics.create_sequence_store(name=unique("s3-pending"))
    bucket, prefix = split(store["s3Access"]["s3Uri"])
    start_upload(omics, store["id"])  # an upload in progress has no read set files
    failed = ingest(omics, store["id"], "FASTQ", b"not a fastq at all\n", name="broken")
    assert failed["status"] == "PROCESSING_UPLOAD" or failed["status"].endswith("FAILED")
    s3 = s3_client(server.url)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key=f"{prefix}readSet/{failed['id']}/broken.fastq.gz")
    assert code_of(failure) == (404, "NoSuchKey")


def test_a_deleted_references_files_are_no_objects(server: Server, omics, reference_store_id: str) -> None:  # type: ignore[no-untyped-def]
    meta = import_fasta(omics, server, reference_store_id, fasta_bytes(random_sequences({"c1": 500}, seed=176)))
    bucket, key = split(meta["files"]["source"]["s3Access"]["s3Uri"])
    s3 = s3_client(server.url)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == meta["files"]["source"]["contentLength"]
    omics.delete_reference(referenceStoreId=reference_store_id, id=meta["id"])
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key=key)
    assert code_of(failure) == (404, "NoSuchKey")
    assert key not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="module")
def archiving_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("s3-archiving") / "data"
    with running(Server(data_dir, extra_env={"SEQSTORE_ARCHIVE_AFTER_SECONDS": "4"})) as server:
        yield server


def test_an_archived_read_set_is_invalid_object_state(archiving_server: Server) -> None:
    omics = make_client(archiving_server.url)
    store_id = omics.create_sequence_store(name="archive")["id"]
    r1, _ = paired_fastq(50, seed=172)
    metadata = ingest(omics, store_id, "FASTQ", gz(r1), name="cold")
    bucket, key = split(metadata["files"]["source1"]["s3Access"]["s3Uri"])
    wait_for_read_set_status(omics, store_id, metadata["id"], "ARCHIVED", timeout=20)
    with pytest.raises(ClientError) as failure:
        s3_client(archiving_server.url).get_object(Bucket=bucket, Key=key)
    assert code_of(failure) == (403, "InvalidObjectState")
    assert "activation job" in failure.value.response["Error"]["Message"]


def test_s3_reads_keep_a_read_set_active_while_an_unread_one_is_archived(archiving_server: Server) -> None:
    """A GetObject counts as an access for the archive clock (docs/s3.md, "Objects"): the read set
    read through S3 stays ACTIVE past the time the one ingested after it, and not read, is archived."""
    omics = make_client(archiving_server.url)
    store_id = omics.create_sequence_store(name="archive-clock")["id"]
    data = gz(paired_fastq(50, seed=174)[0])
    read = ingest(omics, store_id, "FASTQ", data, name="read")
    unread = ingest(omics, store_id, "FASTQ", gz(paired_fastq(50, seed=175)[0]), name="unread")
    bucket, key = split(read["files"]["source1"]["s3Access"]["s3Uri"])
    s3 = s3_client(archiving_server.url)
    deadline = time.monotonic() + 30
    while omics.get_read_set_metadata(sequenceStoreId=store_id, id=unread["id"])["status"] != "ARCHIVED":
        assert s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-9")["Body"].read() == data[:10]
        assert time.monotonic() < deadline, "the unread read set was not archived"
        time.sleep(0.1)
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read["id"])["status"] == "ACTIVE"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_auth_none_serves_anonymous_reads_on_loopback(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("s3-anonymous") / "data"
    with running(OptionServer(data_dir, "--auth", "none")) as server:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="open")["id"]
        r1, _ = paired_fastq(30, seed=173)
        metadata = ingest(omics, store_id, "FASTQ", gz(r1), name="open")
        bucket, key = split(metadata["files"]["source1"]["s3Access"]["s3Uri"])
        answer = requests.get(f"{server.url}/{bucket}/{key}", headers={"Range": "bytes=0-9"}, timeout=30)
        assert answer.status_code == 206 and answer.content == gz(r1)[:10]
        # virtual-host style, unsigned: the Host's first label is the alias
        answer = requests.get(f"{server.url}/{key}", headers={"Host": f"{bucket}.localhost"}, timeout=30)
        assert answer.status_code == 200 and answer.content == gz(r1)
        assert requests.put(f"{server.url}/{bucket}/{key}", data=b"x", timeout=30).status_code == 403
        assert requests.get(f"{server.url}/{bucket}/{key}", timeout=30).content == gz(r1)

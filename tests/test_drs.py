"""DRS 1.4 on stored read sets and references: a read set or reference is a bundle of its files;
each file an object whose size and md5 are those of the bytes GetReadSet / GetReference return,
with an s3 access method (the s3Uri the omics API shows) and an https one that resolves to a URL
serving those bytes. Errors in DRS's JSON form."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.alignments import write_bam
from tests.helpers.clients import s3_client
from tests.helpers.commands import bearer_token
from tests.helpers.readsets import download, ingest
from tests.helpers.references import reference_part
from tests.helpers.servers import Server

DRS = "/ga4gh/drs/v1"


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return bearer_token(server)


@pytest.fixture(scope="module")
def read_set(omics, files: Path, genome: Path, genome_arn: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    store_id = omics.create_sequence_store(name="drs")["id"]
    metadata = ingest(omics, store_id, "BAM", write_bam(files / "drs.bam", genome, 300, seed=41).read_bytes(),
                      referenceArn=genome_arn)  # fmt: skip
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    return metadata


def drs(server: Server, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.url}{DRS}{path}", headers=headers, timeout=30)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_a_read_set_is_a_bundle_of_its_files(  # type: ignore[no-untyped-def]
    server: Server, omics, read_set: dict[str, Any], token: str
) -> None:
    store_id, read_set_id = read_set["sequenceStoreId"], read_set["id"]
    bundle_id = f"rs-{store_id}-{read_set_id}"
    response = drs(server, f"/objects/{bundle_id}", token)
    assert response.status_code == 200, response.text
    bundle = response.json()
    files = read_set["files"]
    assert {c["id"] for c in bundle["contents"]} == {f"{bundle_id}-{name}" for name in files}
    assert bundle["size"] == sum(f["contentLength"] for f in files.values())
    assert bundle["aliases"] == [read_set["arn"]]
    assert read_set["etag"]["source1"] in bundle["description"]
    assert read_set["etag"]["algorithm"] in bundle["description"]
    contents = {}
    for name in files:
        document = drs(server, f"/objects/{bundle_id}-{name}", token).json()
        data = download(omics, store_id, read_set_id, file=name.upper())
        assert document["size"] == len(data) == files[name]["contentLength"]
        assert document["checksums"] == [{"type": "md5", "checksum": md5(data)}]
        s3 = next(m for m in document["access_methods"] if m["type"] == "s3")
        assert s3["access_url"]["url"] == files[name]["s3Access"]["s3Uri"]
        bucket, key = s3["access_url"]["url"].removeprefix("s3://").split("/", 1)
        assert s3_client(server.url).get_object(Bucket=bucket, Key=key)["Body"].read() == data  # the S3 plane
        access = drs(server, f"/objects/{bundle_id}-{name}/access/https", token).json()
        headers = dict(h.split(": ", 1) for h in access["headers"])
        assert requests.get(access["url"], headers=headers, timeout=30).content == data
        ranged = requests.get(access["url"], headers={**headers, "Range": "bytes=10-19"}, timeout=30)
        assert ranged.status_code == 206 and ranged.content == data[10:20]
        contents[name] = md5(data)
    # A bundle's checksum: the md5 of its contents' checksums, sorted and concatenated (DRS).
    expected = md5("".join(sorted(contents.values())).encode())
    assert bundle["checksums"] == [{"type": "md5", "checksum": expected}]


def test_a_reference_is_a_bundle_of_its_fasta_and_index(  # type: ignore[no-untyped-def]
    server: Server, omics, reference: dict[str, Any], token: str
) -> None:
    bundle_id = f"ref-{reference['store_id']}-{reference['id']}"
    bundle = drs(server, f"/objects/{bundle_id}", token).json()
    assert {c["id"] for c in bundle["contents"]} == {f"{bundle_id}-source", f"{bundle_id}-index"}
    source = drs(server, f"/objects/{bundle_id}-source", token).json()
    data = reference_part(omics, str(reference["store_id"]), str(reference["id"]))
    assert source["size"] >= len(data)
    if source["size"] == len(data):  # one part: the whole FASTA
        assert source["checksums"][0]["checksum"] == md5(data)
    access = drs(server, f"/objects/{bundle_id}-source/access/https", token).json()
    headers = dict(h.split(": ", 1) for h in access["headers"])
    fetched = requests.get(access["url"], headers=headers, timeout=30).content
    assert md5(fetched) == source["checksums"][0]["checksum"] and fetched.startswith(data[:1000])


def test_bad_requests_get_drs_errors(server: Server, read_set: dict[str, Any], token: str) -> None:
    bundle_id = f"rs-{read_set['sequenceStoreId']}-{read_set['id']}"
    cases = [
        (drs(server, f"/objects/{bundle_id}", None), 401, "Bearer"),
        (drs(server, f"/objects/{bundle_id}", token + "x"), 401, "signature"),
        (drs(server, "/objects/not-an-id", token), 404, "rs-STORE-READSET"),
        (drs(server, f"/objects/rs-{read_set['sequenceStoreId']}-1234567890", token), 404, "1234567890"),
        (drs(server, f"/objects/{bundle_id}-source2", token), 404, "no source2"),
        (drs(server, f"/objects/{bundle_id}/access/https", token), 400, "bundle"),
        (drs(server, f"/objects/{bundle_id}-source1/access/ftp", token), 404, "ftp"),
        (drs(server, f"/data/{bundle_id}", token), 400, "bundle"),
    ]
    for response, status, fragment in cases:
        document = response.json()
        assert (response.status_code, document["status_code"]) == (status, status), document
        assert fragment in document["msg"], document
    assert drs(server, "/service-info", None).json()["type"]["artifact"] == "drs"

"""The S3 data plane with real clients (docs/s3.md): every s3Uri seqstore returns is readable by
boto3's s3 client, presigned URLs, the AWS CLI and samtools, from the same host and port as the
omics API. Bytes are compared with what was uploaded, records with pysam on the original file."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pysam
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.helpers.alignments import write_bam
from tests.helpers.clients import KEY, SECRET, s3_client
from tests.helpers.commands import AWS, aws_env
from tests.helpers.data import gz
from tests.helpers.fastq import bulk_fastq_text, paired_fastq
from tests.helpers.names import ACCOUNT, unique
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server


def split(uri: str) -> tuple[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


def samtools(server: Server, cwd: Path, command: str, s3_uri: str, region: str) -> subprocess.CompletedProcess[str]:
    """`samtools COMMAND s3+http://BUCKET/KEY REGION` with htslib's S3 plugin pointed at the server
    by the documented variables (docs/s3.md, "Clients")."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HTS_"))},
           "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
           "HTS_S3_HOST": f"127.0.0.1:{server.port}", "HTS_S3_ADDRESS_STYLE": "path"}
    url = "s3+http://" + s3_uri.removeprefix("s3://")
    return subprocess.run(["samtools", command, url, region], env=env, capture_output=True, text=True, timeout=60,
                          cwd=cwd)


@pytest.fixture(scope="module")
def stored(omics, files: Path, genome: Path, genome_arn: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A store holding a FASTQ pair and an indexed BAM: their metadata and the uploaded bytes."""
    store = omics.create_sequence_store(name=unique("s3-plane"), propagatedSetLevelTags=["project"])
    r1, r2 = paired_fastq(400, seed=161)
    fastq = ingest(omics, store["id"], "FASTQ", gz(r1), gz(r2), name="pair", tags={"project": "atlas"})
    bam_path = write_bam(files / "s3-plane.bam", genome, 600, seed=162)
    bam = ingest(omics, store["id"], "BAM", bam_path.read_bytes(), name="aligned", referenceArn=genome_arn)
    assert fastq["status"] == bam["status"] == "ACTIVE"
    return {"store": store, "fastq": fastq, "bam": bam, "bam_path": bam_path,
            "bytes": {"r1": gz(r1), "r2": gz(r2), "bam": bam_path.read_bytes()}}


def test_every_s3_uri_is_in_the_stores_alias_with_the_documented_key(omics, stored: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    store = stored["store"]
    assert omics.get_sequence_store(id=store["id"])["s3Access"] == store["s3Access"]  # stable
    alias, prefix = split(store["s3Access"]["s3Uri"])
    assert re.fullmatch(rf"{ACCOUNT}-{store['id']}-[a-z0-9]{{24}}-s3alias", alias)
    assert prefix == f"{ACCOUNT}/sequenceStore/{store['id']}/"
    assert store["s3Access"]["s3AccessPointArn"].endswith(f":accesspoint/{ACCOUNT}-{store['id']}")
    for read_set in (stored["fastq"], stored["bam"]):
        for file in read_set["files"].values():
            bucket, key = split(file["s3Access"]["s3Uri"])
            assert bucket == alias
            assert key.startswith(f"{prefix}readSet/{read_set['id']}/")


def test_get_object_whole_and_by_ranges(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, key = split(stored["fastq"]["files"]["source1"]["s3Access"]["s3Uri"])
    data = stored["bytes"]["r1"]
    whole = s3.get_object(Bucket=bucket, Key=key)
    assert whole["Body"].read() == data
    assert whole["ContentLength"] == len(data) and whole["AcceptRanges"] == "bytes"
    assert whole["ETag"].startswith('"') and whole["LastModified"]
    for header, expected, first, last in (
        ("bytes=100-199", data[100:200], 100, 199),
        (f"bytes={len(data) - 50}-", data[-50:], len(data) - 50, len(data) - 1),
        ("bytes=-70", data[-70:], len(data) - 70, len(data) - 1),
        (f"bytes=10-{len(data) + 500}", data[10:], 10, len(data) - 1),  # clipped at the end
    ):
        part = s3.get_object(Bucket=bucket, Key=key, Range=header)
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert part["ContentRange"] == f"bytes {first}-{last}/{len(data)}"
        assert part["Body"].read() == expected


def test_head_object_and_conditional_gets(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, key = split(stored["bam"]["files"]["source1"]["s3Access"]["s3Uri"])
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(stored["bytes"]["bam"])
    etag, modified = head["ETag"], head["LastModified"]
    assert s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"].read() == stored["bytes"]["bam"]
    with pytest.raises(s3.exceptions.ClientError) as failed:
        s3.get_object(Bucket=bucket, Key=key, IfMatch='"other"')
    assert failed.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(s3.exceptions.ClientError) as not_modified:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(s3.exceptions.ClientError) as not_modified:
        s3.get_object(Bucket=bucket, Key=key, IfModifiedSince=modified)
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(s3.exceptions.ClientError) as failed:
        s3.get_object(Bucket=bucket, Key=key, IfUnmodifiedSince=modified.replace(year=2000))
    assert failed.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.head_object(Bucket=bucket, Key=key, IfUnmodifiedSince=modified)["ETag"] == etag


def test_download_file_with_parallel_ranged_gets(server: Server, stored: dict[str, Any], omics, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = gz(bulk_fastq_text(40_000, seed=163), level=1)
    read_set = ingest(omics, stored["store"]["id"], "FASTQ", big, name="big")
    bucket, key = split(read_set["files"]["source1"]["s3Access"]["s3Uri"])
    target = tmp_path / "big.fastq.gz"
    config = TransferConfig(multipart_threshold=1024 * 1024, multipart_chunksize=1024 * 1024, max_concurrency=4)
    s3_client(server.url).download_file(bucket, key, str(target), Config=config)
    assert len(big) > 2 * 1024 * 1024  # several ranged GETs
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(big).digest()


def test_list_objects_v2_paginator_prefix_delimiter_and_start_after(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, prefix = split(stored["store"]["s3Access"]["s3Uri"])
    expected = sorted(
        split(f["s3Access"]["s3Uri"])[1]
        for read_set in (stored["fastq"], stored["bam"]) for f in read_set["files"].values()
    )
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert [k for k in keys if k in expected] == expected  # in key order, a page at a time
    assert len(pages) >= 2 and all(page["KeyCount"] <= 2 for page in pages)
    sizes = {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}
    assert sizes[split(stored["fastq"]["files"]["source1"]["s3Access"]["s3Uri"])[1]] == len(stored["bytes"]["r1"])

    folders = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}readSet/", Delimiter="/")
    assert "Contents" not in folders
    assert {p["Prefix"] for p in folders["CommonPrefixes"]} >= {
        f"{prefix}readSet/{stored['fastq']['id']}/", f"{prefix}readSet/{stored['bam']['id']}/"}
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == [f"{ACCOUNT}/"]

    one = f"{prefix}readSet/{stored['fastq']['id']}/"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=one)["Contents"]] == [
        k for k in expected if k.startswith(one)]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter=expected[0])
    assert expected[0] not in [o["Key"] for o in after["Contents"]]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="nothing/").get("KeyCount") == 0


def test_list_objects_v1_with_marker(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, _ = split(stored["store"]["s3Access"]["s3Uri"])
    keys = [o["Key"] for page in s3.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 1}) for o in page.get("Contents", [])]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) >= 5


def test_bucket_calls_and_object_tags(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url)
    bucket, key = split(stored["fastq"]["files"]["source1"]["s3Access"]["s3Uri"])
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] in (None, "")
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
    fastq = stored["fastq"]
    assert tags == {"omics:sampleId": fastq["sampleId"], "omics:subjectId": fastq["subjectId"], "project": "atlas"}


def test_a_presigned_url_is_read_with_no_credentials(server: Server, stored: dict[str, Any]) -> None:
    s3 = s3_client(server.url, config=Config(signature_version="s3v4"))
    bucket, key = split(stored["bam"]["files"]["source1"]["s3Access"]["s3Uri"])
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=30) as answer:  # no credentials at all
        assert answer.read() == stored["bytes"]["bam"]
    ranged = urllib.request.Request(url, headers={"Range": "bytes=0-3"})
    with urllib.request.urlopen(ranged, timeout=30) as answer:
        assert answer.status == 206 and answer.read() == stored["bytes"]["bam"][:4]


def test_virtual_host_style_addressing(server: Server, stored: dict[str, Any]) -> None:
    """`Host: {alias}.localhost:PORT` names the bucket (signed by botocore for that host)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    bucket, key = split(stored["fastq"]["files"]["source2"]["s3Access"]["s3Uri"])
    host = f"{bucket}.localhost:{server.port}"
    request = AWSRequest("GET", f"http://{host}/{key}", headers={"Range": "bytes=0-9"})
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    import requests

    answer = requests.get(f"{server.url}/{key}", headers={**dict(request.headers.items()), "Host": host}, timeout=30)
    assert answer.status_code == 206, answer.text
    assert answer.content == stored["bytes"]["r2"][:10]


def test_aws_cli_s3_ls_and_cp(server: Server, stored: dict[str, Any], tmp_path: Path) -> None:
    env = aws_env(server.url, tmp_path, AWS_ENDPOINT_URL_S3=server.url)
    store_uri = stored["store"]["s3Access"]["s3Uri"]
    listing = subprocess.run([str(AWS), "s3", "ls", "--recursive", store_uri], env=env, capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    uri = stored["fastq"]["files"]["source1"]["s3Access"]["s3Uri"]
    assert uri.rsplit("/", 1)[1] in listing.stdout
    copied = subprocess.run([str(AWS), "s3", "cp", uri, str(tmp_path / "r1.fastq.gz")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "r1.fastq.gz").read_bytes() == stored["bytes"]["r1"]


def test_samtools_views_a_region_through_s3(
    server: Server, stored: dict[str, Any], genome: Path, tmp_path: Path
) -> None:
    """htslib's S3 plugin with the documented variables (README, "S3 access"): the index is
    found beside the BAM and only the region is read."""
    bam_uri = stored["bam"]["files"]["source1"]["s3Access"]["s3Uri"]
    contig = pysam.FastaFile(str(genome)).references[0]
    region = f"{contig}:1-2000"
    viewed = samtools(server, tmp_path, "view", bam_uri, region)
    assert viewed.returncode == 0, viewed.stderr
    assert (tmp_path / "aligned.bam.bai").exists()  # htslib fetched the stored index through S3
    pysam.index(str(stored["bam_path"]))
    with pysam.AlignmentFile(str(stored["bam_path"])) as original:
        expected = [record.to_string() for record in original.fetch(region=region)]
    assert expected and viewed.stdout.splitlines() == expected


@pytest.fixture(scope="module")
def reference_files(omics, reference: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The session reference's metadata, and the bytes GetReference serves of its two files."""
    ids = {"referenceStoreId": reference["store_id"], "id": reference["id"]}
    meta = omics.get_reference_metadata(**ids)
    stored = {file: omics.get_reference(**ids, partNumber=1, file=file)["payload"].read() for file in ("SOURCE", "INDEX")}
    return {"meta": meta, "bytes": stored}


def test_reference_files_are_objects_of_the_reference_stores_alias(
    server: Server, reference: dict[str, Any], reference_files: dict[str, Any]
) -> None:
    meta = reference_files["meta"]
    (alias, source), (index_alias, index) = (split(meta["files"][f]["s3Access"]["s3Uri"]) for f in ("source", "index"))
    assert re.fullmatch(rf"{ACCOUNT}-{reference['store_id']}-[a-z0-9]{{24}}-s3alias", alias) and index_alias == alias
    prefix = f"{ACCOUNT}/referenceStore/{reference['store_id']}/reference/{reference['id']}/"
    assert source.startswith(prefix) and index == source + ".fai"  # htslib finds the index beside it

    s3 = s3_client(server.url)
    for key, file in ((source, "SOURCE"), (index, "INDEX")):
        assert s3.get_object(Bucket=alias, Key=key)["Body"].read() == reference_files["bytes"][file]
    assert s3.head_object(Bucket=alias, Key=source)["ContentLength"] == meta["files"]["source"]["contentLength"]
    ranged = s3.get_object(Bucket=alias, Key=source, Range="bytes=1-5")
    assert ranged["Body"].read() == reference_files["bytes"]["SOURCE"][1:6]
    listed = s3.list_objects_v2(Bucket=alias, Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == sorted([source, index])
    folders = s3.list_objects_v2(Bucket=alias, Prefix=f"{ACCOUNT}/referenceStore/{reference['store_id']}/reference/",
                                 Delimiter="/")
    assert prefix in {p["Prefix"] for p in folders["CommonPrefixes"]}
    assert s3.get_object_tagging(Bucket=alias, Key=source)["TagSet"] == []
    with pytest.raises(s3.exceptions.ClientError) as other_kind:  # a read set's key names nothing here
        s3.head_object(Bucket=alias, Key=f"{ACCOUNT}/sequenceStore/{reference['store_id']}/readSet/x/y")
    assert other_kind.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_samtools_faidx_reads_a_reference_region_through_s3(
    server: Server, reference_files: dict[str, Any], genome: Path, tmp_path: Path
) -> None:
    """htslib fetches the .fai beside the FASTA through S3, then only the region's bytes."""
    uri = reference_files["meta"]["files"]["source"]["s3Access"]["s3Uri"]
    fasta = pysam.FastaFile(str(genome))
    contig = fasta.references[-1]
    done = samtools(server, tmp_path, "faidx", uri, f"{contig}:101-260")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header == f">{contig}:101-260"
    assert "".join(lines) == fasta.fetch(contig, 100, 260)

"""The acceptance flow on both blob stores — a local directory and an S3 bucket on a real
S3-compatible server (moto's server mode) — on whichever database this pass of the suite uses
(SQLite, or PostgreSQL under SEQSTORE_TEST_DATABASE=postgresql):

create store → upload a FASTQ pair and a uBAM → metadata exact → download parts → import job →
batch delete, and afterwards no bytes left behind."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest

from tests.helpers.alignments import alignment_counts, sam_text, write_ubam
from tests.helpers.backends import S3_CREDENTIALS, shared_moto
from tests.helpers.buckets import put_object
from tests.helpers.clients import make_client
from tests.helpers.data import gz, md5
from tests.helpers.fastq import bulk_fastq_text, fastq_counts, paired_fastq
from tests.helpers.jobs import fastq_source, import_and_wait
from tests.helpers.names import ACCOUNT, unique
from tests.helpers.readsets import download, ingest, read_set_files
from tests.helpers.servers import Server, running


@pytest.fixture(scope="module", params=["local", "s3"])
def backend_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"blobs-{request.param}") / "data"
    if request.param == "s3":
        env = {**shared_moto().blob_env(), "SEQSTORE_BUCKETS_DIR": str(data_dir / "buckets")}
    else:
        env = {"SEQSTORE_BLOB_URL": ""}  # the local directory, even in a pass that defaults to S3
    with running(Server(data_dir, extra_env=env)) as server:
        yield server


def read_via_s3(server: Server, uri: str) -> bytes:
    bucket, key = server.backing_object(uri)
    return bytes(shared_moto().client().get_object(Bucket=bucket, Key=key)["Body"].read())


def test_upload_download_import_and_delete(
    backend_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = backend_server
    omics = make_client(server.url)
    store_id = omics.create_sequence_store(name=unique("flow"))["id"]
    store = omics.get_sequence_store(id=store_id)
    assert re.fullmatch(
        rf"s3://{ACCOUNT}-{store_id}-[a-z0-9]+-s3alias/{ACCOUNT}/sequenceStore/{store_id}/", store["s3Access"]["s3Uri"]
    )

    # FASTQ pair, sent in several parts.
    r1, r2 = paired_fastq(300, seed=81)
    g1, g2 = gz(r1), gz(r2)
    fastq = ingest(omics, store_id, "FASTQ", g1, g2, cuts=(len(g1) // 3, len(g1) // 2), name="pair")
    assert fastq["status"] == "ACTIVE", fastq.get("statusMessage")
    reads, bases = fastq_counts(r1, r2)
    assert fastq["sequenceInformation"]["totalReadCount"] == reads
    assert fastq["sequenceInformation"]["totalBaseCount"] == bases
    assert fastq["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}
    assert download(omics, store_id, fastq["id"], "SOURCE1") == g1
    assert download(omics, store_id, fastq["id"], "SOURCE2") == g2

    # uBAM.
    ubam_path = write_ubam(tmp_path / "flow.ubam", 150, seed=82)
    ubam = ingest(omics, store_id, "UBAM", ubam_path.read_bytes(), name="ubam")
    assert ubam["status"] == "ACTIVE", ubam.get("statusMessage")
    assert ubam["sequenceInformation"]["totalReadCount"] == alignment_counts(ubam_path)[0]
    assert ubam["etag"]["source1"] == md5(sam_text(ubam_path))
    assert download(omics, store_id, ubam["id"], "SOURCE1") == ubam_path.read_bytes()

    if server.blob_url:
        # files.*.s3Access.s3Uri is in the store's alias; the blob key is the same in the backing
        # bucket, where htslib reads the bytes directly too.
        source1 = fastq["files"]["source1"]["s3Access"]["s3Uri"]
        prefix = store["s3Access"]["s3Uri"]
        assert source1.startswith(f"{prefix}readSet/{fastq['id']}/")
        assert read_via_s3(server, source1) == g1
        ubam_uri = "s3://" + "/".join(server.backing_object(ubam["files"]["source1"]["s3Access"]["s3Uri"]))
        for name, value in S3_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("HTS_S3_HOST", shared_moto().url.removeprefix("http://"))
        monkeypatch.setenv("HTS_S3_ADDRESS_STYLE", "path")
        assert pysam.view("s3+http://" + ubam_uri.removeprefix("s3://")).encode() == sam_text(ubam_path)

    # Import from the (local) buckets directory.
    bucket = unique("runs")
    i1, i2 = paired_fastq(120, seed=83)
    job = import_and_wait(
        omics,
        store_id,
        [fastq_source(put_object(server, bucket, "S1_R1.fastq.gz", gz(i1)),
                      put_object(server, bucket, "S1_R2.fastq.gz", gz(i2)), name="imported")],
    )
    assert job["status"] == "COMPLETED", job
    imported_id = job["sources"][0]["readSetId"]
    imported = omics.get_read_set_metadata(sequenceStoreId=store_id, id=imported_id)
    assert imported["etag"]["source1"] == md5(i1)
    assert download(omics, store_id, imported_id, "SOURCE2") == gz(i2)

    # Batch delete: the bytes go with the read sets, and nothing else is left behind.
    every = [fastq["id"], ubam["id"], imported_id]
    assert all(read_set_files(server, store_id, read_set_id) for read_set_id in every)
    assert omics.batch_delete_read_set(sequenceStoreId=store_id, ids=every).get("errors") in (None, [])
    for read_set_id in every:
        assert read_set_files(server, store_id, read_set_id) == []
        assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)["status"] == "DELETED"
    assert server.blob_keys(f"{ACCOUNT}/sequenceStore/{store_id}") == []
    assert server.blob_keys("uploads") == []


def test_a_large_upload_is_stored_as_uploaded(backend_server: Server) -> None:
    """Parts of S3's minimum size: on S3 the read set's file is joined from the uploaded parts inside
    the bucket (a 2-part object) instead of being uploaded again by the worker."""
    omics = make_client(backend_server.url)
    store_id = omics.create_sequence_store(name=unique("large"))["id"]
    plain = bulk_fastq_text(30_000, seed=85)
    stored = gzip.compress(plain, compresslevel=0, mtime=0)  # stored blocks: as large as the FASTQ
    cut = 6 * 1024 * 1024
    metadata = ingest(omics, store_id, "FASTQ", stored, cuts=(cut,), name="large")
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert metadata["etag"]["source1"] == md5(plain)
    assert download(omics, store_id, metadata["id"], "SOURCE1") == stored
    if backend_server.blob_url:
        bucket, key = backend_server.backing_object(metadata["files"]["source1"]["s3Access"]["s3Uri"])
        assert shared_moto().client().head_object(Bucket=bucket, Key=key)["ETag"].endswith('-2"')
    assert backend_server.blob_keys("uploads") == []


def test_read_set_tags_reach_the_objects_on_s3(backend_server: Server) -> None:
    """Spec §14: the objects carry omics:sampleId, omics:subjectId and the read set's tags whose keys
    the store propagates, following tag changes and changes of the store's key list."""
    omics = make_client(backend_server.url)
    store_id = omics.create_sequence_store(name=unique("tags"), propagatedSetLevelTags=["project", "owner"])["id"]
    r1, _ = paired_fastq(50, seed=86)
    metadata = ingest(
        omics, store_id, "FASTQ", gz(r1), name="tagged", sampleId="s-86", subjectId="p-86",
        tags={"project": "atlas", "private": "yes"},
    )
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    arn = metadata["arn"]

    def object_tags() -> dict[str, str]:
        bucket, key = backend_server.backing_object(metadata["files"]["source1"]["s3Access"]["s3Uri"])
        tag_set = shared_moto().client().get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        return {t["Key"]: t["Value"] for t in tag_set}

    base = {"omics:sampleId": "s-86", "omics:subjectId": "p-86"}
    if backend_server.blob_url:
        assert object_tags() == {**base, "project": "atlas"}  # "private" is not propagated
    omics.tag_resource(resourceArn=arn, tags={"owner": "lab-7"})
    omics.untag_resource(resourceArn=arn, tagKeys=["project"])
    assert omics.list_tags_for_resource(resourceArn=arn)["tags"] == {"owner": "lab-7", "private": "yes"}
    if not backend_server.blob_url:
        return  # a local directory has no object tags; the read set's own tags are all there is
    assert object_tags() == {**base, "owner": "lab-7"}
    omics.update_sequence_store(id=store_id, propagatedSetLevelTags=["private"])
    deadline = time.monotonic() + 30
    while object_tags() != {**base, "private": "yes"}:
        assert time.monotonic() < deadline, object_tags()
        time.sleep(0.1)

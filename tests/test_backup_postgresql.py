"""The restore path of a PostgreSQL + S3 deployment, as docs/operations.md ("PostgreSQL and S3")
gives it: versioning on the blob bucket, `pg_dump -Fc`, then a read set deleted after the dump;
`pg_restore` into an empty database, the deleted objects' versions restored and the master key
carried over. Before the objects are restored `seqstore verify` names the missing files; after,
it passes, and a new server on the restored database serves every read set, signed by a key
created before the dump. Without the master key the server refuses to start and says why."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from tests.helpers.auth import parse_exports
from tests.helpers.backends import POSTGRES_URL, S3_CREDENTIALS, new_postgres_database_url, shared_moto
from tests.helpers.clients import client_for, make_client
from tests.helpers.commands import keys
from tests.helpers.fastq import fastq_text
from tests.helpers.readsets import download, ingest
from tests.helpers.servers import Server, running
from tests.helpers.stored import data_command

ADMIN_URL = POSTGRES_URL.replace("postgresql+psycopg", "postgresql")


def libpq(url: str) -> tuple[str, str]:
    """(the libpq connection string of a test URL's database, the schema its search_path names)."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["options"][0].removeprefix("-csearch_path=")
    return f"postgresql://{parts.netloc}{parts.path}", schema


@pytest.fixture
def restore_database() -> str:
    """The name of a new, empty database (dropped after the test)."""
    name = f"seqstore_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield name  # type: ignore[misc]
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_pg_dump_and_bucket_versions_restore_into_a_server_whose_files_all_verify(
    tmp_path: Path, restore_database: str
) -> None:
    moto = shared_moto()
    s3 = moto.client()
    bucket = moto.new_bucket("seqstore-versioned")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    url = new_postgres_database_url()
    blobs = {"SEQSTORE_BLOB_URL": f"s3://{bucket}/data", "SEQSTORE_S3_ENDPOINT_URL": moto.url, **S3_CREDENTIALS}
    original = Server(tmp_path / "original", {"SEQSTORE_DATABASE_URL": url, **blobs})
    original.data_dir.mkdir(parents=True)
    with running(original):
        omics = make_client(original.url)
        store_id = omics.create_sequence_store(name="restored")["id"]
        texts = {seed: fastq_text(150, seed=seed) for seed in (1, 2)}
        kept, doomed = (ingest(omics, store_id, "FASTQ", texts[seed])["id"] for seed in (1, 2))
        key_id, secret = parse_exports(keys(original, "create", "--name", "before-the-dump").stdout)
        database, schema = libpq(url)
        dump = tmp_path / "seqstore.dump"
        subprocess.run(["pg_dump", "-Fc", "-n", schema, "-f", str(dump), database], check=True)
        # After the dump: a read set deleted (its objects get delete markers in the versioned bucket).
        assert omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[doomed]).get("errors") in (None, [])

    restored_url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{restore_database}?options=-csearch_path%3D{schema}"
    subprocess.run(["pg_restore", "-d", libpq(restored_url)[0], str(dump)], check=True)
    server = Server(tmp_path / "restored", {"SEQSTORE_DATABASE_URL": restored_url, **blobs})
    server.data_dir.mkdir(parents=True)

    with pytest.raises(RuntimeError) as refused:  # the stored keys' secrets need the master key
        server.start()
    assert "master key cannot decrypt the stored secret" in str(refused.value)
    server.stop()
    shutil.copyfile(original.data_dir / "master.key", server.data_dir / "master.key")

    missing = data_command(server, "verify")
    assert missing.returncode != 0 and doomed in missing.stdout and kept not in missing.stdout, missing.stdout
    # Restore each deleted object: remove the delete marker that hides its version.
    markers = s3.list_object_versions(Bucket=bucket, Prefix="data/").get("DeleteMarkers", [])
    removed = [m for m in markers if m["IsLatest"] and f"/readSet/{doomed}/" in m["Key"]]
    assert removed
    for marker in removed:
        s3.delete_object(Bucket=bucket, Key=marker["Key"], VersionId=marker["VersionId"])
    clean = data_command(server, "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    with running(server):
        omics = client_for(server.url, key_id, secret)  # a key created before the dump
        for read_set_id, seed in ((kept, 1), (doomed, 2)):
            assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)["status"] == "ACTIVE"
            assert gzip.decompress(download(omics, store_id, read_set_id)) == texts[seed]

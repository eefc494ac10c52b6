"""Fixtures: a real `seqstore serve` process on a free port, boto3 clients configured the way
users configure them (only through environment variables), and the stores and references the
tests share. The helpers behind them are in tests/helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config

from tests.helpers.buckets import buckets_dir, put_object
from tests.helpers.clients import make_client
from tests.helpers.fasta import fasta_bytes, local_copy, random_sequences
from tests.helpers.names import unique
from tests.helpers.paths import TESTDATA
from tests.helpers.references import import_reference, run_import
from tests.helpers.servers import Server, running

REFERENCE_SEQUENCES = {"chr1": 6000, "chr2": 3000}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session (tests create their own stores, so they do not collide)."""
    with running(Server(tmp_path_factory.mktemp("seqstore") / "data")) as srv:
        yield srv


@pytest.fixture(scope="session")
def omics(server: Server):  # type: ignore[no-untyped-def]
    return make_client(server.url)


@pytest.fixture(scope="module")
def raw_omics(server: Server):  # type: ignore[no-untyped-def]
    """A client without botocore's client-side checks, so that out-of-range values reach the server."""
    return make_client(server.url, Config(parameter_validation=False))


@pytest.fixture
def store_id(omics) -> str:  # type: ignore[no-untyped-def]
    """A fresh sequence store for one test."""
    return str(omics.create_sequence_store(name="test-store")["id"])


@pytest.fixture(scope="session")
def reference_store_id(omics) -> str:  # type: ignore[no-untyped-def]
    """The session server's reference store (the service allows one per account)."""
    return str(omics.create_reference_store(name="test-references")["id"])


@pytest.fixture(scope="session")
def reference(server: Server, omics, reference_store_id: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """An ACTIVE reference imported from a FASTA in the server's buckets dir:
    {"arn", "id", "store_id", "fasta" (local path of the same FASTA), "sequences"}."""
    sequences = random_sequences(REFERENCE_SEQUENCES, seed=20261123)
    uri = put_object(server, "references", "test-genome.fa", fasta_bytes(sequences))
    job = run_import(omics, reference_store_id, [{"sourceFile": uri, "name": "test-genome"}])
    assert job["status"] == "COMPLETED", job
    reference_id = job["sources"][0]["referenceId"]
    meta = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)
    return {"arn": meta["arn"], "id": reference_id, "store_id": reference_store_id,
            "fasta": buckets_dir(server) / "references" / "test-genome.fa", "sequences": sequences}


@pytest.fixture(scope="module")
def files(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the files one test module generates."""
    return tmp_path_factory.mktemp(f"{request.module.__name__.rpartition('.')[2]}-files")


@pytest.fixture(scope="module")
def genome(files: Path, reference: dict[str, object]) -> Path:
    """A local copy (with an htslib .fai) of the FASTA of the session's ACTIVE reference."""
    return local_copy(Path(str(reference["fasta"])), files / "genome")


@pytest.fixture(scope="module")
def genome_arn(reference: dict[str, object]) -> str:
    return str(reference["arn"])


@pytest.fixture(scope="module")
def ce_arn(omics, server: Server, reference_store_id: str) -> str:  # type: ignore[no-untyped-def]
    """htslib's C. elegans excerpt (the reference of its ce#*.sam, range.bam and range.cram),
    imported as a reference of the session server; its ARN."""
    return import_reference(omics, server, reference_store_id, TESTDATA / "ce.fa", unique("htslib-ce"))

"""s3fs/fsspec reads the s3Uri of a read set through the S3 plane, unmodified: the whole object,
random access after seeks, ls/info/find of the store's prefix, and a wrong secret refused. s3fs
runs in .venv-s3fs (scripts/test.sh makes it from tests/clients/s3fs-requirements.txt), since
aiobotocore pins an older botocore than the suite's boto3; the client is a subprocess of it."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from typing import Any

import pytest

from tests.helpers.clients import KEY, SECRET
from tests.helpers.data import gz
from tests.helpers.fastq import paired_fastq
from tests.helpers.names import REGION
from tests.helpers.paths import ROOT
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server

PYTHON = ROOT / ".venv-s3fs" / "bin" / "python"
CLIENT = ROOT / "tests" / "clients" / "s3fs_client.py"


def s3fs_read(server: Server, url: str, offsets: list[tuple[int, int]], secret: str = SECRET) -> dict[str, Any]:
    assert PYTHON.exists(), (
        f"{PYTHON} is missing: make it with `python3 -m venv .venv-s3fs && .venv-s3fs/bin/pip install -r "
        "tests/clients/s3fs-requirements.txt` (scripts/test.sh does)"
    )
    done = subprocess.run([str(PYTHON), str(CLIENT), server.url, KEY, secret, REGION, url, json.dumps(offsets)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def pair(server: Server, omics) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r1, r2 = paired_fastq(3000, seed=77)
    store_id = omics.create_sequence_store(name="s3fs")["id"]
    metadata = ingest(omics, store_id, "FASTQ", gz(r1), gz(r2))
    assert metadata["status"] == "ACTIVE"
    return {"metadata": metadata, "bytes": {"source1": gz(r1), "source2": gz(r2)}}


def test_s3fs_reads_whole_objects_and_random_ranges(server: Server, pair: dict[str, Any]) -> None:
    files = pair["metadata"]["files"]
    data = pair["bytes"]["source1"]
    rng = random.Random(3)
    offsets = [(rng.randrange(0, len(data) - 1), rng.choice([1, 100, 5000, 70_000])) for _ in range(12)]
    offsets += [(0, 10), (len(data) - 5, 100)]  # the start, and a read past the end

    seen = s3fs_read(server, files["source1"]["s3Access"]["s3Uri"], offsets)

    assert "error" not in seen, seen
    assert (seen["size"], seen["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert seen["slices"] == [hashlib.sha256(data[o:o + n]).hexdigest() for o, n in offsets]
    assert seen["info"]["size"] == len(data) and seen["info"]["type"] == "file"


def test_s3fs_lists_the_read_sets_files(server: Server, pair: dict[str, Any]) -> None:
    files = pair["metadata"]["files"]
    uris = {f["s3Access"]["s3Uri"].removeprefix("s3://") for f in (files["source1"], files["source2"])}

    seen = s3fs_read(server, files["source2"]["s3Access"]["s3Uri"], [])

    assert set(seen["ls"]) == uris
    assert uris <= set(seen["find"])


def test_s3fs_with_a_wrong_secret_is_refused(server: Server, pair: dict[str, Any]) -> None:
    seen = s3fs_read(server, pair["metadata"]["files"]["source1"]["s3Access"]["s3Uri"], [], secret="wrong")
    # s3fs asks HeadObject first: a 403 with no body (S3's HEAD answers), which s3fs raises as
    # PermissionError("Forbidden").
    assert seen == {"error": "PermissionError", "message": "Forbidden"}, seen

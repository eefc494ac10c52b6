"""htsget on htslib's own test files (range.bam, range.cram with the C. elegans reference), read
sets of the session server: regions (one past a contig's end too) hold every record htslib's
region query on an indexed local copy returns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest
import requests

from tests.helpers.commands import bearer_token
from tests.helpers.ga4gh import ticket_data
from tests.helpers.paths import TESTDATA
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server

REGIONS = [("CHROMOSOME_I", 900, 1200), ("CHROMOSOME_II", 0, 5000), ("CHROMOSOME_I", 1_009_000, 2_000_000)]


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return bearer_token(server)


@pytest.mark.parametrize("name", ["range.bam", "range.cram"])
def test_corpus_regions_hold_what_htslib_finds(  # type: ignore[no-untyped-def]
    server: Server, omics, ce_arn: str, token: str, tmp_path: Path, name: str
) -> None:
    store_id = omics.create_sequence_store(name="htsget-corpus")["id"]
    file_type = "CRAM" if name.endswith(".cram") else "BAM"
    metadata = ingest(omics, store_id, file_type, (TESTDATA / name).read_bytes(), referenceArn=ce_arn)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    local = tmp_path / name
    shutil.copyfile(TESTDATA / name, local)
    pysam.index(str(local))
    options = {"reference_filename": str(TESTDATA / "ce.fa")} if file_type == "CRAM" else {}
    for contig, start, end in REGIONS:
        response = requests.get(
            f"{server.url}/htsget/reads/{store_id}/{metadata['id']}",
            params={"referenceName": contig, "start": start, "end": end},
            headers={"Authorization": f"Bearer {token}"}, timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        out = tmp_path / f"region-{contig}-{start}.{file_type.lower()}"
        out.write_bytes(ticket_data(response.json())[0])
        with pysam.AlignmentFile(str(local), **options) as original:  # type: ignore[arg-type]
            wanted = {r.to_string() for r in original.fetch(contig, start, min(end, original.get_reference_length(contig)))}
        with pysam.AlignmentFile(str(out), **options) as got:  # type: ignore[arg-type]
            found = {r.to_string() for r in got.fetch(until_eof=True)}
        assert wanted <= found, (contig, start, end)

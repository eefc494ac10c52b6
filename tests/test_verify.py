"""`seqstore verify` on a live server's data: clean data verifies (recording each file's MD5 the
first time), and a changed byte, a truncated blob and a removed blob are each found, named by
read set or reference id, with a non-zero exit status; `--deep` recomputes ETags and counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.clients import make_client
from tests.helpers.fasta import fasta_bytes, random_sequences
from tests.helpers.fastq import fastq_text, paired_fastq
from tests.helpers.names import ACCOUNT
from tests.helpers.readsets import ingest, read_set_files
from tests.helpers.references import import_fasta
from tests.helpers.servers import Server, running
from tests.helpers.stored import data_command, read_blob, remove_blob, write_blob


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with a reference and three ACTIVE read sets (one paired)."""
    with running(Server(tmp_path_factory.mktemp("verify") / "data")) as server:
        omics = make_client(server.url)
        reference_store = omics.create_reference_store(name="verify")["id"]
        reference = import_fasta(omics, server, reference_store,
                                 fasta_bytes(random_sequences({"chr1": 3000}, seed=7)), "genome")
        store_id = omics.create_sequence_store(name="verify")["id"]
        read_sets = [
            ingest(omics, store_id, "FASTQ", fastq_text(300, seed=seed))["id"] for seed in (1, 2, 3)
        ]
        paired = ingest(omics, store_id, "FASTQ", *paired_fastq(200, seed=4))["id"]
        yield {"server": server, "omics": omics, "store_id": store_id, "read_sets": read_sets,
               "paired": paired, "reference": reference, "reference_store": reference_store}


def verify(server: Server, *args: str) -> tuple[int, list[str]]:
    done = data_command(server, "verify", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.splitlines()


def source_key(server: Server, store_id: str, read_set_id: str, ending: str = "_source1.fastq.gz") -> str:
    (key,) = [k for k in read_set_files(server, store_id, read_set_id) if k.endswith(ending)]
    return key


def test_clean_data_verifies_against_the_checksums_ingestion_recorded(stored: dict[str, Any]) -> None:
    server = stored["server"]
    status, lines = verify(server)
    assert status == 0, lines
    # 3 read sets of one file, 1 of two, a reference of two (FASTA and .fai); ingestion and the
    # reference import recorded every file's MD5, so verify records none.
    assert lines[-1].startswith("verified 4 read sets and 1 references: 7 files"), lines
    assert "0 checksums recorded for the first time; no problems" in lines[-1], lines
    status, lines = verify(server)
    assert status == 0 and "0 checksums recorded" in lines[-1] and "no problems" in lines[-1], lines
    status, lines = verify(server, "--deep", "--rate", "50")
    assert status == 0 and "no problems" in lines[-1], lines


def test_a_changed_byte_a_truncated_blob_and_a_removed_blob_are_each_named(stored: dict[str, Any]) -> None:
    server, store_id = stored["server"], stored["store_id"]
    assert verify(server)[0] == 0  # the checksums are recorded (if no other test did yet)
    changed_id, truncated_id, _ = stored["read_sets"]
    changed, truncated = source_key(server, store_id, changed_id), source_key(server, store_id, truncated_id)
    reference_id = stored["reference"]["id"]
    (index,) = [k for k in server.blob_keys(f"{ACCOUNT}/referenceStore/{stored['reference_store']}/reference/"
                                             f"{reference_id}") if k.endswith(".fai")]
    originals = {key: read_blob(server, key) for key in (changed, truncated, index)}
    data = bytearray(originals[changed])
    data[len(data) // 2] ^= 0x01
    try:
        write_blob(server, changed, bytes(data))
        write_blob(server, truncated, originals[truncated][:-10])
        remove_blob(server, index)
        status, lines = verify(server)
        assert status == 1, lines
        problems = lines[:-1]
        assert len(problems) == 3, lines
        assert any(changed_id in line and "MD5" in line and "the bytes changed" in line for line in problems), lines
        size = len(originals[truncated])
        assert any(truncated_id in line and f"has {size - 10} bytes, the database records {size}" in line
                   for line in problems), lines
        assert any(f"reference {reference_id}" in line and "index" in line and "is missing" in line
                   for line in problems), lines
        assert lines[-1].endswith("3 problems"), lines
        # Narrowed to one read set: only its problem.
        status, lines = verify(server, "--read-set-id", changed_id)
        assert status == 1 and len(lines) == 2 and changed_id in lines[0], lines
        status, lines = verify(server, "--sequence-store-id", store_id)
        assert status == 1 and len(lines) == 3, lines  # the two read sets, not the reference
        status, lines = verify(server, "--reference-store-id", stored["reference_store"])
        assert status == 1 and len(lines) == 2 and reference_id in lines[0], lines
    finally:
        for key, original in originals.items():
            write_blob(server, key, original)
    assert verify(server)[0] == 0


def test_bytes_changed_right_after_ingestion_are_found_and_deep_names_the_etag(stored: dict[str, Any]) -> None:
    """A file corrupted before any verification: the MD5 ingestion recorded no longer matches,
    and the ETag recomputed by --deep differs from the one ingestion recorded."""
    server, omics, store_id = stored["server"], stored["omics"], stored["store_id"]
    read_set_id = ingest(omics, store_id, "FASTQ", fastq_text(300, seed=5))["id"]
    key = source_key(server, store_id, read_set_id)
    original = read_blob(server, key)
    data = bytearray(original)
    data[len(data) // 2] ^= 0x40  # the same length: only reading the bytes can tell
    write_blob(server, key, bytes(data))
    try:
        status, lines = verify(server, "--read-set-id", read_set_id)
        assert status == 1 and "the MD5 of its bytes is" in lines[0], lines
        status, lines = verify(server, "--read-set-id", read_set_id, "--deep")
        assert status == 1, lines
        problem = " ".join(lines[:-1])
        assert lines[0].startswith(f"read set {read_set_id} "), lines
        # The gzip stream no longer decodes (its CRC), or decodes to other reads.
        assert "no longer read as they did at ingestion" in problem or "etag.source1 is" in problem, lines
    finally:
        write_blob(server, key, original)
        # Its recorded MD5 is the other file's now: out of the way of the other tests.
        omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set_id])


def test_unknown_read_set_and_bad_rate_are_refused(stored: dict[str, Any], tmp_path: Path) -> None:
    server = stored["server"]
    done = data_command(server, "verify", "--read-set-id", "1234567890")
    assert done.returncode == 2 and "no ACTIVE or ARCHIVED read set 1234567890" in done.stderr
    done = data_command(server, "verify", "--rate", "0")
    assert done.returncode == 2 and "--rate" in done.stderr

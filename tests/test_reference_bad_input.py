"""FASTA imports that must fail: each bad source of an import job ends FAILED with a statusMessage
that says what is wrong, creates no reference, and leaves the job's good sources alone
(docs/behaviour.md, "Reference import", seqstore's choice).

One job carries every case (so the bad sources share it with good ones, first and last); each
case is its own test of that job's outcome."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import WaiterError

from tests.helpers.buckets import put_object
from tests.helpers.data import gz, md5
from tests.helpers.fasta import fasta_bytes, random_sequences
from tests.helpers.names import unique
from tests.helpers.references import BUCKET, reference_part, wait_for_reference_import

GOOD = fasta_bytes(random_sequences({"chr1": 1200, "chr2": 300}, seed=301))
BIG = gz(fasta_bytes(random_sequences({"chrBig": 200_000}, seed=302)))
# Soft-masked (lower case) bases, IUPAC ambiguity codes, '*' and '-' are all legal.
IUPAC = b">masked soft-masked and ambiguous\nACGTacgtNNnnRYKMSWBDHVrykmswbdhvU\nACGT*-ACGTTTGA\n>plain\nACGT\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(random.Random(5).randrange(256) for _ in range(400))
FASTQ = b"@read1\nACGTACGT\n+\nIIIIIIII\n@read2\nGGGGCCCC\n+\nIIIIIIII\n"

# (case id, object key (or a whole s3:// URI), content (None: no such object), fragments the message must hold)
BAD_CASES: list[tuple[str, str, bytes | None, tuple[str, ...]]] = [
    ("duplicate-names", "dup.fa", b">chr1 first\nACGT\n>chr2\nACGT\n>chr1 again\nGGCC\n", ("chr1", "once")),
    ("empty-sequence", "hole.fa", b">chr1\nACGT\n>chrE\n>chr3\nACGT\n", ("chrE", "empty")),
    ("empty-last-sequence", "tail.fa", b">chr1\nACGT\n>chrZ\n", ("chrZ", "empty")),
    ("illegal-character", "bad.fa", b">chr1\nACGTACGTAC\nACGTJACGTA\n", ("chr1", "'J'", "illegal")),
    ("digits-in-sequence", "digits.fa", b">chrD\nACGT\nAC1234GT\n", ("chrD", "'1'")),
    ("header-without-name", "noname.fa", b">\nACGTACGT\n", ("name",)),
    ("truncated-gzip", "cut.fa.gz", BIG[: len(BIG) // 2], ("truncated",)),
    ("png-image", "image.fa", PNG, ("FASTA",)),
    ("fastq-file", "reads.fa", FASTQ, ("FASTQ", "FASTA")),
    ("plain-text", "notes.txt", b"these are notes, not sequences\n", ("FASTA",)),
    ("empty-file", "empty.fa", b"", ("empty",)),
    ("unsupported-extension", "genome.png", GOOD, ("genome.png", "extension")),
    ("missing-object", "absent.fa", None, ("absent.fa", "no such object")),
    ("missing-bucket", "s3://no-such-bucket-for-references/genome.fa", None, ("no-such-bucket-for-references",)),
]


@pytest.fixture(scope="module")
def outcome(server, omics, reference_store_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    stamp = unique("bad")
    sources = [{"sourceFile": put_object(server, BUCKET, f"{stamp}/good-first.fa", GOOD), "name": f"{stamp}-good-first"}]
    for case, key, data, _ in BAD_CASES:
        if key.startswith("s3://"):
            uri = key
        elif data is None:
            uri = f"s3://{BUCKET}/{stamp}/{key}"
        else:
            uri = put_object(server, BUCKET, f"{stamp}/{key}", data)
        sources.append({"sourceFile": uri, "name": f"{stamp}-{case}"})
    sources.append({"sourceFile": put_object(server, BUCKET, f"{stamp}/iupac.fasta.gz", gz(IUPAC)), "name": f"{stamp}-iupac"})
    started = omics.start_reference_import_job(
        referenceStoreId=reference_store_id, roleArn="arn:aws:iam::123456789012:role/bad-input", sources=sources
    )
    job = wait_for_reference_import(omics, reference_store_id, started["id"])
    by_name = {source["name"]: source for source in job["sources"]}
    return {"job": job, "stamp": stamp, "by_name": by_name}


@pytest.mark.parametrize(
    ("case", "fragments"), [(case, fragments) for case, _, _, fragments in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_a_bad_fasta_source_fails_with_a_message_saying_why(
    omics, reference_store_id: str, outcome: dict[str, Any], case: str, fragments: tuple[str, ...]
) -> None:
    name = f"{outcome['stamp']}-{case}"
    source = outcome["by_name"][name]
    assert source["status"] == "FAILED", source
    message = source.get("statusMessage", "")
    for fragment in fragments:
        assert fragment.lower() in message.lower(), (fragment, message)
    assert len(message) <= 127 and "\n" not in message and "Traceback" not in message
    assert "referenceId" not in source
    assert omics.list_references(referenceStoreId=reference_store_id, filter={"name": name})["references"] == []


def test_the_good_sources_of_a_job_with_bad_ones_are_imported(
    omics, reference_store_id: str, outcome: dict[str, Any]
) -> None:
    job, stamp = outcome["job"], outcome["stamp"]
    assert job["status"] == "COMPLETED_WITH_FAILURES"
    assert str(len(BAD_CASES)) in job["statusMessage"]
    assert [s["status"] for s in job["sources"]] == ["FINISHED"] + ["FAILED"] * len(BAD_CASES) + ["FINISHED"]
    for name, plain in ((f"{stamp}-good-first", GOOD), (f"{stamp}-iupac", IUPAC)):
        reference_id = outcome["by_name"][name]["referenceId"]
        meta = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)
        assert meta["status"] == "ACTIVE" and meta["md5"] == md5(plain)
        assert meta["creationJobId"] == job["id"]
        assert reference_part(omics, reference_store_id, reference_id) == plain
    with pytest.raises(WaiterError):
        omics.get_waiter("reference_import_job_completed").wait(
            referenceStoreId=reference_store_id, id=job["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 2}
        )


def test_a_job_whose_every_source_is_bad_fails(server, omics, reference_store_id: str, tmp_path: Path) -> None:
    stamp = unique("allbad")
    sources = [
        {"sourceFile": put_object(server, BUCKET, f"{stamp}/dup.fa", b">a\nAC\n>a\nGT\n"), "name": f"{stamp}-dup"},
        {"sourceFile": put_object(server, BUCKET, f"{stamp}/x.fa", FASTQ), "name": f"{stamp}-fastq"},
    ]
    started = omics.start_reference_import_job(
        referenceStoreId=reference_store_id, roleArn="arn:aws:iam::123456789012:role/bad-input", sources=sources
    )
    job = wait_for_reference_import(omics, reference_store_id, started["id"])
    assert job["status"] == "FAILED"
    assert job["statusMessage"]
    assert [s["status"] for s in job["sources"]] == ["FAILED", "FAILED"]
    assert all(s.get("statusMessage") for s in job["sources"])

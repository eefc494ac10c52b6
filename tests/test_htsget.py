"""htsget on stored read sets: tickets from the stored index, fetched as htsget clients fetch them
(the `htsget` PyPI client, and plain HTTP following the ticket's headers and data: URIs), give a
BAM or CRAM that htslib reads, with every record of the region that htslib's own region query on
the original file returns, and far fewer bytes than the whole file. Bearer tokens from
`seqstore keys token`; errors in htsget's JSON form."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import htsget
import pysam
import pytest
import requests

from tests.helpers.alignments import write_alignments
from tests.helpers.clients import KEY, SECRET, make_client
from tests.helpers.commands import bearer_token, keys, keys_command
from tests.helpers.data import gz
from tests.helpers.fasta import fasta_bytes, local_copy, random_sequences
from tests.helpers.fastq import fastq_text
from tests.helpers.ga4gh import ticket_data
from tests.helpers.names import unique
from tests.helpers.readsets import ingest
from tests.helpers.references import import_reference
from tests.helpers.servers import Server, running

LENGTHS = {"chrA": 300_000, "chrB": 120_000}


@pytest.fixture(scope="module")
def hserver(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with running(Server(tmp_path_factory.mktemp("htsget") / "data")) as server:
        yield server


@pytest.fixture(scope="module")
def client(hserver: Server):  # type: ignore[no-untyped-def]
    return make_client(hserver.url)


@pytest.fixture(scope="module")
def token(hserver: Server) -> str:
    """A token of the server's environment key, as `seqstore keys token` prints it."""
    return bearer_token(hserver)


@pytest.fixture(scope="module")
def genome(client, hserver: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("htsget-files")
    sequences = random_sequences(LENGTHS, seed=77)
    fasta = folder / "big.fa"
    fasta.write_bytes(fasta_bytes(sequences))
    store_id = client.create_reference_store(name="htsget")["id"]
    arn = import_reference(client, hserver, store_id, fasta, unique("big"))
    return {"arn": arn, "fasta": local_copy(fasta, folder / "local"), "sequences": sequences, "folder": folder}


@pytest.fixture(scope="module")
def stored(client, genome: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A BAM and a CRAM read set of the same 20,000 reads, and the original files."""
    store_id = client.create_sequence_store(name=unique("htsget"))["id"]
    folder: Path = genome["folder"]
    result: dict[str, Any] = {"store_id": store_id}
    for file_type, name, extra in (
        ("BAM", "reads.bam", {}),
        ("CRAM", "reads.cram", {"cram_reference": genome["fasta"]}),
    ):
        path = write_alignments(folder / name, genome["sequences"], seed=5, reads=20_000, read_length=100, **extra)
        metadata = ingest(client, store_id, file_type, path.read_bytes(), referenceArn=genome["arn"])
        assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
        result[file_type] = {"id": metadata["id"], "path": path}
    return result


def ticket_url(server: Server, store_id: str, read_set_id: str) -> str:
    return f"{server.url}/htsget/reads/{store_id}/{read_set_id}"


def get_ticket(url: str, token: str | None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, params=params, headers=headers, timeout=30)


def records(path: Path, reference: Path | None = None, region: tuple[str, int, int] | None = None) -> list[str]:
    """The records of a BAM/CRAM (of a region: as htslib's own index query on the file gives them)."""
    options = {"reference_filename": str(reference)} if reference else {}
    with pysam.AlignmentFile(str(path), **options) as alignments:  # type: ignore[arg-type]
        found = alignments.fetch(*region) if region else alignments.fetch(until_eof=True)
        return [record.to_string() for record in found]


def overlapping(path: Path, reference: Path | None, name: str, start: int, end: int) -> list[str]:
    """The records of the file that overlap [start, end) of `name` (what a region must contain)."""
    options = {"reference_filename": str(reference)} if reference else {}
    with pysam.AlignmentFile(str(path), **options) as alignments:  # type: ignore[arg-type]
        return [
            r.to_string()
            for r in alignments.fetch(until_eof=True)
            if not r.is_unmapped and r.reference_name == name
            and r.reference_start < end and (r.reference_end or r.reference_start + 1) > start
        ]  # fmt: skip


@pytest.mark.parametrize("file_type", ["BAM", "CRAM"])
def test_a_region_holds_every_record_htslib_finds_and_few_bytes(
    hserver: Server, stored: dict[str, Any], genome: dict[str, Any], token: str, tmp_path: Path, file_type: str
) -> None:
    item = stored[file_type]
    reference = genome["fasta"] if file_type == "CRAM" else None
    response = get_ticket(ticket_url(hserver, stored["store_id"], item["id"]), token,
                          referenceName="chrA", start=150_000, end=152_000)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.ga4gh.htsget.v1.3.0+json")
    ticket = response.json()
    assert ticket["htsget"]["format"] == file_type
    assert [u.get("class") for u in ticket["htsget"]["urls"]][0] == "header"
    data, fetched = ticket_data(ticket)
    out = tmp_path / f"region.{file_type.lower()}"
    out.write_bytes(data)
    got = records(out, reference)
    wanted = overlapping(item["path"], reference, "chrA", 150_000, 152_000)
    assert wanted and set(wanted) <= set(got)
    # The index narrowed it down: to BGZF blocks of a 16 kbp bin (BAM), to one container of
    # htslib's default 10,000 records (CRAM).
    share = 0.25 if file_type == "BAM" else 0.6
    assert len(got) < len(records(item["path"], reference)) * share
    assert fetched < item["path"].stat().st_size * share
    with pysam.AlignmentFile(str(out), **({"reference_filename": str(reference)} if reference else {})) as f:  # type: ignore[arg-type]
        assert list(f.references) == list(LENGTHS)


def test_the_htsget_client_downloads_a_region_pysam_reads(
    hserver: Server, stored: dict[str, Any], token: str, tmp_path: Path
) -> None:
    item = stored["BAM"]
    output = io.BytesIO()
    htsget.get(ticket_url(hserver, stored["store_id"], item["id"]), output, reference_name="chrB",
               start=10_000, end=40_000, bearer_token=token)  # fmt: skip
    path = tmp_path / "client.bam"
    path.write_bytes(output.getvalue())
    assert set(overlapping(item["path"], None, "chrB", 10_000, 40_000)) <= set(records(path))
    # The README's command line.
    command = Path(sys.executable).parent / "htsget"
    subprocess.run([str(command), "--bearer-token", token, "-r", "chrB", "--start", "10000", "--end", "40000",
                    "--output", str(tmp_path / "cli.bam"), ticket_url(hserver, stored["store_id"], item["id"])],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    assert records(tmp_path / "cli.bam") == records(path)


def test_no_region_is_the_whole_file_and_class_header_is_the_header(
    hserver: Server, stored: dict[str, Any], token: str, tmp_path: Path
) -> None:
    item = stored["BAM"]
    url = ticket_url(hserver, stored["store_id"], item["id"])
    whole, _ = ticket_data(get_ticket(url, token).json())
    assert whole == item["path"].read_bytes()
    header, _ = ticket_data(get_ticket(url, token, **{"class": "header"}).json())
    path = tmp_path / "header.bam"
    path.write_bytes(header)
    with pysam.AlignmentFile(str(path)) as only, pysam.AlignmentFile(str(item["path"])) as original:
        assert str(only.header) == str(original.header)
        assert list(only.fetch(until_eof=True)) == []


def test_unplaced_unmapped_reads_and_several_regions_by_post(
    hserver: Server, stored: dict[str, Any], token: str, tmp_path: Path
) -> None:
    item = stored["BAM"]
    url = ticket_url(hserver, stored["store_id"], item["id"])
    data, _ = ticket_data(get_ticket(url, token, referenceName="*").json())
    (tmp_path / "star.bam").write_bytes(data)
    unplaced = [r for r in records(tmp_path / "star.bam") if r.split("\t")[2] == "*"]
    assert len(unplaced) == 4  # write_alignments puts four unplaced reads at the end
    body = {"format": "BAM", "regions": [{"referenceName": "chrA", "start": 1000, "end": 3000},
                                         {"referenceName": "chrB", "start": 100_000, "end": 101_000}]}  # fmt: skip
    response = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    data, _ = ticket_data(response.json())
    (tmp_path / "two.bam").write_bytes(data)
    got = set(records(tmp_path / "two.bam"))
    assert set(overlapping(item["path"], None, "chrA", 1000, 3000)) <= got
    assert set(overlapping(item["path"], None, "chrB", 100_000, 101_000)) <= got


def htsget_error(response: requests.Response) -> tuple[int, str, str]:
    document = response.json()["htsget"]
    return response.status_code, document["error"], document["message"]


def test_bad_requests_get_htsget_errors(hserver: Server, stored: dict[str, Any], token: str) -> None:
    store_id, read_set_id = stored["store_id"], stored["BAM"]["id"]
    url = ticket_url(hserver, store_id, read_set_id)
    cases = [
        (get_ticket(url, None), 401, "InvalidAuthentication", "Bearer"),
        (get_ticket(url, "sqt1.bad.token"), 401, "InvalidAuthentication", "malformed"),
        (get_ticket(url, token[:-4] + "AAAA"), 401, "InvalidAuthentication", "signature"),
        (get_ticket(ticket_url(hserver, store_id, "1234567890"), token), 404, "NotFound", "1234567890"),
        (get_ticket(url, token, referenceName="chrZ"), 404, "NotFound", "chrZ"),
        (get_ticket(url, token, referenceName="chrA", start=500, end=100), 400, "InvalidRange", "start"),
        (get_ticket(url, token, referenceName="chrA", start="x"), 400, "InvalidInput", "start"),
        (get_ticket(url, token, start=5), 400, "InvalidInput", "referenceName"),
        (get_ticket(url, token, referenceName="*", start=5), 400, "InvalidInput", "'*'"),
        (get_ticket(url, token, format="CRAM"), 400, "UnsupportedFormat", "format=BAM"),
        (get_ticket(url, token, **{"class": "body"}), 400, "InvalidInput", "class"),
        (requests.post(url, data=b"{not json", headers={"Authorization": f"Bearer {token}"}, timeout=30),
         400, "InvalidInput", "JSON"),
    ]  # fmt: skip
    for response, status, code, fragment in cases:
        got = htsget_error(response)
        assert got[:2] == (status, code) and fragment in got[2], got
    assert requests.get(f"{hserver.url}/htsget/reads/service-info", timeout=10).json()["type"]["artifact"] == "htsget"


def test_fastq_read_sets_are_unsupported(  # type: ignore[no-untyped-def]
    hserver: Server, client, stored: dict[str, Any], token: str
) -> None:
    metadata = ingest(client, stored["store_id"], "FASTQ", gz(fastq_text(20, seed=3)))
    response = get_ticket(ticket_url(hserver, stored["store_id"], metadata["id"]), token)
    assert htsget_error(response)[:2] == (400, "UnsupportedFormat")


def test_a_token_dies_with_its_key_and_with_time(  # type: ignore[no-untyped-def]
    hserver: Server, stored: dict[str, Any]
) -> None:
    created = keys(hserver, "create", "--name", "htsget-user").stdout
    key_id = next(line.split("=", 1)[1] for line in created.splitlines() if "AWS_ACCESS_KEY_ID=" in line)
    url = ticket_url(hserver, stored["store_id"], stored["BAM"]["id"])
    token = keys(hserver, "token", "--access-key-id", key_id).stdout.strip().splitlines()[-1]
    assert get_ticket(url, token).status_code == 200
    short = keys(hserver, "token", "--access-key-id", key_id, "--expires-in", "1").stdout.strip().splitlines()[-1]
    time.sleep(1.2)
    code, error, message = htsget_error(get_ticket(url, short))
    assert (code, error) == (401, "InvalidAuthentication") and "expired" in message
    keys(hserver, "revoke", key_id)
    time.sleep(5.5)  # a revoked key stops working within the key cache's 5 seconds
    code, error, message = htsget_error(get_ticket(url, token))
    assert (code, error) == (401, "InvalidAuthentication") and "revoked" in message
    bad = keys_command(hserver, "token", "--access-key-id", key_id)
    assert bad.returncode == 2 and "no active key" in bad.stderr


def test_samtools_reads_a_region_over_htsget(
    hserver: Server, stored: dict[str, Any], token: str, tmp_path: Path
) -> None:
    """Debian's samtools (htslib) follows the ticket itself, with the token from HTS_AUTH_LOCATION."""
    samtools = shutil.which("samtools")
    assert samtools, "samtools is needed (apt-get install samtools; .ci/run installs it)"
    item = stored["BAM"]
    auth = tmp_path / "token"
    auth.write_text(token)
    url = f"{ticket_url(hserver, stored['store_id'], item['id'])}?referenceName=chrA&start=150000&end=152000"
    result = subprocess.run([samtools, "view", url], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HTS_AUTH_LOCATION": str(auth),
                                 # htslib sends a token over plain http only when told to
                                 "HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER": "I understand the risks"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = set(result.stdout.splitlines())
    assert set(overlapping(item["path"], None, "chrA", 150_000, 152_000)) <= got
    assert len(got) < len(records(item["path"])) / 4


def test_a_sigv4_signed_ticket_request_gets_urls_carrying_a_token_of_its_key(
    hserver: Server, stored: dict[str, Any], tmp_path: Path
) -> None:
    from urllib.parse import urlencode

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    item = stored["BAM"]
    url = ticket_url(hserver, stored["store_id"], item["id"]) + "?" + urlencode(
        {"referenceName": "chrA", "start": 150_000, "end": 152_000}
    )

    def signed(secret: str) -> requests.Response:
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(Credentials(KEY, secret), "omics", "us-east-1").add_auth(request)
        return requests.get(url, headers=dict(request.headers), timeout=30)

    response = signed(SECRET)
    assert response.status_code == 200, response.text
    data, _ = ticket_data(response.json())  # the data URLs' headers carry a bearer token of the key
    out = tmp_path / "signed.bam"
    out.write_bytes(data)
    assert set(overlapping(item["path"], None, "chrA", 150_000, 152_000)) <= set(records(out))
    code, error, message = htsget_error(signed("wrong-secret"))
    assert (code, error) == (401, "InvalidAuthentication") and "SigV4" in message

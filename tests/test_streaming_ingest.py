"""Streaming ingestion (docs/streaming.md): every FASTQ case, good and bad, uploaded to a server
that ingests while the parts arrive and to one that does not (SEQSTORE_STREAMING_UPLOADS=0)
ends the same, byte for byte: status, statusMessage, counts, ETags, file sizes and the stored
bytes; the streaming server's counters prove the streamed scan was used. Then what falls back
(parts out of order beyond the window, a part replaced after it was fed, more uploads than
slots) and what leaves nothing behind (an abort, a client that hangs up mid-part)."""

from __future__ import annotations

import bz2
import gzip
import http.client
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.helpers.auth import sign
from tests.helpers.clients import make_client
from tests.helpers.data import bgzf, gz, md5
from tests.helpers.fastq import fastq_text, paired_fastq
from tests.helpers.names import unique
from tests.helpers.paths import TESTDATA
from tests.helpers.prometheus_text import parse
from tests.helpers.readsets import (
    download,
    eventually_no_upload_files,
    split_at,
    start_upload,
    wait_for_status,
)
from tests.helpers.servers import Server, running

SLOTS = 2


class Side:
    """One server of the comparison, with a client and a store per ETag family."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.omics = make_client(server.url)
        self.stores = {
            family: self.omics.create_sequence_store(name=unique("streaming"), eTagAlgorithmFamily=family)["id"]
            for family in ("MD5up", "SHA256up")
        }

    def counts(self) -> dict[str, float]:
        samples = parse(requests.get(f"{self.server.url}/metrics", timeout=10).text)
        return {
            "used": samples.get('seqstore_streaming_ingests_total{outcome="used"}', 0.0),
            "fallback": samples.get('seqstore_streaming_ingests_total{outcome="fallback"}', 0.0),
            "active": samples.get("seqstore_streaming_uploads", 0.0),
        }

    def scratch(self) -> list[str]:
        """Files left under DATA_DIR/work (the streams' scratch and the jobs' work dirs)."""
        root = self.server.data_dir / "work"
        return sorted(str(Path(r) / n) for r, _, names in os.walk(root) for n in names
                      if "access-logs" not in r)


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    data_dir = tmp_path_factory.mktemp("streaming") / "data"
    with running(Server(data_dir, {"SEQSTORE_STREAMING_UPLOADS": str(SLOTS)})) as server:
        yield Side(server)


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    data_dir = tmp_path_factory.mktemp("classic") / "data"
    with running(Server(data_dir, {"SEQSTORE_STREAMING_UPLOADS": "0"})) as server:
        yield Side(server)


Parts = list[tuple[str, int, bytes]]  # (source, part number, bytes), in the order they are sent


def in_thirds(source1: bytes, source2: bytes | None = None) -> Parts:
    parts: Parts = []
    for source, data in (("SOURCE1", source1), ("SOURCE2", source2)):
        if data is not None:
            chunks = split_at(data, [len(data) // 3, 2 * len(data) // 3])
            parts += [(source, n, chunk) for n, chunk in enumerate(chunks, start=1) if chunk]
    return parts


def outcome(side: Side, parts: Parts, family: str = "MD5up", listed: list[int] | None = None) -> dict[str, Any]:
    """Upload `parts` in the order given (Complete lists the last checksum of each part, or only
    SOURCE1's `listed` numbers) and return what a user can see of the read set."""
    omics, store_id = side.omics, side.stores[family]
    upload_id = start_upload(omics, store_id, "FASTQ")
    checksums = {}
    for source, number, data in parts:
        response = omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId=upload_id, partSource=source, partNumber=number, payload=data
        )
        checksums[(source, number)] = response["checksum"]
    keys = sorted(k for k in checksums if listed is None or k[0] != "SOURCE1" or k[1] in listed)
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id,
        parts=[{"partSource": s, "partNumber": n, "checksum": checksums[(s, n)]} for s, n in keys],
    )["readSetId"]
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert eventually_no_upload_files(side.server, upload_id) == []
    seen = {key: metadata.get(key) for key in ("status", "statusMessage", "sequenceInformation", "etag", "fileType")}
    seen["files"] = {
        name: (file["contentLength"], file["totalParts"], md5(download(omics, store_id, read_set_id, name.upper())))
        for name, file in metadata.get("files", {}).items()
    }
    return seen


def both(streaming: Side, classic: Side, parts: Parts, *, used: bool = True, **kwargs: Any) -> dict[str, Any]:
    """The outcome on both servers, asserted identical; the streaming server must have used its
    streamed scan (or, `used=False`, have fallen back)."""
    before = streaming.counts()
    streamed = outcome(streaming, parts, **kwargs)
    after = streaming.counts()
    assert (after["used"] - before["used"], after["fallback"] - before["fallback"]) == ((1, 0) if used else (0, 1))
    assert streamed == outcome(classic, parts, **kwargs)
    return streamed


def lines(*entries: tuple[str, str, str, str]) -> bytes:
    return "".join(f"{h}\n{s}\n{p}\n{q}\n" for h, s, p, q in entries).encode()


def short_quality() -> bytes:
    good = fastq_text(50, seed=41).decode().splitlines()
    good[4 * 20 + 3] = good[4 * 20 + 3][:-1]
    return ("\n".join(good) + "\n").encode()


# Each case: (source1, source2) built from a scratch directory.
CASES: dict[str, Callable[[Path], tuple[bytes, bytes | None]]] = {
    "gzip": lambda tmp: (gz(fastq_text(3000, seed=1)), None),
    "paired gzip": lambda tmp: tuple(gz(s) for s in paired_fastq(2000, seed=2)),  # type: ignore[return-value]
    "bgzf": lambda tmp: (bgzf(fastq_text(2000, seed=3), tmp), None),
    "multi-member gzip": lambda tmp: (gz(fastq_text(300, seed=4, prefix="a")) + gz(fastq_text(200, seed=5, prefix="b")), None),
    "plain": lambda tmp: (fastq_text(2000, seed=6), None),
    "plain pair": lambda tmp: paired_fastq(1000, seed=7),
    "htslib pair": lambda tmp: (gz((TESTDATA / "fastq" / "r1.fq").read_bytes()), gz((TESTDATA / "fastq" / "r2.fq").read_bytes())),
    "htslib long lines": lambda tmp: (gz((TESTDATA / "fastq" / "longline.fq").read_bytes()), None),
    "truncated gzip": lambda tmp: (gz(fastq_text(2000, seed=40))[: -2000], None),
    "quality shorter than sequence": lambda tmp: (gz(short_quality()), None),
    "no plus line": lambda tmp: (gz(lines(("@r1", "ACGT", "+", "IIII"), ("@r2", "ACGA", "IIII", "@r3"))), None),
    "pair of different counts": lambda tmp: (gz(fastq_text(100, seed=42, mate=1)), gz(fastq_text(99, seed=42, mate=2))),
    "pair of different names": lambda tmp: (gz(fastq_text(100, seed=43, mate=1)), gz(fastq_text(100, seed=44, mate=2))),
    "bad source2": lambda tmp: (gz(fastq_text(100, seed=45)), gz(short_quality())),
    "BAM declared as FASTQ": lambda tmp: (bgzf(b"BAM\x01" + bytes(200), tmp), None),
    "bzip2": lambda tmp: (bz2.compress(fastq_text(100, seed=46)), None),
    "text": lambda tmp: (b"sample\tlane\n" * 50, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_fastq_case_ends_the_same_streamed_or_not(streaming, classic, case: str, tmp_path: Path) -> None:
    source1, source2 = CASES[case](tmp_path)
    seen = both(streaming, classic, in_thirds(source1, source2))
    assert seen["status"] in ("ACTIVE", "UPLOAD_FAILED")


def test_a_sha256_store_streams_with_its_etags(streaming, classic) -> None:
    r1, r2 = paired_fastq(500, seed=8)
    seen = both(streaming, classic, in_thirds(gz(r1), gz(r2)), family="SHA256up")
    assert seen["etag"]["algorithm"] == "FASTQ_SHA256up"


def test_parts_a_little_out_of_order_are_still_streamed(streaming, classic) -> None:
    parts = in_thirds(gz(fastq_text(3000, seed=9)))
    seen = both(streaming, classic, [parts[1], parts[2], parts[0]])
    assert seen["status"] == "ACTIVE" and seen["sequenceInformation"]["totalReadCount"] == 3000


def test_a_waiting_part_sent_again_before_its_turn_is_still_streamed(streaming, classic) -> None:
    parts = in_thirds(gz(fastq_text(3000, seed=10)))
    third = parts[2]
    both(streaming, classic, [("SOURCE1", 3, b"@x\nA\n+\nI\n"), third, parts[0], parts[1]])


def test_a_part_sent_again_after_it_was_fed_falls_back_with_the_same_result(streaming, classic) -> None:
    parts = in_thirds(gz(fastq_text(3000, seed=11)))
    seen = both(streaming, classic, [parts[0], parts[1], ("SOURCE1", 1, b"@x\nA\n+\nI\n"), parts[0], parts[2]],
                used=False)
    assert seen["status"] == "ACTIVE"


def test_a_gap_in_the_part_numbers_falls_back_with_the_same_result(streaming, classic) -> None:
    data = gz(fastq_text(3000, seed=12))
    first, second = data[:1000], data[1000:]
    seen = both(streaming, classic, [("SOURCE1", 1, first), ("SOURCE1", 3, second)], used=False)
    assert seen["sequenceInformation"]["totalReadCount"] == 3000


def test_parts_left_out_of_complete_fall_back_with_the_same_result(streaming, classic) -> None:
    parts = in_thirds(gz(fastq_text(3000, seed=13)))
    seen = both(streaming, classic, parts, listed=[1, 2], used=False)
    assert seen["status"] == "UPLOAD_FAILED" and "truncated" in seen["statusMessage"]


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """`check()` once it is falsy, or its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_an_abort_mid_stream_leaves_no_scratch_and_no_parts(streaming) -> None:
    omics, store_id = streaming.omics, streaming.stores["MD5up"]
    upload_id = start_upload(omics, store_id, "FASTQ")
    for _, number, data in in_thirds(gz(fastq_text(3000, seed=14)))[:2]:
        omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1",
                                   partNumber=number, payload=data)
    assert streaming.counts()["active"] == 1  # it is streaming
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)
    assert eventually(streaming.scratch) == []
    assert eventually_no_upload_files(streaming.server, upload_id) == []
    assert streaming.counts()["active"] == 0


def test_a_client_that_hangs_up_mid_part_leaves_the_stream_unharmed(streaming, classic) -> None:
    omics, store_id = streaming.omics, streaming.stores["MD5up"]
    parts = in_thirds(gz(fastq_text(3000, seed=15)))
    upload_id = start_upload(omics, store_id, "FASTQ")
    checksums = [omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1",
                                            partNumber=1, payload=parts[0][2])["checksum"]]
    path = f"/sequencestore/{store_id}/upload/{upload_id}/part?partSource=SOURCE1&partNumber=2"
    headers = sign("PUT", streaming.server.url + path, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    connection = http.client.HTTPConnection(urlsplit(streaming.server.url).netloc, timeout=10)
    connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for name, value in {**headers, "Content-Length": str(len(parts[1][2]))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(parts[1][2][: len(parts[1][2]) // 2])
    connection.close()  # half a part, then gone
    assert eventually(lambda: omics.list_read_set_upload_parts(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1")["parts"][1:]) == []
    before = streaming.counts()
    for _, number, data in parts[1:]:
        checksums.append(omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id,
                                                    partSource="SOURCE1", partNumber=number, payload=data)["checksum"])
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id,
        parts=[{"partSource": "SOURCE1", "partNumber": n, "checksum": c} for n, c in enumerate(checksums, start=1)],
    )["readSetId"]
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE" and metadata["sequenceInformation"]["totalReadCount"] == 3000
    assert streaming.counts()["used"] == before["used"] + 1
    assert eventually_no_upload_files(streaming.server, upload_id) == []
    assert eventually(streaming.scratch) == []


def test_uploads_beyond_the_slots_fall_back_and_end_the_same(streaming, classic) -> None:
    omics, store_id = streaming.omics, streaming.stores["MD5up"]
    sources = [gz(fastq_text(1000, seed=20 + i)) for i in range(SLOTS + 1)]
    uploads = [start_upload(omics, store_id, "FASTQ") for _ in sources]
    before = streaming.counts()
    listed: list[list[dict[str, Any]]] = [[] for _ in sources]
    for round_ in range(3):  # part n of every upload, then part n + 1: all are open at once
        for i, (upload_id, data) in enumerate(zip(uploads, sources, strict=True)):
            _, number, chunk = in_thirds(data)[round_]
            checksum = omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1",
                                                  partNumber=number, payload=chunk)["checksum"]
            listed[i].append({"partSource": "SOURCE1", "partNumber": number, "checksum": checksum})
    assert streaming.counts()["active"] == SLOTS
    read_sets = [omics.complete_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=u, parts=p)["readSetId"]
                 for u, p in zip(uploads, listed, strict=True)]
    for read_set_id in read_sets:
        metadata = wait_for_status(omics, store_id, read_set_id)
        assert metadata["status"] == "ACTIVE" and metadata["sequenceInformation"]["totalReadCount"] == 1000
    after = streaming.counts()
    assert (after["used"] - before["used"], after["fallback"] - before["fallback"]) == (SLOTS, 1)
    for data in sources:  # and each ends as it would have without streaming
        assert outcome(classic, in_thirds(data))["etag"]["source1"] == md5(gzip.decompress(data))


def test_nothing_is_left_in_the_work_dir(streaming) -> None:
    assert eventually(streaming.scratch) == []
    assert streaming.counts()["active"] == 0

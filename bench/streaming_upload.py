"""A paired FASTQ upload as a client on a link of a given speed sends it (bench/ingest.py): both
sources at once, each source's parts in order, each source sleeping to hold half of `pace`
MB/s (unpaced when `pace` is None); then Complete. Timed: first part → ACTIVE and Complete →
ACTIVE, for comparing streaming ingestion (docs/streaming.md) on and off."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

PART_SIZE = 100 * 1024 * 1024  # the largest part the service takes


def send_source(omics: Any, store_id: str, upload_id: str, source: str, path: Path, rate: float | None,
                part_size: int, out: list[dict[str, Any]]) -> None:
    """Send `path` as parts 1..n of `source`, in order, holding `rate` bytes/s if given."""
    started = time.perf_counter()
    sent = 0
    with open(path, "rb") as f:
        number = 1
        while chunk := f.read(part_size):
            response = omics.upload_read_set_part(sequenceStoreId=store_id, uploadId=upload_id, partSource=source,
                                                  partNumber=number, payload=chunk)
            out.append({"partSource": source, "partNumber": number, "checksum": response["checksum"]})
            sent += len(chunk)
            number += 1
            if rate is not None:
                ahead = started + sent / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)


def timed_pair_upload(omics: Any, store_id: str, r1: Path, r2: Path, pace: float | None,
                      part_size: int = PART_SIZE) -> dict[str, float]:
    """Upload R1 and R2 as one paired read set; seconds from the first part's start to ACTIVE,
    from Complete's answer to ACTIVE, and of the parts' sending."""
    upload_id = omics.create_multipart_read_set_upload(
        sequenceStoreId=store_id, sourceFileType="FASTQ", name="bench-streaming", subjectId="s", sampleId="s"
    )["uploadId"]
    rate = None if pace is None else pace * 1e6 / 2  # each source gets half the link
    parts: dict[str, list[dict[str, Any]]] = {"SOURCE1": [], "SOURCE2": []}
    threads = [
        threading.Thread(target=send_source, args=(omics, store_id, upload_id, source, path, rate, part_size,
                                                   parts[source]))
        for source, path in (("SOURCE1", r1), ("SOURCE2", r2))
    ]
    first = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = time.perf_counter()
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts["SOURCE1"] + parts["SOURCE2"]
    )["readSetId"]
    completed = time.perf_counter()
    while (meta := omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id))["status"] == \
            "PROCESSING_UPLOAD":
        time.sleep(0.02)
    active = time.perf_counter()
    if meta["status"] != "ACTIVE":
        raise SystemExit(f"streaming bench: ingest failed: {meta.get('statusMessage')}")
    return {"first part → ACTIVE": active - first, "Complete → ACTIVE": active - completed, "sending": sent - first}


def streaming_counts(url: str) -> dict[str, float]:
    import requests

    counts = {}
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("seqstore_streaming_ingests_total{"):
            name, _, value = line.rpartition(" ")
            counts[name.split('"')[1]] = float(value)
    return counts


def report(rows: list[tuple[str, dict[str, float]]], pace: float) -> None:
    print(f"\npaired FASTQ upload, parts of {PART_SIZE >> 20} MiB sent in order per source, both at once")
    print(f"{'run':44} {'sending':>8} {'Complete→ACTIVE':>16} {'first part→ACTIVE':>18}")
    for name, row in rows:
        print(f"{name:44} {row['sending']:8.2f} {row['Complete → ACTIVE']:16.2f} {row['first part → ACTIVE']:18.2f}")
    print(f"(paced: {pace:g} MB/s for the pair, half per source)")

"""GET /metrics: Prometheus' text format, counting what boto3's calls did (by operation and
status), their latency and bytes, with the queue's depth and the free disk space."""

from __future__ import annotations

import contextlib
import re

import requests

from tests.helpers.prometheus_text import parse
from tests.helpers.servers import Server


def scrape(server: Server) -> dict[str, float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def test_metrics_count_what_clients_did(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    before = scrape(server)
    store = omics.create_sequence_store(name="metrics")
    for _ in range(3):
        omics.get_sequence_store(id=store["id"])
    with contextlib.suppress(omics.exceptions.ResourceNotFoundException):
        omics.get_sequence_store(id="1234567890")
    after = scrape(server)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew('seqstore_requests_total{operation="GetSequenceStore",status="200"}') == 3
    assert grew('seqstore_requests_total{operation="GetSequenceStore",status="404"}') == 1
    assert grew('seqstore_requests_total{operation="CreateSequenceStore",status="200"}') == 1
    assert grew('seqstore_request_duration_seconds_count{operation="GetSequenceStore"}') == 4
    assert grew('seqstore_request_duration_seconds_bucket{operation="GetSequenceStore",le="+Inf"}') == 4
    assert grew('seqstore_response_bytes_total{operation="GetSequenceStore"}') > 0
    assert grew('seqstore_request_bytes_total{operation="CreateSequenceStore"}') > 0
    free = [value for name, value in after.items() if name.startswith("seqstore_disk_free_bytes{")]
    assert free and all(value > 0 for value in free)
    assert any(re.match(r"seqstore_disk_reserve_bytes\{", name) for name in after)


def test_latency_buckets_are_cumulative(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    omics.list_sequence_stores()
    samples = scrape(server)
    prefix = 'seqstore_request_duration_seconds_bucket{operation="ListSequenceStores",le="'
    buckets = [value for name, value in samples.items() if name.startswith(prefix)]
    assert buckets == sorted(buckets) and buckets[-1] == samples[
        'seqstore_request_duration_seconds_count{operation="ListSequenceStores"}'
    ]

"""Quota emulation: the real service's request rates, answered with ThrottlingException."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers.clients import client_env, error_code, error_message, error_status
from tests.helpers.servers import Server


def test_emulated_quotas_throttle_beyond_the_real_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(tmp_path / "data", {"SEQSTORE_EMULATE_QUOTAS": "true", "SEQSTORE_QUOTAS": "ListReadSets=0"})
    server.start()
    try:
        for name, value in client_env(server.url).items():
            monkeypatch.setenv(name, value)
        # No retries, so the first ThrottlingException reaches the test.
        omics = boto3.session.Session().client("omics", config=Config(retries={"total_max_attempts": 1}))
        omics.create_sequence_store(name="first")  # CreateSequenceStore: 1 per second
        with pytest.raises(ClientError) as refused:
            omics.create_sequence_store(name="second")
        assert error_code(refused) == "ThrottlingException"
        assert error_status(refused) == 429
        assert "1 requests per second" in error_message(refused)

        # GetSequenceStore allows 5 per second: a burst of 5 passes, the 6th does not.
        store_id = omics.list_sequence_stores()["sequenceStores"][0]["id"]
        codes = []
        for _ in range(6):
            try:
                omics.get_sequence_store(id=store_id)
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        assert codes[:4] == ["ok"] * 4 and codes[-1] == "ThrottlingException"

        # An override of 0 lifts the limit; boto3's standard retries ride out throttling.
        for _ in range(20):
            omics.list_read_sets(sequenceStoreId=store_id)
        patient = boto3.session.Session().client("omics", config=Config(retries={"mode": "standard", "total_max_attempts": 5}))
        for _ in range(3):
            patient.create_sequence_store(name="later")
    finally:
        server.stop()


def test_quotas_are_off_by_default(omics) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        omics.create_sequence_store(name=f"unthrottled-{i}")

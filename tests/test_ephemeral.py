"""`seqstore serve --ephemeral` as another language's test suite uses it: started as a command,
its printed export lines configure the client, and its data is gone when it exits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port


def exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", "\n".join(line for line in text.splitlines() if "export " in line)))


@pytest.fixture
def ephemeral(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], str]]:
    options = getattr(request, "param", ())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQSTORE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--ephemeral", "--port", str(free_port()),
         "--log-level", "warning", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
    )
    assert process.stdout is not None
    banner = ""
    deadline = time.monotonic() + 30
    while "AWS_SECRET_ACCESS_KEY" not in banner or (options and "SEQSTORE_TESTING_TOKEN" not in banner):
        line = process.stdout.readline()
        assert line and time.monotonic() < deadline, f"no banner: {banner}"
        banner += line
    try:
        yield process, banner
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_seqstore/health", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("not healthy")


def test_ephemeral_prints_the_env_lines_and_removes_its_data_on_exit(
    ephemeral: tuple[subprocess.Popen[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    process, banner = ephemeral
    data_dir = Path(re.search(r"data:\s+(\S+) \(ephemeral", banner).group(1))  # type: ignore[union-attr]
    assert data_dir.is_dir() and "auth: none" in banner
    variables = exports(banner)
    assert variables["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
    wait_healthy(variables["AWS_ENDPOINT_URL_OMICS"])
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    omics = boto3.session.Session().client("omics")  # configured by the printed lines alone
    store = omics.create_sequence_store(name="ephemeral")
    assert omics.get_sequence_store(id=store["id"])["name"] == "ephemeral"
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert not data_dir.exists()


@pytest.mark.parametrize("ephemeral", [("--testing",)], indirect=True)
def test_ephemeral_testing_mode_prints_the_control_token(ephemeral: tuple[subprocess.Popen[str], str]) -> None:
    _, banner = ephemeral
    variables = exports(banner)
    url = variables["AWS_ENDPOINT_URL_OMICS"]
    wait_healthy(url)
    token = {"x-seqstore-testing-token": variables["SEQSTORE_TESTING_TOKEN"]}
    fault = {"operation": "ListSequenceStores", "error": "ThrottlingException"}
    assert requests.post(f"{url}/_seqstore/testing/faults", json=fault, headers=token, timeout=5).ok
    omics = boto3.session.Session().client(
        "omics", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y",
        config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(omics.exceptions.ThrottlingException):
        omics.list_sequence_stores()
    assert omics.list_sequence_stores()["sequenceStores"] == []
    assert requests.post(f"{url}/_seqstore/testing/reset", headers=token, timeout=5).json()["reset"] is True


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "seqstore.cli", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and re.fullmatch(r"seqstore \d+\.\d+\.\d+\S*\n", done.stdout)

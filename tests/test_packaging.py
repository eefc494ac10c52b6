"""The package people install: a wheel built from this checkout, installed into a scratch venv
(no checkout on its path), runs `seqstore serve --ephemeral` with its migrations and data files,
and its C helpers were built into it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

from tests.helpers.commands import banner_values, first_store
from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port


def test_a_built_wheel_installs_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # From a copy of the sources: an in-tree build would leave build/ behind, and reuse one.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "*.so", "data", ".mypy_cache", ".ruff_cache"))  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, capture_output=True, timeout=600)  # fmt: skip
    [wheel] = dist.glob("seqstore-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "seqstore/db/migrations/env.py" in names, "the Alembic environment is missing from the wheel"
    assert any(re.search(r"seqstore/db/migrations/versions/0001_initial\.py$", n) for n in names)
    assert any(re.search(r"seqstore/protocol/_sigv4\..*\.so$", n) for n in names), "the SigV4 helper was not built"
    scratch = tmp_path / "venv"
    venv.create(scratch, with_pip=False)
    python = scratch / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    # The dependencies come from this venv's site-packages (no network in the test); on
    # PYTHONPATH its .pth files are not run, so the editable install of the checkout stays out.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEQSTORE_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
    where = subprocess.run([str(python), "-c", "import seqstore; print(seqstore.__file__)"], env=env, cwd=tmp_path,
                           check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert where.startswith(target), where
    port = free_port()
    process = subprocess.Popen([str(python), "-m", "seqstore.cli", "serve", "--ephemeral", "--port", str(port),
                                "--log-level", "warning"], env=env, cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        values = banner_values(process)
        client = boto3.client(
            "omics", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id=values["AWS_ACCESS_KEY_ID"], aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
        )  # fmt: skip
        store = first_store(client, "from-the-wheel")
        assert client.get_sequence_store(id=store["id"])["name"] == "from-the-wheel"
        version = subprocess.run([str(python), "-m", "seqstore.cli", "--version"], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert re.search(r"\d+\.\d+", version), version
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)

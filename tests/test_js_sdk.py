"""The README's JavaScript SDK v3 snippet, run with node against a live server: with
`disableHostPrefix: true` it lists the stores; without it the SDK prepends the host prefix and
cannot connect (the failure a new user meets). Needs node and npm (the machine's kind has them);
@aws-sdk/client-omics is npm-installed into a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.testing_kit import omics_server

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm are not installed"
)


def readme_js_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```js\n(.*?)```", readme, re.S)
    assert match, "README.md has no ```js snippet"
    return "\n".join(line.removeprefix("  ") for line in match.group(1).splitlines())


@pytest.fixture(scope="module")
def js_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("js-sdk")
    (directory / "package.json").write_text('{"name": "seqstore-js-check", "private": true, "type": "module"}')
    done = subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "@aws-sdk/client-omics"],
        cwd=directory, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"npm install failed: {done.stderr[-2000:]}"
    return directory


def run_node(directory: Path, source: str, url: str) -> subprocess.CompletedProcess[str]:
    (directory / "snippet.mjs").write_text(source)
    env = {**os.environ, "AWS_ENDPOINT_URL_OMICS": url}
    return subprocess.run(["node", "snippet.mjs"], cwd=directory, capture_output=True, text=True, timeout=120, env=env)


def test_the_readme_js_snippet_lists_the_stores(js_dir: Path) -> None:
    snippet = readme_js_snippet()
    assert "disableHostPrefix: true" in snippet
    with omics_server(auth="none") as server:
        server.client().create_sequence_store(name="seen-from-node")
        done = run_node(js_dir, snippet, server.url)
        assert done.returncode == 0, done.stderr
        assert "seen-from-node" in done.stdout
        without = run_node(js_dir, snippet.replace("disableHostPrefix: true", "disableHostPrefix: false"), server.url)
        assert without.returncode != 0 and "ENOTFOUND" in without.stderr

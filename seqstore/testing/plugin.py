"""The pytest plugin (entry point `pytest11` of the seqstore package: active once seqstore is
installed). Fixtures:

- `seqstore_server`: one `OmicsServer` for the session (one per pytest-xdist worker, since each
  worker is a session of its own);
- `omics_client`: the server reset, then a boto3 omics client of it;
- `omics_env`: the server reset, and its variables set in os.environ for the test (restored after),
  for code that builds its own clients.

Options: `--seqstore-ingest=sync` (or the ini value `seqstore_ingest`) makes upload completion and
import jobs finish before the call answers. This module imports seqstore only when a fixture is
used, so that merely having seqstore installed costs other suites nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import OmicsServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqstore", "seqstore's HealthOmics storage API server")
    group.addoption(
        "--seqstore-ingest", choices=("async", "sync"), default=None,
        help="sync: uploads and import jobs finish before the call answers (default async, as AWS)",
    )
    parser.addini("seqstore_ingest", "async or sync (see --seqstore-ingest)", default="async")


@pytest.fixture(scope="session")
def seqstore_server(pytestconfig: pytest.Config) -> Iterator[OmicsServer]:
    """A seqstore serving the HealthOmics storage API for the whole session."""
    from .server import OmicsServer

    ingest = pytestconfig.getoption("seqstore_ingest") or pytestconfig.getini("seqstore_ingest")
    with OmicsServer(ingest=str(ingest)) as server:
        yield server


@pytest.fixture
def omics_client(seqstore_server: OmicsServer) -> Any:
    """A boto3 omics client of a server emptied for this test."""
    seqstore_server.reset()
    return seqstore_server.client()


@pytest.fixture
def omics_env(seqstore_server: OmicsServer) -> Iterator[dict[str, str]]:
    """The server emptied for this test, and its variables in os.environ during the test."""
    seqstore_server.reset()
    with seqstore_server.apply_env() as variables:
        yield variables

"""Stores outlive the server process: a graceful restart and a crash (SIGKILL) on the same data
directory keep every acknowledged store, its tags and open page tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.clients import make_client, without_metadata
from tests.helpers.servers import Server, running

ACCOUNT = "210987654321"  # not the default, to see the setting reach the ARNs


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    with running(Server(tmp_path / "data", extra_env={"SEQSTORE_ACCOUNT_ID": ACCOUNT})) as server:
        yield server


def test_stores_tags_and_page_tokens_survive_a_restart(own_server: Server) -> None:
    omics = make_client(own_server.url)
    kept: dict[str, Any] = dict(
        name="kept",
        description="survives restarts",
        sseConfig={"type": "KMS", "keyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"},
        eTagAlgorithmFamily="SHA256up",
        fallbackLocation="s3://fallback-bucket/x/",
        propagatedSetLevelTags=["project"],
        s3AccessConfig={"accessLogLocation": "s3://log-bucket/"},
        tags={"team": "genomics"},
        clientToken="restart-token",
    )
    full = omics.create_sequence_store(**kept)
    assert full["arn"] == f"arn:aws:omics:us-east-1:{ACCOUNT}:sequenceStore/{full['id']}"
    others = [omics.create_sequence_store(name="paged")["id"] for _ in range(3)]
    first_page = omics.list_sequence_stores(filter={"name": "paged"}, maxResults=1)
    omics.update_sequence_store(id=full["id"], description="updated before the restart")
    before = without_metadata(omics.get_sequence_store(id=full["id"]))

    own_server.stop()
    own_server.start()
    omics = make_client(own_server.url)

    assert without_metadata(omics.get_sequence_store(id=full["id"])) == before
    assert omics.list_tags_for_resource(resourceArn=full["arn"])["tags"] == {"team": "genomics"}
    # A token issued before the restart continues the listing where it stopped.
    rest = omics.list_sequence_stores(filter={"name": "paged"}, nextToken=first_page["nextToken"])
    seen = [s["id"] for s in first_page["sequenceStores"] + rest["sequenceStores"]]
    assert sorted(seen) == sorted(others)
    # The client token still identifies the store it created.
    again = omics.create_sequence_store(**kept)
    assert again["id"] == full["id"]
    # And the restarted server takes writes as before.
    omics.update_sequence_store(id=full["id"], name="renamed after restart")
    assert omics.get_sequence_store(id=full["id"])["name"] == "renamed after restart"


def test_acknowledged_changes_survive_a_crash(own_server: Server) -> None:
    omics = make_client(own_server.url)
    store = omics.create_sequence_store(name="crash", tags={"a": "1"})
    omics.tag_resource(resourceArn=store["arn"], tags={"b": "2"})
    deleted = omics.create_sequence_store(name="crash")
    omics.delete_sequence_store(id=deleted["id"])

    own_server.stop(kill=True)
    own_server.start()
    omics = make_client(own_server.url)

    assert omics.get_sequence_store(id=store["id"])["name"] == "crash"
    assert omics.list_tags_for_resource(resourceArn=store["arn"])["tags"] == {"a": "1", "b": "2"}
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_sequence_store(id=deleted["id"])
    listed = omics.list_sequence_stores(filter={"name": "crash"})["sequenceStores"]
    assert [s["id"] for s in listed] == [store["id"]]

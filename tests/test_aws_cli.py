"""The AWS CLI (v1, with its own vendored botocore) against seqstore, configured only through
the environment variables users set."""

from __future__ import annotations

import re

import pytest

from tests.helpers.commands import aws, aws_env, aws_json
from tests.helpers.names import unique


@pytest.fixture(scope="module")
def cli_env(server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of the AWS CLI pointed at the session server, and nothing of the user's."""
    return aws_env(server.url, tmp_path_factory.mktemp("aws-home"))


def test_a_user_creates_a_store_with_the_cli_and_finds_it_in_the_list(cli_env: dict[str, str], omics) -> None:
    name = unique("cli")
    created = aws_json(cli_env, "create-sequence-store", "--name", name, "--description", "made by the CLI",
                       "--e-tag-algorithm-family", "SHA512up", "--tags", "origin=cli")
    assert re.fullmatch(r"[0-9]{10}", created["id"])
    assert created["name"] == name
    assert created["status"] == "ACTIVE"
    # The CLI prints timestamps exactly as the server sent them.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["creationTime"])

    everything = aws_json(cli_env, "list-sequence-stores")
    assert created["id"] in {s["id"] for s in everything["sequenceStores"]}
    filtered = aws_json(cli_env, "list-sequence-stores", "--filter", f"name={name}")
    [entry] = filtered["sequenceStores"]
    assert entry["id"] == created["id"]
    assert entry["description"] == "made by the CLI"
    assert entry["eTagAlgorithmFamily"] == "SHA512up"

    # What the CLI made is what boto3 sees.
    assert omics.get_sequence_store(id=created["id"])["name"] == name
    assert omics.list_tags_for_resource(resourceArn=created["arn"])["tags"] == {"origin": "cli"}


def test_the_cli_pages_through_every_store(cli_env: dict[str, str], omics) -> None:
    name = unique("cli-pages")
    ids = {omics.create_sequence_store(name=name)["id"] for _ in range(3)}
    listed = aws_json(cli_env, "list-sequence-stores", "--filter", f"name={name}", "--page-size", "1")
    assert {s["id"] for s in listed["sequenceStores"]} == ids
    assert "nextToken" not in listed


def test_the_cli_reports_a_missing_store_as_resource_not_found(cli_env: dict[str, str]) -> None:
    result = aws(cli_env, "get-sequence-store", "--id", "0000000008", check=False)
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr
    assert "0000000008" in result.stderr

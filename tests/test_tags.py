"""Tags on sequence stores: TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

import pytest
from botocore.config import Config

from tests.helpers.clients import error_message, error_status, make_client
from tests.helpers.names import unique

OTHER_ACCOUNT_ARN = "arn:aws:omics:us-east-1:999999999999:sequenceStore/{id}"


@pytest.fixture
def arn(omics) -> str:  # type: ignore[no-untyped-def]
    return str(omics.create_sequence_store(name=unique("tags"))["arn"])


def tags_of(omics, arn: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(omics.list_tags_for_resource(resourceArn=arn)["tags"])


def test_a_new_store_has_no_tags(omics, arn: str) -> None:
    assert tags_of(omics, arn) == {}


def test_tags_given_at_creation_are_listed(omics) -> None:
    created = omics.create_sequence_store(name=unique("tags"), tags={"project": "pilot", "owner": "lab-7"})
    assert tags_of(omics, created["arn"]) == {"project": "pilot", "owner": "lab-7"}


def test_tag_adds_and_overwrites_and_untag_removes(omics, arn: str) -> None:
    response = omics.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    omics.tag_resource(resourceArn=arn, tags={"b": "two", "c": ""})
    assert tags_of(omics, arn) == {"a": "1", "b": "two", "c": ""}

    response = omics.untag_resource(resourceArn=arn, tagKeys=["a", "c", "never-set"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(omics, arn) == {"b": "two"}


def test_keys_and_values_with_spaces_punctuation_and_letters_of_any_script_round_trip(omics, arn: str) -> None:
    tags = {
        "cost center": "lab 7",
        "path/to:key": "a+b=c@d.e_f-g",
        "Größe": "très grand",
        "研究": "ゲノム",
        "Case": "upper",
        "case": "lower",
    }
    omics.tag_resource(resourceArn=arn, tags=tags)
    assert tags_of(omics, arn) == tags
    # Query-string keys are percent-encoded by boto3 (spaces as %20, '/' and ':' too).
    omics.untag_resource(resourceArn=arn, tagKeys=["cost center", "path/to:key", "研究", "Case"])
    assert tags_of(omics, arn) == {"Größe": "très grand", "case": "lower"}


def test_tags_of_one_store_do_not_leak_to_another(omics) -> None:
    first = omics.create_sequence_store(name=unique("tags"), tags={"who": "first"})["arn"]
    second = omics.create_sequence_store(name=unique("tags"))["arn"]
    omics.tag_resource(resourceArn=second, tags={"who": "second"})
    omics.untag_resource(resourceArn=second, tagKeys=["who"])
    assert tags_of(omics, first) == {"who": "first"}
    assert tags_of(omics, second) == {}


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:omics:us-east-1:123456789012:sequenceStore/0000000003",  # no such store
        OTHER_ACCOUNT_ARN.format(id="0000000004"),
        "arn:aws:omics:us-east-1:123456789012:workflow/1234567",  # not a storage resource
    ],
)
def test_an_arn_that_names_no_store_raises_resource_not_found(omics, arn: str) -> None:
    for call in (
        lambda: omics.list_tags_for_resource(resourceArn=arn),
        lambda: omics.tag_resource(resourceArn=arn, tags={"a": "b"}),
        lambda: omics.untag_resource(resourceArn=arn, tagKeys=["a"]),
    ):
        with pytest.raises(omics.exceptions.ResourceNotFoundException) as excinfo:
            call()
        assert error_status(excinfo) == 404


def test_the_arn_of_a_deleted_store_has_no_tags_any_more(omics) -> None:
    created = omics.create_sequence_store(name=unique("tags"), tags={"a": "b"})
    omics.delete_sequence_store(id=created["id"])
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.list_tags_for_resource(resourceArn=created["arn"])
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.tag_resource(resourceArn=created["arn"], tags={"c": "d"})


def test_a_malformed_arn_is_a_validation_error(omics) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.list_tags_for_resource(resourceArn="sequenceStore/1234567890")
    assert "resourceArn" in error_message(excinfo)


def test_more_than_50_tags_in_one_call_is_refused_by_the_model(omics, arn: str) -> None:
    # botocore does not check a map's maximum size client-side; the server must.
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(51)})
    assert error_status(excinfo) == 400
    assert "tags" in error_message(excinfo)
    assert tags_of(omics, arn) == {}


def test_creating_a_store_with_more_than_50_tags_is_refused(omics) -> None:
    name = unique("tags")
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.create_sequence_store(name=name, tags={f"k{i}": "v" for i in range(51)})
    assert "tags" in error_message(excinfo)
    assert omics.list_sequence_stores(filter={"name": name})["sequenceStores"] == []


def test_exactly_50_tags_fit_and_overwriting_one_of_them_still_fits(omics, arn: str) -> None:
    omics.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    omics.tag_resource(resourceArn=arn, tags={"k0": "new", "k49": "new"})
    tags = tags_of(omics, arn)
    assert len(tags) == 50
    assert tags["k0"] == tags["k49"] == "new"


def test_a_store_that_would_hold_more_than_50_tags_hits_the_quota(omics, arn: str) -> None:
    omics.tag_resource(resourceArn=arn, tags={f"old{i}": "v" for i in range(40)})
    with pytest.raises(omics.exceptions.ServiceQuotaExceededException) as excinfo:
        omics.tag_resource(resourceArn=arn, tags={f"new{i}": "v" for i in range(11)})
    assert error_status(excinfo) == 402
    assert "50" in error_message(excinfo)
    # Nothing of the refused call was applied.
    assert tags_of(omics, arn) == {f"old{i}": "v" for i in range(40)}
    # Freeing room makes the same call succeed.
    omics.untag_resource(resourceArn=arn, tagKeys=[f"old{i}" for i in range(1)])
    omics.tag_resource(resourceArn=arn, tags={f"new{i}": "v" for i in range(11)})
    assert len(tags_of(omics, arn)) == 50


@pytest.mark.parametrize("key", ["aws:created-by", "AWS:Owner", "Aws:x"])
def test_keys_with_the_reserved_aws_prefix_are_refused(omics, arn: str, key: str) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.tag_resource(resourceArn=arn, tags={key: "v"})
    assert key in error_message(excinfo)
    assert tags_of(omics, arn) == {}

    name = unique("tags")
    with pytest.raises(omics.exceptions.ValidationException):
        omics.create_sequence_store(name=name, tags={key: "v"})
    assert omics.list_sequence_stores(filter={"name": name})["sequenceStores"] == []


def test_a_key_that_merely_contains_aws_is_fine(omics, arn: str) -> None:
    omics.tag_resource(resourceArn=arn, tags={"my-aws:key": "v", "awsome": "v"})
    assert tags_of(omics, arn) == {"my-aws:key": "v", "awsome": "v"}


@pytest.mark.parametrize(
    "tags",
    [
        {"k" * 129: "v"},  # key longer than 128 (model)
        {"key": "v" * 257},  # value longer than 256 (model)
        {"": "v"},  # empty key (model min 1)
        {"bad#key": "v"},  # '#' is outside letters, digits, spaces and _.:/=+-@
        {"key": "bad;value"},
    ],
    ids=["long-key", "long-value", "empty-key", "bad-key-char", "bad-value-char"],
)
def test_tags_outside_the_tag_rules_are_refused(omics, arn: str, tags: dict[str, str]) -> None:
    client = make_client(omics.meta.endpoint_url, Config(parameter_validation=False))  # botocore would refuse the empty key itself
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.tag_resource(resourceArn=arn, tags=tags)
    assert "tags" in error_message(excinfo)
    assert tags_of(omics, arn) == {}


def test_untagging_more_than_50_keys_at_once_is_refused_by_the_model(omics, arn: str) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.untag_resource(resourceArn=arn, tagKeys=[f"k{i}" for i in range(51)])
    assert "tagKeys" in error_message(excinfo)


def test_untagging_with_an_empty_key_list_changes_nothing(omics, store_id) -> None:  # type: ignore[no-untyped-def]
    """botocore sends tagKeys=[] as no query parameter at all; the call must still succeed."""
    arn = omics.get_sequence_store(id=store_id)["arn"]
    omics.tag_resource(resourceArn=arn, tags={"team": "genomics"})
    omics.untag_resource(resourceArn=arn, tagKeys=[])
    assert omics.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "genomics"}

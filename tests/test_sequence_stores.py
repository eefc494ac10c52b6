"""Sequence stores as a boto3 user sees them: create, read, list (filters and pages), update,
delete, idempotent creation."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.clients import error_code, error_message, error_status, without_metadata
from tests.helpers.names import ACCOUNT, REGION, unique

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def list_ids(omics, **kwargs: Any) -> list[str]:  # type: ignore[no-untyped-def]
    """Every store id the paginator yields for these arguments, in order."""
    paginator = omics.get_paginator("list_sequence_stores")
    return [s["id"] for page in paginator.paginate(**kwargs) for s in page["sequenceStores"]]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    return error_code(excinfo), error_status(excinfo), error_message(excinfo)


# Create and read


def test_a_new_store_is_active_at_once_with_every_server_issued_field(omics) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    name = unique("store")
    created = omics.create_sequence_store(name=name, description="FASTQ of the pilot run")
    after = datetime.now(UTC) + timedelta(seconds=2)

    store_id = created["id"]
    assert re.fullmatch(r"[0-9]{10}", store_id)
    assert created["arn"] == f"arn:aws:omics:{REGION}:{ACCOUNT}:sequenceStore/{store_id}"
    assert created["name"] == name
    assert created["description"] == "FASTQ of the pilot run"
    assert created["status"] == "ACTIVE"
    assert created["eTagAlgorithmFamily"] == "MD5up"  # the default when none is given
    assert created["sseConfig"]["type"] == "KMS"
    assert "keyArn" not in created["sseConfig"]
    assert "fallbackLocation" not in created
    assert before <= created["creationTime"] <= after
    assert created["creationTime"].tzinfo is not None
    # The bucket is the store's access point alias (docs/s3.md, "Names").
    alias = rf"{ACCOUNT}-{store_id}-[a-z0-9]{{24}}-s3alias"
    assert re.fullmatch(rf"s3://{alias}/{ACCOUNT}/sequenceStore/{store_id}/", created["s3Access"]["s3Uri"])
    assert created["s3Access"]["s3AccessPointArn"].startswith(f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/")

    got = omics.get_sequence_store(id=store_id)
    for key in ("id", "arn", "name", "description", "status", "eTagAlgorithmFamily", "sseConfig",
                "creationTime", "s3Access"):
        assert got[key] == created[key], key
    assert got["updateTime"] == got["creationTime"]


def test_every_optional_create_field_is_kept_and_echoed(omics) -> None:
    name = unique("store")
    created = omics.create_sequence_store(
        name=name,
        description="all the options",
        sseConfig={"type": "KMS", "keyArn": KEY_ARN},
        eTagAlgorithmFamily="SHA256up",
        fallbackLocation="s3://fallback-bucket/failed-uploads/",
        propagatedSetLevelTags=["project", "cohort"],
        s3AccessConfig={"accessLogLocation": "s3://access-logs-bucket/omics/"},
        tags={"team": "genomics", "cost-center": "42"},
    )
    got = without_metadata(omics.get_sequence_store(id=created["id"]))
    for response in (created, got):
        assert response["sseConfig"] == {"type": "KMS", "keyArn": KEY_ARN}
        assert response["eTagAlgorithmFamily"] == "SHA256up"
        assert response["fallbackLocation"] == "s3://fallback-bucket/failed-uploads/"
        assert response["propagatedSetLevelTags"] == ["project", "cohort"]
    assert got["s3Access"]["accessLogLocation"] == "s3://access-logs-bucket/omics/"
    tags = omics.list_tags_for_resource(resourceArn=created["arn"])["tags"]
    assert tags == {"team": "genomics", "cost-center": "42"}


@pytest.mark.parametrize("family", ["MD5up", "SHA256up", "SHA512up"])
def test_each_etag_algorithm_family_of_the_model_can_be_chosen(omics, family: str) -> None:
    created = omics.create_sequence_store(name=unique("store"), eTagAlgorithmFamily=family)
    assert omics.get_sequence_store(id=created["id"])["eTagAlgorithmFamily"] == family


def test_an_unknown_etag_algorithm_family_is_refused(omics) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.create_sequence_store(name=unique("store"), eTagAlgorithmFamily="CRC32up")
    assert "eTagAlgorithmFamily" in error_of(excinfo)[2]


def test_ids_are_unique_even_when_stores_are_created_concurrently(omics) -> None:
    name = unique("concurrent")
    ids: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            ids.append(omics.create_sequence_store(name=name)["id"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(ids)) == 8
    assert sorted(list_ids(omics, filter={"name": name})) == sorted(ids)


def test_getting_a_store_that_does_not_exist_raises_resource_not_found(omics) -> None:
    with pytest.raises(omics.exceptions.ResourceNotFoundException) as excinfo:
        omics.get_sequence_store(id="0000000001")
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "0000000001" in message


# Idempotency


def test_the_same_client_token_and_input_return_the_same_store(omics) -> None:
    name, token = unique("store"), str(uuid.uuid4())
    first = omics.create_sequence_store(name=name, description="d", clientToken=token)
    again = omics.create_sequence_store(name=name, description="d", clientToken=token)
    assert again["id"] == first["id"]
    assert without_metadata(again) == without_metadata(first)
    assert list_ids(omics, filter={"name": name}) == [first["id"]]


def test_the_same_client_token_with_different_input_is_refused(omics) -> None:
    name, token = unique("store"), str(uuid.uuid4())
    first = omics.create_sequence_store(name=name, clientToken=token)
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.create_sequence_store(name=name, description="something else", clientToken=token)
    assert "clientToken" in error_of(excinfo)[2]
    assert list_ids(omics, filter={"name": name}) == [first["id"]]


def test_concurrent_retries_with_one_token_create_one_store(omics) -> None:
    name, token = unique("retry"), str(uuid.uuid4())
    ids: list[str] = []

    def create() -> None:
        ids.append(omics.create_sequence_store(name=name, clientToken=token)["id"])

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert list_ids(omics, filter={"name": name}) == ids[:1]


def test_without_a_token_boto3_makes_each_create_a_new_store(omics) -> None:
    # boto3 fills clientToken with a fresh UUID on every call (an idempotency token in the model).
    name = unique("store")
    first = omics.create_sequence_store(name=name)
    second = omics.create_sequence_store(name=name)
    assert first["id"] != second["id"]
    assert sorted(list_ids(omics, filter={"name": name})) == sorted([first["id"], second["id"]])


# Update


def test_update_changes_the_mutable_fields_and_the_update_time(omics) -> None:
    created = omics.create_sequence_store(
        name=unique("store"), description="before", eTagAlgorithmFamily="SHA512up",
        sseConfig={"type": "KMS", "keyArn": KEY_ARN},
    )
    time.sleep(0.01)
    new_name = unique("renamed")
    updated = omics.update_sequence_store(
        id=created["id"],
        name=new_name,
        description="after",
        fallbackLocation="s3://fallback-bucket/prefix/",
        propagatedSetLevelTags=["a", "b", "c", "d", "e"],  # five is the fixed quota
        s3AccessConfig={"accessLogLocation": "s3://log-bucket/logs/"},
    )
    got = omics.get_sequence_store(id=created["id"])
    for response in (updated, got):
        assert response["name"] == new_name
        assert response["description"] == "after"
        assert response["fallbackLocation"] == "s3://fallback-bucket/prefix/"
        assert response["propagatedSetLevelTags"] == ["a", "b", "c", "d", "e"]
        assert response["s3Access"]["accessLogLocation"] == "s3://log-bucket/logs/"
        # Not updatable: kept from creation.
        assert response["eTagAlgorithmFamily"] == "SHA512up"
        assert response["sseConfig"] == {"type": "KMS", "keyArn": KEY_ARN}
        assert response["creationTime"] == created["creationTime"]
        assert response["updateTime"] > created["creationTime"]
    assert list_ids(omics, filter={"name": new_name}) == [created["id"]]


def test_update_leaves_fields_it_does_not_mention_alone(omics) -> None:
    created = omics.create_sequence_store(
        name=unique("store"), description="keep me", fallbackLocation="s3://fallback-bucket/x/",
        propagatedSetLevelTags=["project"],
    )
    updated = omics.update_sequence_store(id=created["id"], description="changed")
    assert updated["name"] == created["name"]
    assert updated["fallbackLocation"] == "s3://fallback-bucket/x/"
    assert updated["propagatedSetLevelTags"] == ["project"]
    assert updated["description"] == "changed"


def test_an_empty_fallback_location_clears_it(omics) -> None:
    created = omics.create_sequence_store(name=unique("store"), fallbackLocation="s3://fallback-bucket/")
    assert created["fallbackLocation"] == "s3://fallback-bucket/"
    updated = omics.update_sequence_store(id=created["id"], fallbackLocation="")
    assert "fallbackLocation" not in updated
    assert "fallbackLocation" not in omics.get_sequence_store(id=created["id"])


def test_an_empty_access_log_location_clears_it(omics) -> None:
    created = omics.create_sequence_store(
        name=unique("store"), s3AccessConfig={"accessLogLocation": "s3://log-bucket/logs/"}
    )
    assert omics.get_sequence_store(id=created["id"])["s3Access"]["accessLogLocation"] == "s3://log-bucket/logs/"
    omics.update_sequence_store(id=created["id"], s3AccessConfig={"accessLogLocation": ""})
    assert "accessLogLocation" not in omics.get_sequence_store(id=created["id"])["s3Access"]


def test_more_than_five_propagated_tag_keys_are_refused(omics) -> None:
    six = ["k1", "k2", "k3", "k4", "k5", "k6"]
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.create_sequence_store(name=unique("store"), propagatedSetLevelTags=six)
    assert "propagatedSetLevelTags" in error_of(excinfo)[2]

    created = omics.create_sequence_store(name=unique("store"), propagatedSetLevelTags=["k1"])
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.update_sequence_store(id=created["id"], propagatedSetLevelTags=six)
    assert "propagatedSetLevelTags" in error_of(excinfo)[2]
    assert omics.get_sequence_store(id=created["id"])["propagatedSetLevelTags"] == ["k1"]


def test_updating_a_store_that_does_not_exist_raises_resource_not_found(omics) -> None:
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.update_sequence_store(id="0000000002", description="x")


def test_an_invalid_fallback_location_is_refused(omics) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.create_sequence_store(name=unique("store"), fallbackLocation="https://example.com/bucket")
    assert "fallbackLocation" in error_of(excinfo)[2]


# Delete


def test_a_deleted_store_is_gone_everywhere(omics) -> None:
    name = unique("store")
    created = omics.create_sequence_store(name=name, tags={"owner": "me"})
    omics.delete_sequence_store(id=created["id"])

    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_sequence_store(id=created["id"])
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.delete_sequence_store(id=created["id"])
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.update_sequence_store(id=created["id"], description="too late")
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.list_tags_for_resource(resourceArn=created["arn"])
    assert list_ids(omics, filter={"name": name}) == []


# List: filters


def test_list_filters_by_name_and_status(omics) -> None:
    name = unique("store")
    wanted = {omics.create_sequence_store(name=name)["id"] for _ in range(2)}
    other = omics.create_sequence_store(name=unique("store"))["id"]

    assert set(list_ids(omics, filter={"name": name})) == wanted
    assert set(list_ids(omics, filter={"name": name, "status": "ACTIVE"})) == wanted
    assert list_ids(omics, filter={"name": name, "status": "DELETING"}) == []
    everything = list_ids(omics)
    assert wanted | {other} <= set(everything)
    assert len(everything) == len(set(everything))


def test_list_entries_carry_the_store_summary(omics) -> None:
    name = unique("store")
    created = omics.create_sequence_store(name=name, description="listed", eTagAlgorithmFamily="SHA256up")
    [entry] = omics.list_sequence_stores(filter={"name": name})["sequenceStores"]
    assert entry["id"] == created["id"]
    assert entry["arn"] == created["arn"]
    assert entry["description"] == "listed"
    assert entry["eTagAlgorithmFamily"] == "SHA256up"
    assert entry["status"] == "ACTIVE"
    assert entry["creationTime"] == created["creationTime"]


def test_created_after_and_before_are_inclusive(omics) -> None:
    name = unique("store")
    stores = []
    for _ in range(3):
        stores.append(omics.create_sequence_store(name=name))
        time.sleep(0.005)  # creation times are kept to the millisecond
    a, b, c = (s["id"] for s in stores)
    b_time = stores[1]["creationTime"]
    assert stores[0]["creationTime"] < b_time < stores[2]["creationTime"]

    assert list_ids(omics, filter={"name": name, "createdAfter": b_time}) == [b, c]
    assert list_ids(omics, filter={"name": name, "createdBefore": b_time}) == [a, b]
    assert list_ids(omics, filter={"name": name, "createdAfter": b_time, "createdBefore": b_time}) == [b]
    later = stores[2]["creationTime"] + timedelta(milliseconds=1)
    assert list_ids(omics, filter={"name": name, "createdAfter": later}) == []
    # A time in another zone means the same instant.
    b_in_tokyo = b_time.astimezone(timezone(timedelta(hours=9)))
    assert list_ids(omics, filter={"name": name, "createdAfter": b_in_tokyo}) == [b, c]


def test_updated_after_and_before_follow_the_last_update(omics) -> None:
    name = unique("store")
    stores = []
    for _ in range(3):
        stores.append(omics.create_sequence_store(name=name))
        time.sleep(0.005)
    a, b, c = (s["id"] for s in stores)
    updated = omics.update_sequence_store(id=a, description="touched")
    assert updated["updateTime"] > stores[2]["creationTime"]

    assert list_ids(omics, filter={"name": name, "updatedAfter": updated["updateTime"]}) == [a]
    assert list_ids(omics, filter={"name": name, "updatedBefore": stores[2]["creationTime"]}) == [b, c]


# List: pages


def test_pages_of_max_results_cover_every_store_once(omics) -> None:
    name = unique("store")
    created = [omics.create_sequence_store(name=name)["id"] for _ in range(5)]

    seen: list[str] = []
    sizes = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"filter": {"name": name}, "maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = omics.list_sequence_stores(**kwargs)
        sizes.append(len(page["sequenceStores"]))
        seen += [s["id"] for s in page["sequenceStores"]]
        token = page.get("nextToken")
        if not token:
            break
    assert sizes == [2, 2, 1]
    assert sorted(seen) == sorted(created)


def test_a_last_page_that_is_exactly_full_has_no_token(omics) -> None:
    name = unique("store")
    for _ in range(2):
        omics.create_sequence_store(name=name)
    page = omics.list_sequence_stores(filter={"name": name}, maxResults=2)
    assert len(page["sequenceStores"]) == 2
    assert "nextToken" not in page


def test_the_boto3_paginator_walks_every_page(omics) -> None:
    name = unique("store")
    created = [omics.create_sequence_store(name=name)["id"] for _ in range(5)]
    paginator = omics.get_paginator("list_sequence_stores")

    pages = list(paginator.paginate(filter={"name": name}, PaginationConfig={"PageSize": 2}))
    assert [len(p["sequenceStores"]) for p in pages] == [2, 2, 1]
    assert sorted(s["id"] for p in pages for s in p["sequenceStores"]) == sorted(created)

    first = paginator.paginate(
        filter={"name": name}, PaginationConfig={"PageSize": 2, "MaxItems": 3}
    ).build_full_result()
    assert len(first["sequenceStores"]) == 3
    rest = paginator.paginate(
        filter={"name": name}, PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}
    ).build_full_result()
    assert sorted(s["id"] for s in first["sequenceStores"] + rest["sequenceStores"]) == sorted(created)


def test_paging_is_stable_while_stores_are_created_and_deleted(omics) -> None:
    name = unique("store")
    originals = [omics.create_sequence_store(name=name)["id"] for _ in range(6)]

    first = omics.list_sequence_stores(filter={"name": name}, maxResults=2)
    seen = [s["id"] for s in first["sequenceStores"]]
    # Between pages: more stores appear and one already seen goes away.
    newcomers = [omics.create_sequence_store(name=name)["id"] for _ in range(5)]
    omics.delete_sequence_store(id=seen[0])

    token = first["nextToken"]
    while token:
        page = omics.list_sequence_stores(filter={"name": name}, maxResults=2, nextToken=token)
        seen += [s["id"] for s in page["sequenceStores"]]
        token = page.get("nextToken")

    assert len(seen) == len(set(seen)), "a store was listed twice"
    assert set(originals) <= set(seen), "a store that existed all along was skipped"
    assert set(seen) <= set(originals) | set(newcomers)


def test_a_token_cannot_be_reused_with_another_filter(omics) -> None:
    name = unique("store")
    for _ in range(3):
        omics.create_sequence_store(name=name)
    token = omics.list_sequence_stores(filter={"name": name}, maxResults=1)["nextToken"]

    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.list_sequence_stores(filter={"name": unique("store")}, maxResults=1, nextToken=token)
    assert "nextToken" in error_of(excinfo)[2]
    with pytest.raises(omics.exceptions.ValidationException):
        omics.list_sequence_stores(maxResults=1, nextToken=token)
    # The same filter with another page size is fine.
    assert omics.list_sequence_stores(filter={"name": name}, maxResults=5, nextToken=token)["sequenceStores"]


@pytest.mark.parametrize("token", ["not-a-token", "MTo5OTk5OTk6YWJj", "A" * 200])
def test_an_invalid_token_is_refused(omics, token: str) -> None:
    with pytest.raises(omics.exceptions.ValidationException) as excinfo:
        omics.list_sequence_stores(nextToken=token)
    code, status, message = error_of(excinfo)
    assert status == 400
    assert "nextToken" in message


@pytest.mark.parametrize("max_results", [0, 101, -1])
def test_max_results_outside_1_to_100_is_refused(raw_omics, max_results: int) -> None:
    with pytest.raises(raw_omics.exceptions.ValidationException) as excinfo:
        raw_omics.list_sequence_stores(maxResults=max_results)
    assert "maxResults" in error_of(excinfo)[2]


def test_max_results_at_both_bounds_is_accepted(omics) -> None:
    name = unique("store")
    omics.create_sequence_store(name=name)
    omics.create_sequence_store(name=name)
    assert len(omics.list_sequence_stores(filter={"name": name}, maxResults=1)["sequenceStores"]) == 1
    assert len(omics.list_sequence_stores(filter={"name": name}, maxResults=100)["sequenceStores"]) == 2


def test_an_unknown_status_filter_is_refused(raw_omics) -> None:
    with pytest.raises(raw_omics.exceptions.ValidationException) as excinfo:
        raw_omics.list_sequence_stores(filter={"status": "ARCHIVED"})
    assert "filter.status" in error_of(excinfo)[2]

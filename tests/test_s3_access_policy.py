"""S3 access policies on a sequence store's access point: put, get, delete."""

from __future__ import annotations

import json

import pytest

from tests.helpers.names import ACCOUNT, REGION


def policy_for(arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                       "Action": "s3:GetObject", "Resource": f"{arn}/object/*"}],
    })


def test_a_policy_is_stored_returned_and_deleted(omics, store_id) -> None:  # type: ignore[no-untyped-def]
    access_point = omics.get_sequence_store(id=store_id)["s3Access"]["s3AccessPointArn"]
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_s3_access_policy(s3AccessPointArn=access_point)

    put = omics.put_s3_access_policy(s3AccessPointArn=access_point, s3AccessPolicy=policy_for(access_point))
    assert (put["s3AccessPointArn"], put["storeId"], put["storeType"]) == (access_point, store_id, "SEQUENCE_STORE")

    got = omics.get_s3_access_policy(s3AccessPointArn=access_point)
    assert json.loads(got["s3AccessPolicy"]) == json.loads(policy_for(access_point))
    assert got["storeId"] == store_id and got["updateTime"].tzinfo is not None

    omics.delete_s3_access_policy(s3AccessPointArn=access_point)
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_s3_access_policy(s3AccessPointArn=access_point)
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.delete_s3_access_policy(s3AccessPointArn=access_point)


def test_a_policy_must_be_json_of_at_most_15_kb(omics, store_id) -> None:  # type: ignore[no-untyped-def]
    access_point = omics.get_sequence_store(id=store_id)["s3Access"]["s3AccessPointArn"]
    with pytest.raises(omics.exceptions.ValidationException, match="JSON"):
        omics.put_s3_access_policy(s3AccessPointArn=access_point, s3AccessPolicy="{not json")
    too_big = json.dumps({"Version": "2012-10-17", "Statement": [], "Pad": "x" * 16000})
    with pytest.raises(omics.exceptions.ValidationException, match="15360"):
        omics.put_s3_access_policy(s3AccessPointArn=access_point, s3AccessPolicy=too_big)


def test_an_access_point_of_no_store_is_not_found(omics) -> None:  # type: ignore[no-untyped-def]
    arn = "arn:aws:s3:us-east-1:123456789012:accesspoint/123456789012-9999999999"
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.put_s3_access_policy(s3AccessPointArn=arn, s3AccessPolicy="{}")


def test_a_reference_stores_access_point_takes_a_policy(omics, reference_store_id) -> None:  # type: ignore[no-untyped-def]
    """Its ARN has the sequence stores' form (docs/s3.md, "Names"); the store type says which."""
    access_point = f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/{ACCOUNT}-{reference_store_id}"
    put = omics.put_s3_access_policy(s3AccessPointArn=access_point, s3AccessPolicy=policy_for(access_point))
    assert (put["storeId"], put["storeType"]) == (reference_store_id, "REFERENCE_STORE")
    got = omics.get_s3_access_policy(s3AccessPointArn=access_point)
    assert (got["storeType"], json.loads(got["s3AccessPolicy"])) == ("REFERENCE_STORE", json.loads(policy_for(access_point)))
    omics.delete_s3_access_policy(s3AccessPointArn=access_point)
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_s3_access_policy(s3AccessPointArn=access_point)

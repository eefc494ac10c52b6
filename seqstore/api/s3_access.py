"""Handlers: S3 access policies."""

from typing import Any

from ..store.domain import Domain


def put_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.put(params["s3AccessPointArn"], params["s3AccessPolicy"])


def get_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.get(params["s3AccessPointArn"])


def delete_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.delete(params["s3AccessPointArn"])


HANDLERS = {
    "PutS3AccessPolicy": put_s3_access_policy,
    "GetS3AccessPolicy": get_s3_access_policy,
    "DeleteS3AccessPolicy": delete_s3_access_policy,
}

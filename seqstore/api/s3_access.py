"""Handlers: S3 access policies."""

from typing import Any

from ..protocol.operations import Operation
from ..store.domain import Domain


def put_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.put(params["s3AccessPointArn"], params["s3AccessPolicy"])


def get_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.get(params["s3AccessPointArn"])


def delete_s3_access_policy(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.s3_access.delete(params["s3AccessPointArn"])


ACCESS_POINT = "{s3AccessPointArn}"  # the path carries the ARN itself

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates").
OPERATIONS = (
    Operation("PutS3AccessPolicy", put_s3_access_policy, read_only=False, resource=ACCESS_POINT, quota_tps=1.0),
    Operation("GetS3AccessPolicy", get_s3_access_policy, read_only=True, resource=ACCESS_POINT, quota_tps=1.0),
    Operation("DeleteS3AccessPolicy", delete_s3_access_policy, read_only=False, resource=ACCESS_POINT,
              quota_tps=1.0),
)

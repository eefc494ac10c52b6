"""The omics service model from botocore, narrowed to the storage API seqstore serves."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

TAG_OPERATIONS = ("TagResource", "UntagResource", "ListTagsForResource")


@cache
def service_model() -> ServiceModel:
    """Return botocore's omics service model (the same one boto3 clients use)."""
    return botocore.session.get_session().get_service_model("omics")


def is_storage_operation(operation: OperationModel) -> bool:
    """True for operations of the storage API: a `storage` host prefix, or one of the tag calls."""
    endpoint: dict[str, str] = operation.endpoint or {}  # type: ignore[assignment]
    host_prefix = endpoint.get("hostPrefix", "")
    return "storage" in host_prefix or operation.name in TAG_OPERATIONS


@cache
def storage_operations() -> tuple[OperationModel, ...]:
    """Return every storage operation of the model, in the model's order."""
    model = service_model()
    operations = (model.operation_model(name) for name in model.operation_names)
    return tuple(op for op in operations if is_storage_operation(op))

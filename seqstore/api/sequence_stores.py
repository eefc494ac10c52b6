"""Handlers: sequence stores."""

from typing import Any

from ..protocol.operations import OMICS_ARN, Operation
from ..store.domain import Domain


def create_sequence_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.sequence_stores.create(params)


def get_sequence_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.sequence_stores.get(params["id"])


def list_sequence_stores(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.sequence_stores.list_stores(params)


def update_sequence_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.sequence_stores.update(params)


def delete_sequence_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.sequence_stores.delete(params["id"])


STORE = OMICS_ARN + "sequenceStore/{id}"

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates").
OPERATIONS = (
    Operation("CreateSequenceStore", create_sequence_store, read_only=False, quota_tps=1.0),
    Operation("GetSequenceStore", get_sequence_store, read_only=True, cacheable=True, resource=STORE, quota_tps=5.0),
    Operation("ListSequenceStores", list_sequence_stores, read_only=True, cacheable=True, quota_tps=5.0),
    Operation("UpdateSequenceStore", update_sequence_store, read_only=False, resource=STORE, quota_tps=1.0),
    Operation("DeleteSequenceStore", delete_sequence_store, read_only=False, resource=STORE, quota_tps=1.0),
)

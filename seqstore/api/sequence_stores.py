"""Handlers: sequence stores."""

from typing import Any

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


HANDLERS = {
    "CreateSequenceStore": create_sequence_store,
    "GetSequenceStore": get_sequence_store,
    "ListSequenceStores": list_sequence_stores,
    "UpdateSequenceStore": update_sequence_store,
    "DeleteSequenceStore": delete_sequence_store,
}

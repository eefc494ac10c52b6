"""Handlers: reference stores, references and reference import jobs."""

import asyncio
from typing import Any

from ..store.context import StoreContext
from .read_sets import part_stream


def create_reference_store(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.create_store(params)


def get_reference_store(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.get_store(params["id"])


def list_reference_stores(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.list_stores(params)


def delete_reference_store(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.delete_store(params["id"])


def get_reference_metadata(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.get_metadata(params["referenceStoreId"], params["id"])


def list_references(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.list_references(params)


def delete_reference(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.delete_reference(params["referenceStoreId"], params["id"])


async def get_reference(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    part = await asyncio.to_thread(
        store.references.part_range,
        params["referenceStoreId"],
        params["id"],
        params.get("file"),
        params["partNumber"],
        params.get("range"),
    )
    return {"payload": part_stream(store, part)}


def start_reference_import_job(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.start_import(params)


def get_reference_import_job(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.get_import(params["referenceStoreId"], params["id"])


def list_reference_import_jobs(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.references.list_imports(params)


HANDLERS = {
    "CreateReferenceStore": create_reference_store,
    "GetReferenceStore": get_reference_store,
    "ListReferenceStores": list_reference_stores,
    "DeleteReferenceStore": delete_reference_store,
    "GetReferenceMetadata": get_reference_metadata,
    "ListReferences": list_references,
    "DeleteReference": delete_reference,
    "GetReference": get_reference,
    "StartReferenceImportJob": start_reference_import_job,
    "GetReferenceImportJob": get_reference_import_job,
    "ListReferenceImportJobs": list_reference_import_jobs,
}

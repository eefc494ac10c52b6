"""Handlers: reference stores, references and reference import jobs."""

import asyncio
from typing import Any

from ..store.domain import Domain
from .read_sets import part_stream


def create_reference_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_stores.create(params)


def get_reference_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_stores.get(params["id"])


def list_reference_stores(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_stores.list_stores(params)


def delete_reference_store(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_stores.delete(params["id"])


def get_reference_metadata(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.references.get_metadata(params["referenceStoreId"], params["id"])


def list_references(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.references.list_references(params)


def delete_reference(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.references.delete_reference(params["referenceStoreId"], params["id"])


async def get_reference(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    part = await asyncio.to_thread(
        domain.references.part_range,
        params["referenceStoreId"],
        params["id"],
        params.get("file"),
        params["partNumber"],
        params.get("range"),
    )
    return {"payload": part_stream(domain, part)}


def start_reference_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_imports.start_import(params)


def get_reference_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_imports.get_import(params["referenceStoreId"], params["id"])


def list_reference_import_jobs(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_imports.list_imports(params)


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

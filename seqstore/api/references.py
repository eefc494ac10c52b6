"""Handlers: reference stores, references and reference import jobs."""

import asyncio
from typing import Any

from ..protocol.operations import OMICS_ARN, Operation
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
    domain.disk.check(0, "the import")  # its files are fetched into the work dir first
    return domain.reference_imports.start_import(params)


def get_reference_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_imports.get_import(params["referenceStoreId"], params["id"])


def list_reference_import_jobs(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.reference_imports.list_imports(params)


STORE = OMICS_ARN + "referenceStore/{id}"
IN_STORE = OMICS_ARN + "referenceStore/{referenceStoreId}"
REFERENCE = IN_STORE + "/reference/{id}"

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates");
# GetReferenceStore has none.
OPERATIONS = (
    Operation("CreateReferenceStore", create_reference_store, read_only=False, quota_tps=1.0),
    Operation("GetReferenceStore", get_reference_store, read_only=True, cacheable=True, resource=STORE),
    Operation("ListReferenceStores", list_reference_stores, read_only=True, cacheable=True, quota_tps=5.0),
    Operation("DeleteReferenceStore", delete_reference_store, read_only=False, resource=STORE, quota_tps=1.0),
    Operation("GetReferenceMetadata", get_reference_metadata, read_only=True, cacheable=True, resource=REFERENCE,
              quota_tps=5.0),
    Operation("ListReferences", list_references, read_only=True, cacheable=True, resource=IN_STORE, quota_tps=5.0),
    Operation("DeleteReference", delete_reference, read_only=False, resource=REFERENCE, quota_tps=1.0),
    Operation("GetReference", get_reference, read_only=True, resource=REFERENCE, quota_tps=10.0),
    Operation("StartReferenceImportJob", start_reference_import_job, read_only=False, resource=IN_STORE,
              quota_tps=5.0),
    Operation("GetReferenceImportJob", get_reference_import_job, read_only=True, resource=IN_STORE, quota_tps=5.0),
    Operation("ListReferenceImportJobs", list_reference_import_jobs, read_only=True, resource=IN_STORE,
              quota_tps=5.0),
)

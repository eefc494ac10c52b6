"""Handlers: read set import, export and activation jobs."""

from typing import Any

from ..store.domain import Domain
from ..store.read_set_jobs import ACTIVATION, EXPORT, IMPORT


def start_read_set_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.start_import(params)


def get_read_set_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.get(IMPORT, params["sequenceStoreId"], params["id"])


def list_read_set_import_jobs(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    jobs, token = domain.read_set_jobs.list_jobs(IMPORT, params)
    return {"importJobs": jobs, "nextToken": token}


def start_read_set_export_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.start_export(params)


def get_read_set_export_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.get(EXPORT, params["sequenceStoreId"], params["id"])


def list_read_set_export_jobs(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    jobs, token = domain.read_set_jobs.list_jobs(EXPORT, params)
    return {"exportJobs": jobs, "nextToken": token}


def start_read_set_activation_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.start_activation(params)


def get_read_set_activation_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.read_set_jobs.get(ACTIVATION, params["sequenceStoreId"], params["id"])


def list_read_set_activation_jobs(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    jobs, token = domain.read_set_jobs.list_jobs(ACTIVATION, params)
    return {"activationJobs": jobs, "nextToken": token}


HANDLERS = {
    "StartReadSetImportJob": start_read_set_import_job,
    "GetReadSetImportJob": get_read_set_import_job,
    "ListReadSetImportJobs": list_read_set_import_jobs,
    "StartReadSetExportJob": start_read_set_export_job,
    "GetReadSetExportJob": get_read_set_export_job,
    "ListReadSetExportJobs": list_read_set_export_jobs,
    "StartReadSetActivationJob": start_read_set_activation_job,
    "GetReadSetActivationJob": get_read_set_activation_job,
    "ListReadSetActivationJobs": list_read_set_activation_jobs,
}

"""Handlers: read set import, export and activation jobs."""

from typing import Any

from ..protocol.operations import OMICS_ARN, Operation
from ..store.domain import Domain
from ..store.read_set_jobs import ACTIVATION, EXPORT, IMPORT


def start_read_set_import_job(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    domain.disk.check(0, "the import")  # its files are fetched into the work dir first
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


STORE = OMICS_ARN + "sequenceStore/{sequenceStoreId}"

# quota_tps: the real service's requests per second per access key (docs/behaviour.md, "Request rates"); the
# activation jobs' Get and List have none.
OPERATIONS = (
    Operation("StartReadSetImportJob", start_read_set_import_job, read_only=False, resource=STORE, quota_tps=5.0),
    Operation("GetReadSetImportJob", get_read_set_import_job, read_only=True, resource=STORE, quota_tps=5.0),
    Operation("ListReadSetImportJobs", list_read_set_import_jobs, read_only=True, resource=STORE, quota_tps=5.0),
    Operation("StartReadSetExportJob", start_read_set_export_job, read_only=False, resource=STORE, quota_tps=5.0),
    Operation("GetReadSetExportJob", get_read_set_export_job, read_only=True, resource=STORE, quota_tps=5.0),
    Operation("ListReadSetExportJobs", list_read_set_export_jobs, read_only=True, resource=STORE, quota_tps=5.0),
    Operation("StartReadSetActivationJob", start_read_set_activation_job, read_only=False, resource=STORE,
              quota_tps=5.0),
    Operation("GetReadSetActivationJob", get_read_set_activation_job, read_only=True, resource=STORE),
    Operation("ListReadSetActivationJobs", list_read_set_activation_jobs, read_only=True, resource=STORE),
)

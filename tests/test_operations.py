"""The declarations of the operations (seqstore/api/*: OPERATIONS) against botocore's model and
the figures they replaced: each storage operation declared once, read-only where its HTTP method
says so (with the POST lists named), the real service's quota rates, the cacheable reads, and
resource ARNs built from the path's labels."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from seqstore.api import uploads
from seqstore.api.app import API_MODULES, OPERATIONS
from seqstore.protocol.model import storage_operations
from seqstore.protocol.operations import OMICS_ARN, Operation, Registry

MODELS = {op.name: op for op in storage_operations()}
DECLARED = [op for module in API_MODULES for op in module.OPERATIONS]
BOUND = OPERATIONS.bind(None, region="eu-west-2", account="999999999999")

# Reads that the model binds to POST (their filters travel in a JSON body).
POST_READS = {
    "ListMultipartReadSetUploads",
    "ListReadSetActivationJobs",
    "ListReadSetExportJobs",
    "ListReadSetImportJobs",
    "ListReadSetUploadParts",
    "ListReadSets",
    "ListReferenceImportJobs",
    "ListReferenceStores",
    "ListReferences",
    "ListSequenceStores",
}
# The rates quotas.DEFAULT_RATES held (docs/behaviour.md, "Request rates": requests per second per access key).
OLD_RATES: dict[str, float] = {
    **dict.fromkeys(
        ("CreateSequenceStore", "UpdateSequenceStore", "DeleteSequenceStore", "CreateReferenceStore",
         "DeleteReferenceStore", "BatchDeleteReadSet", "DeleteReference", "CreateMultipartReadSetUpload",
         "CompleteMultipartReadSetUpload", "AbortMultipartReadSetUpload", "GetS3AccessPolicy",
         "PutS3AccessPolicy", "DeleteS3AccessPolicy"),
        1.0,
    ),
    "GetReference": 10.0,
    "UploadReadSetPart": 10.0,
    "GetReadSet": 30.0,
    **dict.fromkeys(
        ("GetSequenceStore", "ListSequenceStores", "GetReadSetMetadata", "ListReadSets", "StartReadSetImportJob",
         "GetReadSetImportJob", "ListReadSetImportJobs", "StartReadSetExportJob", "GetReadSetExportJob",
         "ListReadSetExportJobs", "ListReferenceStores", "StartReferenceImportJob", "GetReferenceImportJob",
         "ListReferenceImportJobs", "ListReferences", "GetReferenceMetadata", "StartReadSetActivationJob"),
        5.0,
    ),
}
OLD_CACHEABLE = {
    "GetSequenceStore", "ListSequenceStores", "GetReferenceStore", "ListReferenceStores",
    "GetReadSetMetadata", "GetReferenceMetadata", "ListReadSets", "ListReferences",
}  # fmt: skip


def path_labels(name: str) -> list[str]:
    return [label.rstrip("+") for label in re.findall(r"\{([^}]+)\}", MODELS[name].http["requestUri"])]


def test_every_storage_operation_is_declared_exactly_once() -> None:
    counts = Counter(op.name for op in DECLARED)
    assert [name for name, n in counts.items() if n > 1] == []
    assert set(counts) == set(MODELS)  # seqstore serves the whole storage API
    assert {op.name for op in OPERATIONS} == set(MODELS)


@pytest.mark.parametrize("operation", DECLARED, ids=lambda op: op.name)
def test_read_only_follows_the_http_method_but_for_the_post_lists(operation: Operation) -> None:
    method = MODELS[operation.name].http["method"]
    assert operation.read_only == (method == "GET" or operation.name in POST_READS)
    if operation.name in POST_READS:
        assert method == "POST" and operation.name.startswith("List")


def test_quota_rates_are_the_real_services() -> None:
    assert OPERATIONS.quota_rates() == OLD_RATES


def test_the_cacheable_reads_are_the_database_only_ones() -> None:
    assert {op.name for op in OPERATIONS if op.cacheable} == OLD_CACHEABLE


def test_only_part_uploads_are_bounded_in_flight() -> None:
    assert {op.name: op.concurrency for op in OPERATIONS if op.concurrency} == {
        "UploadReadSetPart": uploads.PART_UPLOADS
    }


@pytest.mark.parametrize("operation", BOUND, ids=lambda op: op.name)
def test_each_resource_template_is_filled_by_the_paths_labels(operation: Operation) -> None:
    labels = {label: f"{label}-value" for label in path_labels(operation.name)}
    arn = operation.resource_arn(labels)
    if operation.resource is None:
        assert not labels, "a path that names a resource gives it an ARN"
        return
    assert arn is not None and "{" not in arn
    if not operation.resource.startswith("{"):
        assert arn.startswith("arn:aws:omics:eu-west-2:999999999999:")


@pytest.mark.parametrize(
    ("name", "labels", "arn"),
    [
        ("GetSequenceStore", {"id": "1"}, "sequenceStore/1"),
        ("ListReadSets", {"sequenceStoreId": "1"}, "sequenceStore/1"),
        ("GetReadSetMetadata", {"sequenceStoreId": "1", "id": "2"}, "sequenceStore/1/readSet/2"),
        ("GetReadSetImportJob", {"sequenceStoreId": "1", "id": "3"}, "sequenceStore/1"),
        ("UploadReadSetPart", {"sequenceStoreId": "1", "uploadId": "4"}, "sequenceStore/1"),
        ("DeleteReferenceStore", {"id": "5"}, "referenceStore/5"),
        ("DeleteReference", {"referenceStoreId": "5", "id": "6"}, "referenceStore/5/reference/6"),
        ("GetReferenceImportJob", {"referenceStoreId": "5", "id": "7"}, "referenceStore/5"),
    ],
)
def test_resource_arns(name: str, labels: dict[str, str], arn: str) -> None:
    assert BOUND[name].resource_arn(labels) == "arn:aws:omics:eu-west-2:999999999999:" + arn


def test_arn_labels_are_the_resource_itself() -> None:
    arn = "arn:aws:omics:us-east-1:123456789012:sequenceStore/1"
    assert BOUND["TagResource"].resource_arn({"resourceArn": arn}) == arn
    point = "arn:aws:s3:us-east-1:123456789012:accesspoint/123456789012-1"
    assert BOUND["GetS3AccessPolicy"].resource_arn({"s3AccessPointArn": point}) == point
    assert BOUND["CreateSequenceStore"].resource_arn({}) is None


def test_binding_gives_each_handler_its_context_and_keeps_async_handlers_async() -> None:
    seen: list[Any] = []

    def read(context: Any, params: dict[str, Any]) -> dict[str, Any]:
        seen.append((context, params))
        return {}

    async def stream(context: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    registry = Registry([
        Operation("GetSequenceStore", read, read_only=True, resource=OMICS_ARN + "sequenceStore/{id}"),
        Operation("GetReadSet", stream, read_only=True),
    ])
    bound = registry.bind("the store", region="r", account="a")
    bound["GetSequenceStore"].handler({"id": "1"})
    assert seen == [("the store", {"id": "1"})]
    assert bound["GetReadSet"].is_async and not bound["GetSequenceStore"].is_async
    assert bound["GetSequenceStore"].resource == "arn:aws:omics:r:a:sequenceStore/{id}"
    assert registry["GetSequenceStore"].handler is read  # the declaration itself is unchanged
    assert "GetReadSet" in bound and len(bound) == 2 and bound.get("ListReadSets") is None


def test_a_registry_refuses_duplicates_unknown_names_and_cacheable_writes() -> None:
    def handler(params: dict[str, Any]) -> dict[str, Any]:
        return {}

    get = Operation("GetSequenceStore", handler, read_only=True)
    with pytest.raises(ValueError, match="declared twice"):
        Registry([get, get])
    with pytest.raises(ValueError, match="outside the storage API"):
        Registry([Operation("StartRun", handler, read_only=False)])  # a workflows operation
    with pytest.raises(ValueError, match="cacheable"):
        Operation("DeleteSequenceStore", handler, read_only=False, cacheable=True)
    with pytest.raises(ValueError, match="positive"):
        Operation("GetSequenceStore", handler, read_only=True, quota_tps=0)

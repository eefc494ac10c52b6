"""Handlers: direct multipart upload of read sets."""

from typing import Any

from ..protocol.operations import OMICS_ARN, Operation
from ..store.context import StoreContext
from ..store.uploads import receive_part


def create_multipart_read_set_upload(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.uploads.create(params)


async def upload_read_set_part(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return await receive_part(store, params)


def complete_multipart_read_set_upload(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.uploads.complete(params)


def abort_multipart_read_set_upload(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.uploads.abort(params["sequenceStoreId"], params["uploadId"])


def list_multipart_read_set_uploads(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.uploads.list_uploads(params)


def list_read_set_upload_parts(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.uploads.list_parts(params)


STORE = OMICS_ARN + "sequenceStore/{sequenceStoreId}"
# The concurrency class of streamed part uploads: each holds a connection and a blob writer, so
# their number in flight per access key is bounded (Settings.max_concurrent_parts).
PART_UPLOADS = "part uploads"

# quota_tps: the real service's requests per second per access key (quotas.md §4).
OPERATIONS = (
    Operation("CreateMultipartReadSetUpload", create_multipart_read_set_upload, read_only=False, resource=STORE,
              quota_tps=1.0),
    Operation("UploadReadSetPart", upload_read_set_part, read_only=False, resource=STORE, quota_tps=10.0,
              concurrency=PART_UPLOADS),
    Operation("CompleteMultipartReadSetUpload", complete_multipart_read_set_upload, read_only=False,
              resource=STORE, quota_tps=1.0),
    Operation("AbortMultipartReadSetUpload", abort_multipart_read_set_upload, read_only=False, resource=STORE,
              quota_tps=1.0),
    Operation("ListMultipartReadSetUploads", list_multipart_read_set_uploads, read_only=True, resource=STORE),
    Operation("ListReadSetUploadParts", list_read_set_upload_parts, read_only=True, resource=STORE),
)

"""Handlers: direct multipart upload of read sets."""

from typing import Any

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


HANDLERS = {
    "CreateMultipartReadSetUpload": create_multipart_read_set_upload,
    "UploadReadSetPart": upload_read_set_part,
    "CompleteMultipartReadSetUpload": complete_multipart_read_set_upload,
    "AbortMultipartReadSetUpload": abort_multipart_read_set_upload,
    "ListMultipartReadSetUploads": list_multipart_read_set_uploads,
    "ListReadSetUploadParts": list_read_set_upload_parts,
}

"""seqstore/errors.py states each modelled exception's HTTP status; botocore's omics model is the
authority, so the two must agree (and every exception the storage operations list must exist)."""

from __future__ import annotations

from seqstore import errors
from seqstore.protocol.model import service_model, storage_operations


def model_status(code: str) -> int:
    shape = service_model().shape_for(code)
    return int(shape.metadata["error"]["httpStatusCode"])


def test_every_modelled_exception_has_the_models_status() -> None:
    for code, cls in errors.MODELLED.items():
        assert cls.code == code
        assert cls.status == model_status(code), code
        assert cls("m").status == model_status(code)


def test_every_exception_a_storage_operation_lists_is_modelled() -> None:
    listed = {error.name for op in storage_operations() for error in op.error_shapes}
    assert listed <= set(errors.MODELLED), listed - set(errors.MODELLED)


def test_errors_outside_the_model_keep_their_status() -> None:
    assert errors.UnknownOperationException("no route").status == 404
    assert errors.ServiceError("x", code="InvalidSignatureException", status=403).status == 403

"""The errors a request can end in: the exception shapes of the omics model, with the HTTP status
the model gives each (tests/test_errors.py checks them against botocore's model), and
ServiceError for the few that are not omics shapes (SigV4 failures, an unknown route).

This is a base module: every layer may raise these; the protocol layer turns them into the
answer botocore parses (the code in `x-amzn-errortype`, the message in the JSON body)."""

from __future__ import annotations

import errno
from typing import TypeGuard


class ServiceError(Exception):
    """An error answered to the client: `code` is the exception shape's name (or, outside the
    model, a code botocore reports as ClientError), `status` the HTTP status."""

    code = "InternalServerException"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class ValidationException(ServiceError):
    code, status = "ValidationException", 400


class ServiceQuotaExceededException(ServiceError):
    code, status = "ServiceQuotaExceededException", 402


class OutOfDiskSpace(ServiceQuotaExceededException):
    """The server's disk has less free space than it must keep (SEQSTORE_MIN_FREE_BYTES), or a
    write ran out of it; the message says how much is free and how much is needed."""


def is_out_of_space(exc: BaseException) -> TypeGuard[OSError]:
    """True for the OSError of a write that found the disk (or the user's quota) full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class AccessDeniedException(ServiceError):
    code, status = "AccessDeniedException", 403


class ResourceNotFoundException(ServiceError):
    code, status = "ResourceNotFoundException", 404


class NotSupportedOperationException(ServiceError):
    code, status = "NotSupportedOperationException", 405


class RequestTimeoutException(ServiceError):
    code, status = "RequestTimeoutException", 408


class ConflictException(ServiceError):
    code, status = "ConflictException", 409


class RangeNotSatisfiableException(ServiceError):
    code, status = "RangeNotSatisfiableException", 416


class ThrottlingException(ServiceError):
    code, status = "ThrottlingException", 429


class InternalServerException(ServiceError):
    code, status = "InternalServerException", 500


class UnknownOperationException(ServiceError):
    """No operation of the model matches the request's method and path."""

    code, status = "UnknownOperationException", 404


# The exception shapes of the omics model, by name (the fault injection of seqstore.testing and
# the tests look them up here).
MODELLED = {
    cls.code: cls
    for cls in (
        ValidationException,
        ServiceQuotaExceededException,
        AccessDeniedException,
        ResourceNotFoundException,
        NotSupportedOperationException,
        RequestTimeoutException,
        ConflictException,
        RangeNotSatisfiableException,
        ThrottlingException,
        InternalServerException,
    )
}

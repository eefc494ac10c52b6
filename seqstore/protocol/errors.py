"""The service's errors, as botocore expects them on the wire."""

from __future__ import annotations

from .model import error_status


class ServiceError(Exception):
    """An error answered to the client: `code` is the exception shape name of the omics model
    (or, for errors outside the model, a code botocore reports as ClientError)."""

    code = "InternalServerException"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status if status is not None else error_status(self.code)


class ValidationException(ServiceError):
    code = "ValidationException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class ConflictException(ServiceError):
    code = "ConflictException"


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class RangeNotSatisfiableException(ServiceError):
    code = "RangeNotSatisfiableException"


class NotSupportedOperationException(ServiceError):
    code = "NotSupportedOperationException"


class RequestTimeoutException(ServiceError):
    code = "RequestTimeoutException"


class InternalServerException(ServiceError):
    code = "InternalServerException"


class UnknownOperationException(ServiceError):
    """No operation of the model matches the request's method and path."""

    code = "UnknownOperationException"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)

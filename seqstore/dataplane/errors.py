"""S3's errors: a code, an HTTP status and an XML body that boto3, the AWS CLI and s3fs parse
into their usual exceptions (docs/s3.md, "Errors")."""

from __future__ import annotations

from xml.sax.saxutils import escape


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra  # more elements of the body (Key, BucketName, ...)

    def body(self, request_id: str, resource: str) -> bytes:
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
        ).encode()


def access_denied(message: str) -> S3Error:
    return S3Error(403, "AccessDenied", message)


def no_such_bucket(name: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", f"The specified bucket does not exist: {name!r} is no store's access "
                   "point alias", BucketName=name)


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def read_only(operation: str) -> S3Error:
    return access_denied(
        f"{operation} is not allowed: a sequence store's S3 access point is read-only (write through the omics API)"
    )


def not_implemented(what: str) -> S3Error:
    return S3Error(501, "NotImplemented", f"{what} is not implemented by this access point")


def invalid_argument(message: str, name: str = "", value: str = "") -> S3Error:
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return S3Error(400, "InvalidArgument", message, **extra)

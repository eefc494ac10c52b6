"""S3 server access log records of the S3 plane (docs/s3.md, "Access logs"): for a request to a
store whose `s3AccessConfig.accessLogLocation` is set, one line in the S3 server access log
format, handed to the batched delivery of log_buffer.py. `Response` watches the answer go out
(status, first byte, bytes, object size); `AccessLog.record` writes the line."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..protocol.exchange import Send
from ..store.s3_objects import Bucket
from .log_buffer import LogBuffer
from .routing import Address

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The resource part of S3's operation names (REST.GET.ACL, ...) for the subresources a request
# can name; a bucket or object request naming none is REST.{method}.BUCKET / .OBJECT.
BUCKET_SUBRESOURCES = {
    "location": "LOCATION", "tagging": "TAGGING", "acl": "ACL", "policy": "BUCKETPOLICY",
    "versioning": "VERSIONING", "versions": "BUCKETVERSIONS", "uploads": "UPLOADS", "delete": "MULTI_OBJECT_DELETE",
    "cors": "CORS", "lifecycle": "LIFECYCLE", "logging": "LOGGING_STATUS", "notification": "NOTIFICATION",
    "website": "WEBSITE", "encryption": "ENCRYPTION", "replication": "REPLICATION",
}  # fmt: skip
OBJECT_SUBRESOURCES = {
    "tagging": "OBJECT_TAGGING", "acl": "ACL", "uploads": "UPLOADS", "uploadId": "UPLOAD", "restore": "RESTORE",
    "retention": "RETENTION", "legal-hold": "LEGAL_HOLD", "attributes": "OBJECT_ATTRIBUTES", "torrent": "TORRENT",
}  # fmt: skip


class Response:
    """A `send` that notes what goes out: the status, when the first byte left, the body's
    bytes and the headers that give an object's size."""

    __slots__ = ("_send", "status", "first_byte", "bytes_sent", "length", "content_range")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.first_byte: float | None = None
        self.bytes_sent = 0
        self.length = ""
        self.content_range = ""

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.first_byte = time.perf_counter()
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name == b"content-length":
                    self.length = value.decode("latin-1")
                elif name == b"content-range":
                    self.content_range = value.decode("latin-1")
        else:
            self.bytes_sent += len(message.get("body", b""))
        await self._send(message)

    def object_size(self) -> str:
        """The whole object's size, as an object's answer tells it ('-' if it does not)."""
        if self.content_range:
            return self.content_range.rpartition("/")[2] or "-"
        return self.length if self.status == 200 and self.length else "-"


def operation(method: str, where: Address, query: dict[str, str]) -> str:
    """S3's name of the operation, e.g. REST.GET.OBJECT, REST.HEAD.BUCKET, REST.GET.SERVICE."""
    if not where.bucket:
        return f"REST.{method}.SERVICE"
    names, default = (OBJECT_SUBRESOURCES, "OBJECT") if where.key else (BUCKET_SUBRESOURCES, "BUCKET")
    if where.key and "partNumber" in query and "uploadId" in query:
        return f"REST.{method}.PART"
    resource = next((names[name] for name in query if name in names), default)
    return f"REST.{method}.{resource}"


def _quoted(value: str) -> str:
    """A field between double quotes: inner quotes and backslashes escaped, no control characters."""
    cleaned = "".join(c for c in value if c >= " " and c != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(value: str | None) -> str:
    return value.replace(" ", "%20") if value else "-"


def _time(moment: datetime) -> str:
    return f"[{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000]"


def _signature(headers: dict[str, str], raw_query: str) -> tuple[str, str]:
    """(signature version, authentication type) as S3 logs them."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-HMAC-SHA256"):
        return "SigV4", "AuthHeader"
    if authorization.startswith("AWS "):
        return "SigV2", "AuthHeader"
    if "X-Amz-Algorithm=" in raw_query:
        return "SigV4", "QueryString"
    if "AWSAccessKeyId=" in raw_query:
        return "SigV2", "QueryString"
    return "-", "-"


class AccessLog:
    """Writes the records of requests to stores with a log location into `buffer`."""

    def __init__(self, buffer: LogBuffer, account_id: str, access_point_arn: Callable[[str], str]) -> None:
        self.buffer = buffer
        self.account_id = account_id
        self.access_point_arn = access_point_arn  # store id → its access point's ARN

    def record(
        self,
        scope: dict[str, Any],
        headers: dict[str, str],
        where: Address,
        bucket: Bucket,
        *,
        request_id: str,
        requester: str | None,
        error_code: str | None,
        response: Response,
        received: datetime,
        started: float,
    ) -> None:
        """Queue the line of one request to `bucket` (nothing when it has no log location)."""
        location = bucket.access_log_location
        if not location:
            return
        ended = time.perf_counter()
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").partition("?")[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = dict(part.partition("=")[::2] for part in raw_query.split("&") if part)
        method: str = scope["method"]
        name = operation(method, where, query)
        target = raw_path + (f"?{raw_query}" if raw_query else "")
        client = scope.get("client") or ("-", 0)
        signature, auth_type = _signature(headers, raw_query)
        turn_around = "-" if response.first_byte is None else str(int((response.first_byte - started) * 1000))
        fields = [
            self.account_id,  # the bucket owner: seqstore has no canonical user ids
            where.bucket,
            _time(received),
            client[0] or "-",
            _field(requester),
            request_id,
            name,
            quote(where.key, safe="/") if where.key else "-",
            _quoted(f"{method} {target} HTTP/{scope.get('http_version', '1.1')}"),
            str(response.status or "-"),
            error_code or "-",
            str(response.bytes_sent) if response.bytes_sent else "-",
            response.object_size() if name.endswith(".OBJECT") else "-",
            str(int((ended - started) * 1000)),
            turn_around,
            _quoted(headers.get("referer", "-")),
            _quoted(headers.get("user-agent", "-")),
            "-",  # version id: objects are not versioned
            "-",  # host id
            signature,
            "-",  # cipher suite: not known to the application
            auth_type,
            _field(headers.get("host")),
            "-",  # TLS version: not known to the application
            self.access_point_arn(bucket.store_id),
            "-",  # ACL required
            "-",  # source region
        ]
        self.buffer.add(location, " ".join(fields))


def now() -> datetime:
    return datetime.now(UTC)

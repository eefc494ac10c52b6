"""Reading S3 server access log records as S3 writes them: space-separated fields, the time in
brackets, the request line, referrer and user agent in double quotes ('-' for an absent field)."""

from __future__ import annotations

import re

TOKEN = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
FIELDS = (
    "bucket_owner", "bucket", "time", "remote_ip", "requester", "request_id", "operation", "key", "request_uri",
    "status", "error_code", "bytes_sent", "object_size", "total_time", "turn_around_time", "referrer",
    "user_agent", "version_id", "host_id", "signature_version", "cipher_suite", "authentication_type",
    "host_header", "tls_version", "access_point_arn", "acl_required",
)  # fmt: skip
# S3's log object names: the target prefix, the time written, a unique string.
OBJECT_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-Z]{16}")


def parse_records(text: str) -> dict[str, dict[str, str]]:
    """The records of a log object by request id (fields named as S3's documentation names them;
    fields after the known ones are ignored, as S3 asks of readers)."""
    records = {}
    for line in text.splitlines():
        tokens = [t[1:-1] if t[:1] in '["' else t for t in TOKEN.findall(line)]
        assert len(tokens) >= len(FIELDS), line
        record = dict(zip(FIELDS, tokens, strict=False))
        records[record["request_id"]] = record
    return records

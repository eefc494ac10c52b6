"""GetObject and HeadObject: ranges, conditional requests and the headers S3 sends with an
object (docs/s3.md, "Objects"). Decisions only: app.py sends what `answer` decides, streaming
the bytes from the blob store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from ..store.s3_objects import S3Object
from .errors import S3Error

RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class Answer:
    status: int  # 200, 206 or 304
    offset: int
    length: int
    headers: list[tuple[bytes, bytes]]


def http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


@lru_cache(maxsize=4096)
def object_headers(obj: S3Object) -> tuple[tuple[bytes, bytes], ...]:
    """The headers of every answer about `obj` (kept: the same object is read again and again,
    and formatting its date costs more than the rest of a ranged GET's decisions)."""
    return (
        (b"etag", obj.etag.encode()),
        (b"last-modified", http_date(obj.last_modified).encode()),
        (b"accept-ranges", b"bytes"),
        (b"content-type", b"application/octet-stream"),
    )


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(offset, length) of a `Range: bytes=a-b | a- | -n` header, None for the whole object (no
    header, or one S3 ignores: several ranges, another unit, b < a); S3Error 416 InvalidRange
    when it cannot be satisfied."""
    if not header:
        return None
    match = RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise invalid_range(header, size)
        suffix = min(suffix, size)
        return size - suffix, suffix
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise invalid_range(header, size)
    end = min(end, size - 1)
    return start, end - start + 1


def invalid_range(header: str, size: int) -> S3Error:
    return S3Error(
        416, "InvalidRange", f"The requested range {header!r} is not satisfiable: the object has {size} bytes",
        RangeRequested=header, ActualObjectSize=str(size),
    )


def _etag_matches(header: str, etag: str) -> bool:
    wanted = [part.strip() for part in header.split(",")]
    return "*" in wanted or etag in wanted or etag.strip('"') in wanted


def _date(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None  # S3 ignores a date it cannot read


def preconditions(obj: S3Object, headers: dict[str, str]) -> bool:
    """Whether the conditional headers let the request through: False for 304 Not Modified;
    S3Error 412 PreconditionFailed (S3's order: If-Match, then If-Unmodified-Since unless
    If-Match held, then If-None-Match, then If-Modified-Since unless If-None-Match was sent)."""
    modified = obj.last_modified.replace(microsecond=0)
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _etag_matches(if_match, obj.etag):
            raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                          Condition="If-Match")
    else:
        since = _date(headers.get("if-unmodified-since"))
        if since is not None and modified > since:
            raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                          Condition="If-Unmodified-Since")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return not _etag_matches(if_none_match, obj.etag)
    since = _date(headers.get("if-modified-since"))
    return not (since is not None and modified <= since)


def answer(obj: S3Object, headers: dict[str, str], part_number: str | None = None, part_size: int = 0) -> Answer:
    """What to send for a GET or HEAD of `obj`."""
    base = list(object_headers(obj))
    if not preconditions(obj, headers):
        return Answer(304, 0, 0, base)
    if part_number is not None:
        return _part(obj, base, part_number, part_size)
    found = byte_range(headers.get("range"), obj.size)
    if found is None:
        return Answer(200, 0, obj.size, [*base, (b"content-length", str(obj.size).encode())])
    offset, length = found
    return Answer(
        206, offset, length,
        [*base, (b"content-length", str(length).encode()),
         (b"content-range", f"bytes {offset}-{offset + length - 1}/{obj.size}".encode())],
    )


def _part(obj: S3Object, base: list[tuple[bytes, bytes]], part_number: str, part_size: int) -> Answer:
    """`partNumber=N`: the N-th part of the object as the omics API cuts it (its partSize)."""
    parts = max(1, -(-obj.size // part_size)) if part_size else 1
    if not part_number.isdigit() or not 1 <= int(part_number) <= parts:
        raise S3Error(416, "InvalidPartNumber", f"partNumber must be from 1 to {parts} for this object",
                      PartNumberRequested=part_number, ActualPartCount=str(parts))
    offset = (int(part_number) - 1) * part_size if part_size else 0
    length = min(part_size, obj.size - offset) if part_size else obj.size
    status = 206 if parts > 1 else 200
    return Answer(
        status, offset, length,
        [*base, (b"content-length", str(length).encode()), (b"x-amz-mp-parts-count", str(parts).encode()),
         (b"content-range", f"bytes {offset}-{offset + length - 1}/{obj.size}".encode())],
    )

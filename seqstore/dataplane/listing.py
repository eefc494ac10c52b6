"""ListObjectsV2 and ListObjects (v1): prefix, delimiter, max-keys, continuation token,
start-after and marker, in S3's XML (docs/s3.md, "Listing"). Keys come from the store in key
order; a common prefix is skipped past in one step, not walked key by key."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from ..store.s3_objects import LIST_BATCH, S3Object
from .errors import invalid_argument

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
PAST = "\U0010ffff"  # sorts after every character a key can hold

# The store's objects with keys > after and >= prefix, in key order, up to a limit at a time.
Source = Callable[[str, str, int], list[S3Object]]


def page(
    source: Source, prefix: str, delimiter: str, after: str, max_keys: int
) -> tuple[list[S3Object], list[str], bool, str]:
    """Up to `max_keys` objects and common prefixes after `after`: (objects, common prefixes,
    whether more follow, the last key or common prefix given)."""
    objects: list[S3Object] = []
    prefixes: list[str] = []
    last = after
    if max_keys == 0:
        return objects, prefixes, False, last
    cursor = after
    # One more than a page: a page of 1,000 keys reads 1,001 rows to know whether more follow.
    limit = min(LIST_BATCH, max_keys) + 1
    while True:
        batch = source(cursor, prefix, limit)
        for obj in batch:
            if obj.key <= cursor:
                continue
            if not obj.key.startswith(prefix):
                if obj.key > prefix:
                    return objects, prefixes, False, last
                continue
            if len(objects) + len(prefixes) == max_keys:
                return objects, prefixes, True, last
            rest = obj.key[len(prefix) :]
            cut = rest.find(delimiter) if delimiter else -1
            if cut >= 0:
                last = prefix + rest[: cut + len(delimiter)]
                prefixes.append(last)
                cursor = last + PAST  # past every key under it, in one step
                break
            objects.append(obj)
            last = cursor = obj.key
        else:
            if len(batch) < limit:
                return objects, prefixes, False, last


def max_keys_of(value: str | None) -> int:
    if value is None or value == "":
        return MAX_KEYS
    if not value.isdigit():
        raise invalid_argument("max-keys must be a non-negative integer", "max-keys", value)
    return min(int(value), MAX_KEYS)


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token) from None


_PLAIN = re.compile(r"[A-Za-z0-9/._~-]*")  # what neither URL-encoding nor XML escaping changes


def _text(value: str, url: bool) -> str:
    if _PLAIN.fullmatch(value):  # every key seqstore makes: ids and sanitised file names
        return value
    return escape(quote(value, safe="/") if url else value)


@functools.lru_cache(maxsize=4096)  # the files of a read set share their time
def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def result_xml(
    bucket: str,
    query: dict[str, str],
    found: tuple[list[S3Object], list[str], bool, str],
    *,
    v2: bool,
) -> bytes:
    """The ListBucketResult of a page (keys URL-encoded when the request said encoding-type=url,
    as botocore always does)."""
    objects, prefixes, truncated, last = found
    url = query.get("encoding-type") == "url"
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">',
             f"<Name>{escape(bucket)}</Name><Prefix>{_text(prefix, url)}</Prefix>"]
    if v2:
        if "continuation-token" in query:
            parts.append(f"<ContinuationToken>{escape(query['continuation-token'])}</ContinuationToken>")
        if "start-after" in query:
            parts.append(f"<StartAfter>{_text(query['start-after'], url)}</StartAfter>")
        parts.append(f"<KeyCount>{len(objects) + len(prefixes)}</KeyCount>")
    else:
        parts.append(f"<Marker>{_text(query.get('marker', ''), url)}</Marker>")
    parts.append(f"<MaxKeys>{max_keys_of(query.get('max-keys'))}</MaxKeys>")
    if delimiter:
        parts.append(f"<Delimiter>{_text(delimiter, url)}</Delimiter>")
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if truncated:
        if v2:
            parts.append(f"<NextContinuationToken>{encode_token(last)}</NextContinuationToken>")
        elif delimiter:
            parts.append(f"<NextMarker>{_text(last, url)}</NextMarker>")
    for obj in objects:
        parts.append(
            f"<Contents><Key>{_text(obj.key, url)}</Key><LastModified>{_iso(obj.last_modified)}</LastModified>"
            f"<ETag>{escape(obj.etag)}</ETag><Size>{obj.size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        )
    for common in prefixes:
        parts.append(f"<CommonPrefixes><Prefix>{_text(common, url)}</Prefix></CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode()

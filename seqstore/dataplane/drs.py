"""GA4GH DRS 1.4 on stored read sets and references (docs/drs.md):

- `GET /ga4gh/drs/v1/service-info`;
- `GET /ga4gh/drs/v1/objects/{id}`: a read set (`rs-{storeId}-{readSetId}`) or a reference
  (`ref-{storeId}-{referenceId}`) is a bundle whose contents are its files, each an object of
  its own (`…-source1`, `…-source2`, `…-index`; a reference's `…-source`, `…-index`);
- `GET /ga4gh/drs/v1/objects/{id}/access/https`: a URL (and the header it needs) for a file;
- `GET /ga4gh/drs/v1/data/{id}`: the file's bytes, whole or ranged (where that URL points).

Authentication as for htsget: a bearer token, or nothing with `--auth none`."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import ResourceNotFoundException
from ..store.domain import Domain
from ..store.read_set_rows import files as read_set_files
from .credentials import Unauthenticated, caller_token
from .http import Plane, Receive, Request, Send, byte_window, read_request, send_json, send_stored

PREFIX = "/ga4gh/drs/v1/"
OBJECT_ID = re.compile(r"(rs|ref)-([0-9]+)-([0-9]+)(?:-(source1|source2|source|index))?")
MIME = {".bam": "application/vnd.ga4gh.bam", ".cram": "application/vnd.ga4gh.cram", ".bai": "application/octet-stream",
        ".crai": "application/octet-stream", ".gz": "application/gzip", ".fai": "text/plain",
        ".fasta": "text/x-fasta"}  # fmt: skip
SERVICE_INFO = {
    "id": "seqstore.drs",
    "name": "seqstore DRS",
    "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.4.0"},
    "organization": {"name": "seqstore", "url": "https://github.com/seqstore"},
    "version": "1.0",
}


class DrsError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Found:
    """A bundle (a read set or reference) and its files."""

    kind: str  # "rs" or "ref"
    store_id: str
    resource_id: str
    row: Any
    files: dict[str, Any]
    bucket: str | None  # a read set's store's access point alias: the bucket of its s3Uri


class DrsApp(Plane):
    prefix = PREFIX
    domain: Domain

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
            words = request.path[len(PREFIX) :].split("/")
            if words == ["service-info"]:
                await send_json(send, 200, SERVICE_INFO)
                return
            token = self.authenticate(request)
            if request.method != "GET":
                raise DrsError(405, f"{request.method} is not supported here; use GET")
            if len(words) == 2 and words[0] == "objects":
                document = await asyncio.to_thread(self.object, request, words[1])
                await send_json(send, 200, document)
            elif len(words) == 4 and words[0] == "objects" and words[2] == "access":
                await send_json(send, 200, await asyncio.to_thread(self.access, request, words[1], words[3], token))
            elif len(words) == 2 and words[0] == "data":
                await self.data(request, send, words[1])
            else:
                raise DrsError(404, f"no DRS endpoint {request.method} {request.path}")
        except ValueError as exc:
            await send_json(send, 400, {"status_code": 400, "msg": str(exc)})
        except DrsError as exc:
            await send_json(send, exc.status, {"status_code": exc.status, "msg": exc.message})

    def authenticate(self, request: Request) -> str | None:
        """The bearer token that stands for the caller (None when credentials are not checked)."""
        settings = self.domain.settings
        try:
            return caller_token(request, self.domain.keys.lookup, settings.region, settings.auth)
        except Unauthenticated as exc:
            raise DrsError(401, str(exc)) from None

    def find(self, object_id: str) -> tuple[Found, str | None]:
        """The bundle an id names and the file it names within it (None: the bundle itself)."""
        match = OBJECT_ID.fullmatch(object_id)
        if match is None:
            raise DrsError(404, f"no DRS object {object_id!r} (ids look like rs-STORE-READSET[-source1])")
        kind, store_id, resource_id, file = match.groups()
        with self.domain.db.read() as connection:
            try:
                bucket = None
                if kind == "rs":
                    row = self.domain.read_sets.row(connection, store_id, resource_id)
                    stored = {f.file: f for f in read_set_files(connection, resource_id)}
                    bucket = self.domain.sequence_stores.alias(connection, store_id)
                else:
                    row = self.domain.references.row(connection, store_id, resource_id)
                    stored = {f.file: f for f in self.domain.references.files(connection, resource_id)}
            except ResourceNotFoundException as exc:
                raise DrsError(404, exc.message) from None
        if row.status != "ACTIVE":
            hint = "; start an activation job" if row.status == "ARCHIVED" else ""
            raise DrsError(404 if row.status != "ARCHIVED" else 403, f"{object_id} is {row.status}{hint}")
        if file is not None and file not in stored:
            raise DrsError(404, f"{object_id}: the {'read set' if kind == 'rs' else 'reference'} has no {file} file")
        return Found(kind, store_id, resource_id, row, stored, bucket), file

    def object(self, request: Request, object_id: str) -> dict[str, Any]:
        found, file = self.find(object_id)
        host = request.headers.get("host", "localhost")
        bundle_id = f"{found.kind}-{found.store_id}-{found.resource_id}"
        if file is not None:
            return self.file_object(found, file, f"{bundle_id}-{file}", host)
        contents = [
            {"name": stored.file_name, "id": f"{bundle_id}-{name}", "drs_uri": [f"drs://{host}/{bundle_id}-{name}"]}
            for name, stored in sorted(found.files.items())
        ]
        digests = sorted(stored.md5 for stored in found.files.values() if stored.md5)
        document: dict[str, Any] = {
            "id": bundle_id,
            "self_uri": f"drs://{host}/{bundle_id}",
            "name": found.row.name,
            "size": sum(stored.content_length for stored in found.files.values()),
            "created_time": _time(found.row.creation_time),
            "updated_time": _time(found.row.update_time),
            "checksums": [{"type": "md5", "checksum": hashlib.md5("".join(digests).encode()).hexdigest()}]
            if len(digests) == len(found.files) else [],
            "contents": contents,
            "description": self.describe(found),
            "aliases": [self.arn(found)],
        }  # fmt: skip
        return document

    def file_object(self, found: Found, file: str, object_id: str, host: str) -> dict[str, Any]:
        stored = found.files[file]
        access: list[dict[str, Any]] = [{"type": "https", "access_id": "https"}]
        if found.bucket is not None:
            access.insert(0, {"type": "s3", "access_url": {"url": f"s3://{found.bucket}/{stored.blob_key}"}})
        suffix = next((s for s in MIME if stored.file_name.endswith(s)), "")
        return {
            "id": object_id,
            "self_uri": f"drs://{host}/{object_id}",
            "name": stored.file_name,
            "size": stored.content_length,
            "created_time": _time(found.row.creation_time),
            "mime_type": MIME.get(suffix, "application/octet-stream"),
            "checksums": [{"type": "md5", "checksum": stored.md5}] if stored.md5 else [],
            "access_methods": access,
            "aliases": [f"{self.arn(found)}/{file}"],
        }

    def arn(self, found: Found) -> str:
        arns = self.domain.arns
        if found.kind == "rs":
            return arns.read_set(found.store_id, found.resource_id)
        return arns.reference(found.store_id, found.resource_id)

    @staticmethod
    def describe(found: Found) -> str:
        """The bundle's description: what it is and, for a read set, its HealthOmics ETag."""
        row = found.row
        if found.kind == "ref":
            return f"HealthOmics reference {found.resource_id} (sequence MD5 {row.md5})"
        etags = ", ".join(f"{name} {value}" for name, value in (("source1", row.etag_source1),
                                                                 ("source2", row.etag_source2)) if value)  # fmt: skip
        return (
            f"HealthOmics {row.file_type} read set {found.resource_id} of sample {row.sample_id}; "
            f"HealthOmics ETag ({row.etag_algorithm}): {etags}"
        )

    def access(self, request: Request, object_id: str, access_id: str, token: str | None) -> dict[str, Any]:
        if access_id != "https":
            raise DrsError(404, f"no access method {access_id!r} (this server offers 'https')")
        _, file = self.find(object_id)
        if file is None:
            raise DrsError(400, f"{object_id} is a bundle; ask for one of its contents")
        url: dict[str, Any] = {"url": f"{request.base_url}{PREFIX}data/{object_id}"}
        if token:
            url["headers"] = [f"Authorization: Bearer {token}"]
        return url

    async def data(self, request: Request, send: Send, object_id: str) -> None:
        found, file = await asyncio.to_thread(self.find, object_id)
        if file is None:
            raise DrsError(400, f"{object_id} is a bundle; fetch one of its contents")
        stored = found.files[file]
        try:
            window = byte_window(request, stored.content_length)
        except ValueError as exc:
            await send_json(send, 416, {"status_code": 416, "msg": str(exc)})
            return
        if found.kind == "rs":
            await asyncio.to_thread(self.domain.lifecycle.note_access_now, found.resource_id)
        await send_stored(send, self.domain.blobs, stored.blob_key, stored.content_length, window)


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

"""GA4GH htsget 1.3 reads API on stored read sets (docs/htsget.md):

- `GET|POST /htsget/reads/{sequenceStoreId}/{readSetId}`: a ticket of byte ranges of the stored
  BAM or CRAM (from its index) for the requested regions;
- `GET /htsget/reads/service-info`;
- `GET /htsget/data/{sequenceStoreId}/{readSetId}`: the stored file, ranged, where the tickets
  point.

Clients authenticate with `Authorization: Bearer <token>` (`seqstore keys token`); with
`--auth none` (loopback only) no token is needed. Errors are htsget's JSON errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..errors import ResourceNotFoundException
from ..store.domain import Domain
from ..store.read_set_rows import files as read_set_files
from .credentials import Unauthenticated, caller_token
from .http import Plane, Receive, Request, Send, byte_window, read_request, send_json, send_stored
from .tickets import Piece, Region, TicketError, bam_ticket, cram_ticket

PREFIX = "/htsget/"
STATUS = {
    "InvalidAuthentication": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "UnsupportedFormat": 400,
    "InvalidInput": 400,
    "InvalidRange": 400,
}
MIME = {"BAM": "application/vnd.ga4gh.bam", "CRAM": "application/vnd.ga4gh.cram"}
SERVICE_INFO = {
    "id": "seqstore.htsget",
    "name": "seqstore htsget",
    "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
    "organization": {"name": "seqstore", "url": "https://github.com/seqstore"},
    "version": "1.0",
    "htsget": {
        "datatype": "reads",
        "formats": ["BAM", "CRAM"],
        "fieldsParametersEffective": False,
        "tagsParametersEffective": False,
    },
}


class HtsgetApp(Plane):
    """The htsget routes (every path under /htsget/)."""

    prefix = PREFIX
    domain: Domain

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
        except ValueError as exc:
            await self.error(send, "InvalidInput", str(exc))
            return
        words = request.path[len(PREFIX) :].split("/")
        try:
            if words == ["reads", "service-info"] and request.method == "GET":
                await send_json(send, 200, SERVICE_INFO)
                return
            token = self.authenticate(request)
            if len(words) == 3 and words[0] == "reads" and request.method in ("GET", "POST"):
                ticket = await asyncio.to_thread(self.ticket, request, words[1], words[2], token)
                await send_json(send, 200, ticket, "application/vnd.ga4gh.htsget.v1.3.0+json")
            elif len(words) == 3 and words[0] == "data" and request.method == "GET":
                await self.data(request, send, words[1], words[2])
            else:
                raise TicketError("NotFound", f"no htsget endpoint {request.method} {request.path}")
        except TicketError as exc:
            await self.error(send, exc.code, exc.message)

    @staticmethod
    async def error(send: Send, code: str, message: str) -> None:
        await send_json(send, STATUS[code], {"htsget": {"error": code, "message": message}})

    def authenticate(self, request: Request) -> str | None:
        """The bearer token that stands for the caller (None when credentials are not checked)."""
        settings = self.domain.settings
        try:
            return caller_token(request, self.domain.keys.lookup, settings.region, settings.auth)
        except Unauthenticated as exc:
            raise TicketError("InvalidAuthentication", str(exc)) from None

    def read_set(self, store_id: str, read_set_id: str) -> tuple[Any, dict[str, Any]]:
        """The ACTIVE read set and its files by name, or the htsget error that fits."""
        with self.domain.db.read() as connection:
            try:
                row = self.domain.read_sets.row(connection, store_id, read_set_id)
            except ResourceNotFoundException as exc:
                raise TicketError("NotFound", exc.message) from None
            stored = {f.file: f for f in read_set_files(connection, read_set_id)}
        if row.status == "ARCHIVED":
            raise TicketError(
                "PermissionDenied", f"read set {read_set_id} is ARCHIVED; start an activation job to read it"
            )
        if row.status != "ACTIVE":
            raise TicketError("NotFound", f"read set {read_set_id} is {row.status}, not ACTIVE")
        return row, stored

    def ticket(self, request: Request, store_id: str, read_set_id: str, token: str | None) -> dict[str, Any]:
        row, stored = self.read_set(store_id, read_set_id)
        options = request_options(request)
        native = "CRAM" if row.file_type == "CRAM" else "BAM"
        if row.file_type == "FASTQ":
            raise TicketError("UnsupportedFormat", "FASTQ read sets have no htsget reads form (BAM or CRAM)")
        wanted_format = options.get("format") or native
        if wanted_format != native:
            raise TicketError(
                "UnsupportedFormat", f"read set {read_set_id} is stored as {native}; ask for format={native}"
            )
        wanted = options.get("regions")
        header_only = options.get("class") == "header"
        source = self.domain.blobs.cached_file(stored["source1"].blob_key)
        if row.file_type == "UBAM" or "index" not in stored:  # unaligned: no index, the whole file
            pieces = bam_ticket(source, source, None, header_only)
        else:
            index = self.domain.blobs.cached_file(stored["index"].blob_key)
            if native == "BAM":
                pieces = bam_ticket(source, index, wanted, header_only)
            else:
                fasta = self.domain.references.fasta_of(row.reference_arn)
                pieces = cram_ticket(source, index, fasta, wanted, header_only)
        url = f"{request.base_url}/htsget/data/{store_id}/{read_set_id}"
        return {"htsget": {"format": native, "urls": [self.url(piece, url, token, native) for piece in pieces]}}

    @staticmethod
    def url(piece: Piece, url: str, token: str | None, file_format: str) -> dict[str, Any]:
        entry: dict[str, Any]
        if piece.inline is not None:
            entry = {"url": piece.data_uri(MIME[file_format])}
        else:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if piece.byte_range is not None:
                headers["Range"] = f"bytes={piece.byte_range.start}-{piece.byte_range.end}"
            entry = {"url": url, **({"headers": headers} if headers else {})}
        if piece.data_class is not None:
            entry["class"] = piece.data_class
        return entry

    async def data(self, request: Request, send: Send, store_id: str, read_set_id: str) -> None:
        """The stored file of an ACTIVE read set, whole or ranged (what tickets point at)."""
        _, stored = await asyncio.to_thread(self.read_set, store_id, read_set_id)
        source = stored["source1"]
        try:
            window = byte_window(request, source.content_length)
        except ValueError as exc:
            raise TicketError("InvalidRange", str(exc)) from None
        await asyncio.to_thread(self.domain.lifecycle.note_access_now, read_set_id)
        await send_stored(send, self.domain.blobs, source.blob_key, source.content_length, window)


def request_options(request: Request) -> dict[str, Any]:
    """format, class and regions of a GET (query parameters) or POST (JSON body) request, checked."""
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise TicketError("InvalidInput", f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise TicketError("InvalidInput", "the body must be a JSON object")
        found = body.get("regions")
        if found is not None and (not isinstance(found, list) or not found):
            raise TicketError("InvalidInput", "'regions' must be a non-empty list")
        wanted = None if found is None else [_region(r.get("referenceName"), r.get("start"), r.get("end")) for r in found]
        return {"format": body.get("format"), "class": body.get("class"), "regions": wanted}
    name = request.first("referenceName")
    start, end = request.first("start"), request.first("end")
    if name is None and (start is not None or end is not None):
        raise TicketError("InvalidInput", "'start' and 'end' need a 'referenceName'")
    wanted = None if name is None else [_region(name, _integer("start", start), _integer("end", end))]
    data_class = request.first("class")
    if data_class not in (None, "header"):
        raise TicketError("InvalidInput", f"'class' may only be 'header', not {data_class!r}")
    return {"format": request.first("format"), "class": data_class, "regions": wanted}


def _integer(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise TicketError("InvalidInput", f"'{name}' must be a non-negative integer, not {value!r}")
    return int(value)


def _region(name: Any, start: Any, end: Any) -> Region:
    if not isinstance(name, str) or not name:
        raise TicketError("InvalidInput", "each region needs a 'referenceName'")
    for label, value in (("start", start), ("end", end)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise TicketError("InvalidInput", f"'{label}' must be a non-negative integer")
    if name == "*" and (start is not None or end is not None):
        raise TicketError("InvalidInput", "'start' and 'end' are not allowed with referenceName '*'")
    if start is not None and end is not None and start > end:
        raise TicketError("InvalidRange", f"'start' ({start}) is after 'end' ({end})")
    return Region(name, start or 0, end)

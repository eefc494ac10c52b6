"""The S3 plane's ASGI application: authenticate, find the bucket and the object, answer one of
the read operations, refuse everything that would write (docs/s3.md)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from ..blobs import BlobStore
from ..protocol.auth import AccessKey, AuthError, SigV4Verifier
from ..protocol.cache import VersionedCache
from ..protocol.exchange import Receive, Send, request_id
from ..protocol.metrics import RequestMetrics
from ..protocol.presigned import is_presigned, verify_presigned
from ..store.s3_access import S3AccessPolicies
from ..store.s3_objects import Bucket, S3Object, S3Objects
from . import access_log, listing, objects, policy
from .access_log import AccessLog, Response
from .errors import S3Error, access_denied, no_such_bucket, no_such_key, not_implemented, read_only
from .http import stream_body
from .routing import Address, address, parse_query

log = logging.getLogger("seqstore.s3")

NS = listing.NS
XML = b"application/xml"
# Subresources of S3 this access point does not serve (a GET of one is NotImplemented, not a read
# of the object or a listing).
SUBRESOURCES = frozenset(
    (
        "acl", "accelerate", "analytics", "attributes", "cors", "encryption", "intelligent-tiering",
        "inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock",
        "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment",
        "restore", "retention", "select", "torrent", "uploads", "versioning", "versions", "website",
        "uploadId",
    )
)
# S3's status codes for the verifier's refusals (anything else is AccessDenied, 403).
AUTH_STATUS = {"AuthorizationQueryParametersError": 400, "AuthorizationHeaderMalformed": 400}
S3_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "AuthorizationQueryParametersError"}
SIGV2 = (
    "Signature Version 2 is not served (S3 access points take SigV4 only): sign with AWS4-HMAC-SHA256, "
    "e.g. boto3 Config(signature_version='s3v4')"
)
WRITE_NAMES = {"PUT": "PutObject and the like", "POST": "uploads, DeleteObjects", "DELETE": "DeleteObject and the like"}
# A refused request's body is read to its end (so the connection stays usable) up to this much;
# past it the connection is closed instead.
MAX_DRAIN = 8 * 1024 * 1024
# Buckets and objects the plane keeps while the database is unchanged (protocol/cache.py).
MAX_LOOKUPS = 4096
LookupKey = tuple[str, ...]
Found = Bucket | S3Object | None
# Where serve() leaves the bucket it looked up (None: no such bucket) for the access log record.
SEEN_BUCKET = "seqstore.s3.bucket"
SEEN_QUERY = "seqstore.s3.query"  # and the query it parsed, for the metrics


class S3Plane:
    """Answers the S3 requests the front router sends it (lifespan is the omics app's)."""

    def __init__(
        self, s3_objects: S3Objects, blobs: BlobStore, verifier: SigV4Verifier | None, region: str,
        policies: S3AccessPolicies,
        access_log: AccessLog | None = None,
        metrics: RequestMetrics | None = None,
    ) -> None:
        self.objects = s3_objects
        self.policies = policies
        self.blobs = blobs
        self.verifier = verifier  # None: `--auth none`, anonymous reads from loopback only
        self.region = region
        self.lookups: VersionedCache[LookupKey, Found] = VersionedCache(
            s3_objects.db.data_version, max_entries=MAX_LOOKUPS, max_total=MAX_LOOKUPS
        )
        self.access_log = access_log  # None: no access logs (docs/s3.md, "Access logs")
        self.metrics = metrics  # the omics API's: S3 requests under S3's names (REST.GET.OBJECT)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        received = access_log.now()
        rid = request_id()
        method: str = scope["method"]
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        where = address(scope, headers)
        status, sent = 500, 0
        started_response = False
        response = Response(send)
        key: AccessKey | None = None
        error_code: str | None = None

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started_response
            started_response = True
            await response(message)

        try:
            key = self.authenticate(scope, method, headers)
            status, sent = await self.serve(scope, method, headers, where, tracked, rid, key)
        except Exception as exc:
            if started_response:  # the bytes stopped mid-object: the client sees a short body
                log.exception("s3 %s %s failed while streaming", rid, where.resource, extra={"requestId": rid})
                raise
            if isinstance(exc, S3Error):
                error = exc
            else:
                log.exception("s3 %s %s failed", rid, where.resource, extra={"requestId": rid})
                error = S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
            status, error_code = error.status, error.code
            body = b"" if method == "HEAD" else error.body(rid, where.resource)
            headers_out = [(b"content-type", XML), (b"content-length", str(len(body)).encode()),
                           (b"x-amz-request-id", rid.encode())]
            if method not in ("GET", "HEAD") and not await drain(receive):
                headers_out.append((b"connection", b"close"))
            await response({"type": "http.response.start", "status": error.status, "headers": headers_out})
            await response({"type": "http.response.body", "body": body})
        finally:
            log.info("s3 %s %s %s %d %d bytes %.1f ms", rid, method, where.resource, status, sent,
                     (time.perf_counter() - started) * 1000, extra={"requestId": rid, "status": status})
            if self.metrics is not None:
                query = scope.get(SEEN_QUERY) or parse_query(scope.get("query_string", b""))
                self.metrics.count(access_log.operation(method, where, query), status, started, 0, sent)
            if self.access_log is not None:
                await self.log_access(scope, headers, where, rid, key, error_code, response, received, started)

    async def log_access(
        self, scope: dict[str, Any], headers: dict[str, str], where: Address, rid: str, key: AccessKey | None,
        error_code: str | None, response: Response, received: datetime, started: float,
    ) -> None:
        """The access log record of a request to a store with a log location; a request refused
        before serve() looked up its bucket (a write, a bad signature) has it looked up here. A
        failure here is logged, never the request's."""
        assert self.access_log is not None
        try:
            if SEEN_BUCKET in scope:
                bucket = scope[SEEN_BUCKET]
            else:
                bucket = await self.lookup(("bucket", where.bucket), self.objects.bucket, where.bucket) if where.bucket else None
            if isinstance(bucket, Bucket):
                self.access_log.record(
                    scope, headers, where, bucket, request_id=rid, requester=key.access_key_id if key else None,
                    error_code=error_code, response=response, received=received, started=started,
                )
        except Exception as exc:
            log.warning("s3 %s: no access log record (%s)", rid, exc)

    def authenticate(self, scope: dict[str, Any], method: str, headers: dict[str, str]) -> AccessKey | None:
        """The key that signed the request; None for an anonymous one (`--auth none`, loopback)."""
        if self.verifier is None:
            client = scope.get("client") or ("", 0)
            try:
                loopback = ipaddress.ip_address(client[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise access_denied("With --auth none the S3 plane serves only clients on loopback")
            return None
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").partition("?")[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        authorization = headers.get("authorization")
        try:
            if authorization is None and is_presigned(raw_query):
                return verify_presigned(self.verifier, method, raw_path, raw_query, headers)
            if authorization is None and "AWSAccessKeyId=" in raw_query:
                raise S3Error(400, "AuthorizationQueryParametersError", SIGV2)
            if authorization is None:
                raise access_denied(
                    "Anonymous access is not allowed: sign the request (SigV4 for service s3) or presign it"
                )
            if authorization.startswith("AWS "):
                raise S3Error(400, "InvalidRequest", SIGV2)
            return self.verifier.verify(method, raw_path, raw_query, headers, None)
        except AuthError as error:
            code = error.code if error.code in S3_AUTH_CODES else "AccessDenied"
            if error.code == "IncompleteSignatureException":
                code = "AuthorizationHeaderMalformed"
            raise S3Error(AUTH_STATUS.get(code, 403), code, str(error)) from None

    async def serve(
        self, scope: dict[str, Any], method: str, headers: dict[str, str], where: Address, send: Send, rid: str,
        caller: AccessKey | None = None,
    ) -> tuple[int, int]:
        query = scope[SEEN_QUERY] = parse_query(scope.get("query_string", b""))
        if method not in ("GET", "HEAD"):
            raise read_only(f"{method} ({WRITE_NAMES.get(method, 'a write')})")
        if not where.bucket:
            raise not_implemented("ListBuckets (name a store's access point alias as the bucket)")
        version = self.lookups.version()
        bucket = scope[SEEN_BUCKET] = await self.lookup(("bucket", where.bucket), self.objects.bucket, where.bucket,
                                                        version=version)  # fmt: skip
        if not isinstance(bucket, Bucket):
            raise no_such_bucket(where.bucket)
        refused = SUBRESOURCES.intersection(query)
        if refused:
            raise not_implemented(f"The {sorted(refused)[0]!r} subresource")
        await policy.authorize(self.policies, self.objects.account_id, bucket, where, caller, scope, headers, query,
                               self.verifier.now() if self.verifier else None)
        if not where.key:
            return await self.bucket_operation(bucket, method, query, send, rid)
        return await self.object_operation(bucket, where.key, method, headers, query, send, rid, version)

    async def lookup(self, key: LookupKey, find: Any, *args: Any, version: object = None) -> Found:
        """`find(*args)`, kept while the database is unchanged. Where the database has a change
        counter (a local SQLite file) the lookup runs on the event loop: ~40 µs, where a thread
        hop there and back costs ~150 µs of a ranged GET's latency; elsewhere (PostgreSQL's
        round trips) in a thread. `version`: the counter as the request read it at its start
        (one read a request; a change after it is one the request did not see), else read now."""
        if version is None:
            version = self.lookups.version()
        found = self.lookups.get(key, version)
        if found is not None:
            return found
        found = find(*args) if version is not None else await asyncio.to_thread(find, *args)
        self.lookups.put(key, version, found)
        return found

    async def bucket_operation(
        self, bucket: Bucket, method: str, query: dict[str, str], send: Send, rid: str
    ) -> tuple[int, int]:
        if method == "HEAD":  # HeadBucket
            return await respond(send, rid, 200, b"", [(b"x-amz-bucket-region", self.region.encode())], head=True)
        if "location" in query:  # GetBucketLocation (us-east-1 is spelt as nothing)
            region = "" if self.region == "us-east-1" else escape(self.region)
            body = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{NS}">{region}</LocationConstraint>'
            return await respond(send, rid, 200, body.encode())
        if "tagging" in query:
            raise not_implemented("GetBucketTagging")
        v2 = query.get("list-type") == "2"
        after = query.get("start-after", "") if v2 else query.get("marker", "")
        if v2 and "continuation-token" in query:
            after = listing.decode_token(query["continuation-token"])
        max_keys = listing.max_keys_of(query.get("max-keys"))

        def list_page() -> Any:
            return listing.page(
                lambda cursor, prefix, limit: self.objects.after(bucket, cursor, prefix, limit),
                query.get("prefix", ""), query.get("delimiter", ""), after, max_keys,
            )

        found = await asyncio.to_thread(list_page)
        return await respond(send, rid, 200, listing.result_xml(bucket.alias, query, found, v2=v2))

    async def object_operation(
        self, bucket: Bucket, key: str, method: str, headers: dict[str, str], query: dict[str, str], send: Send,
        rid: str, version: object = None,
    ) -> tuple[int, int]:
        obj = await self.lookup(("object", bucket.alias, key), self.objects.find, bucket, key, version=version)
        if not isinstance(obj, S3Object):
            raise no_such_key(key)
        if not obj.readable:
            if obj.status == "ARCHIVED":
                raise S3Error(
                    403, "InvalidObjectState",
                    "The read set is ARCHIVED: start an activation job (StartReadSetActivationJob) and read it "
                    "once it is ACTIVE", StorageClass="GLACIER",
                )
            raise no_such_key(key)
        if "tagging" in query:  # GetObjectTagging
            if method == "HEAD":
                raise not_implemented("HEAD of ?tagging")
            tags = await asyncio.to_thread(self.objects.tags, bucket, obj)
            tag_set = "".join(
                f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in sorted(tags.items())
            )
            body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="{NS}"><TagSet>{tag_set}</TagSet></Tagging>'
            return await respond(send, rid, 200, body.encode())
        if method == "GET" and self.objects.access_due(obj):
            await asyncio.to_thread(self.objects.note_read, obj)
        decided = objects.answer(obj, headers, query.get("partNumber"), obj.part_size)
        extra = [*decided.headers, (b"x-amz-request-id", rid.encode())]
        await send({"type": "http.response.start", "status": decided.status, "headers": extra})
        if method == "HEAD" or decided.status == 304 or decided.length == 0:
            await send({"type": "http.response.body", "body": b""})
            return decided.status, 0
        chunks = self.blobs.read_range(obj.key, decided.offset, decided.length)
        return decided.status, await stream_body(send, chunks)


async def drain(receive: Receive) -> bool:
    """Read and drop a request's body; False when it is longer than MAX_DRAIN (close then)."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return True
        if seen > MAX_DRAIN:
            return False


async def respond(
    send: Send, rid: str, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None,
    head: bool = False,
) -> tuple[int, int]:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", XML), (b"content-length", str(len(body)).encode()), (b"x-amz-request-id", rid.encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": b"" if head else body})
    return status, len(body)

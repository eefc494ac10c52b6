"""The stream of fuzz requests: weighted categories (valid, each constraint and type case of the
model in turn, random bytes, huge and empty values, odd strings, tricks in labels, query strings,
headers and methods), each aimed where its outcome may land."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from seqstore.config import PART_SIZE
from seqstore.protocol.auth import UNSIGNED_PAYLOAD
from seqstore.protocol.dispatch import MAX_JSON_BODY
from seqstore.protocol.parsing import payload_member
from tests.fuzzing.model import MAP_KEY, OPERATIONS, bindings, child, has_required_body, location, walk
from tests.fuzzing.resources import Resources, Side
from tests.fuzzing.tricks import (
    ACCEPTED_CONTENT_TYPES,
    LABEL_TRICKS,
    MAYBE_VALID_LABEL_TRICKS,
    METHODS,
    QUERY_TRICKS,
    REFUSED_CONTENT_TYPES,
    WEIRD_STRINGS,
)
from tests.fuzzing.values import fastq, fits, set_at, valid_value
from tests.fuzzing.violations import violations, wrong_types
from tests.fuzzing.wire import Wire, ascii_safe, build, encode_label


class Generator:
    """Produces the fuzz requests, cycling through every constraint and type case of the model."""

    def __init__(self, res: Resources, seed: int) -> None:
        self.res = res
        self.rng = random.Random(seed)
        self.region = res.region
        self.constraint_cases: list[tuple[Any, tuple[Any, ...], str, Any]] = []
        self.type_cases: list[tuple[Any, tuple[Any, ...], Any]] = []
        for op in OPERATIONS:
            if op.input_shape is None:
                continue
            payload = payload_member(op)
            for path, shape in walk(op.input_shape):
                if path[0] == payload:
                    continue  # any bytes are a part
                parent = op.input_shape
                for step in path[:-1]:
                    parent = child(parent, step)
                for kind, value in violations(shape, op, path, parent):
                    self.constraint_cases.append((op, path, kind, value))
                top = op.input_shape.members[path[0]].serialization.get("location")
                if path[-1] is MAP_KEY or (top and len(path) > 1):
                    continue  # query list items are strings on the wire, whatever they were
                where = location(op, path)
                if where == "querystring" and shape.type_name == "list":
                    continue
                for value in wrong_types(shape, where):
                    if shape.type_name == "string" and fits(shape, value):
                        continue  # on the wire every query, header and label value is a string
                    self.type_cases.append((op, path, value))
        self.rng.shuffle(self.constraint_cases)
        self.rng.shuffle(self.type_cases)
        self.constraint_index = 0
        self.type_index = 0
        self.covered: set[str] = set()
        self.last_params: dict[str, Any] = {}
        self.skipped: Counter[str] = Counter()
        self.categories: list[tuple[str, float, Callable[[Any], Wire | None]]] = [
            ("valid", 22, self.valid),
            ("constraint", 20, self.constraint),
            ("type", 16, self.wrong_type),
            ("bytes", 7, self.random_bytes),
            ("huge", 6, self.huge),
            ("empty", 5, self.empty),
            ("weird", 5, self.weird),
            ("label", 9, self.label_trick),
            ("query", 6, self.query_trick),
            ("header", 3, self.header_trick),
            ("method", 1, self.method_trick),
        ]

    # --- parameters

    def params(self, op: Any, side: Side) -> dict[str, Any]:
        ids = self.res.ids(side, op.name)
        params = valid_value(op.input_shape, self.rng, self.region, ids) if op.input_shape else {}
        params.pop("nextToken", None)
        if op.name == "UploadReadSetPart":
            params["partSource"] = "SOURCE1"
        if op.name in ("GetReadSet", "GetReference"):
            params["partNumber"] = 1
            if self.rng.random() < 0.7:
                params.pop("range", None)
        if op.name == "PutS3AccessPolicy":
            params["s3AccessPolicy"] = json.dumps({"Version": "2012-10-17", "Statement": []})
        if side is self.res.scratch:
            self._valid_targets(op, params)
        self.last_params = params
        return params

    def _valid_targets(self, op: Any, params: dict[str, Any]) -> None:
        """Valid mutating requests must leave the victim (and the one reference store) alone."""
        nowhere = str(self.rng.randrange(10**9, 10**10))
        if op.name == "DeleteSequenceStore":
            params["id"] = self.res.disposable.pop() if self.res.disposable else nowhere
        elif op.name in ("DeleteReferenceStore", "DeleteReference"):
            params["id"] = nowhere
        elif op.name == "BatchDeleteReadSet":
            params["ids"] = [str(self.rng.randrange(10**9, 10**10)) for _ in params.get("ids", [])] or [nowhere]
        elif op.name == "TagResource" or op.name == "UntagResource":
            params["resourceArn"] = self.rng.choice(self.res.tag_arns(self.res.scratch))
        elif op.name == "StartReferenceImportJob":
            for source in params.get("sources", []):
                source["sourceFile"] = "s3://fuzz/missing-reference.fa"

    def side(self, op: Any) -> Side:
        """Where invalid requests aim: the victim, whose data must not change."""
        return self.res.victim

    # --- categories

    def valid(self, op: Any) -> Wire | None:
        params = self.params(op, self.res.scratch)
        extra = [self.rng.choice(QUERY_TRICKS[:2])] if self.rng.random() < 0.1 else None
        raw_labels = None
        if self.rng.random() < 0.1:
            # Percent-encoding every character of a label changes nothing.
            labels = [m for m, (where, _) in bindings(op).items() if where == "uri" and m in params]
            if labels:
                member = self.rng.choice(labels)
                wire = bindings(op)[member][1]
                raw_labels = {wire: "".join(f"%{b:02X}" for b in str(params[member]).encode())}
        return build(op, params, "valid", extra_query=extra, raw_labels=raw_labels)

    def constraint(self, op: Any) -> Wire | None:
        case_op, path, kind, value = self.constraint_cases[self.constraint_index % len(self.constraint_cases)]
        self.constraint_index += 1
        params = self.params(case_op, self.side(case_op))
        where = location(case_op, path)
        if where == "header" and not ascii_safe(value):
            return None
        set_at(params, case_op, path, value, self.rng, self.region, self.res.ids(self.res.victim, case_op.name))
        name = f"{case_op.name}.{'.'.join(map(str, path))}:{kind}:{_short(value)}"
        self.covered.add(name)
        return build(case_op, params, "constraint", case=name, invalid=True)

    def wrong_type(self, op: Any) -> Wire | None:
        case_op, path, value = self.type_cases[self.type_index % len(self.type_cases)]
        self.type_index += 1
        params = self.params(case_op, self.side(case_op))
        where = location(case_op, path)
        if where == "header" and not ascii_safe(value):
            return None
        set_at(params, case_op, path, value, self.rng, self.region, self.res.ids(self.res.victim, case_op.name))
        name = f"{case_op.name}.{'.'.join(map(str, path))}:type:{_short(value)}"
        self.covered.add(name)
        return build(case_op, params, "type", case=name, invalid=True)

    def random_bytes(self, op: Any) -> Wire | None:
        choice = self.rng.randrange(8)
        # Bytes that might still be an acceptable body (a corrupted byte) go to the scratch store.
        params = self.params(op, self.res.scratch if choice == 4 else self.side(op))
        as_json = json.dumps({k: v for k, v in params.items() if not isinstance(v, bytes)})
        if choice == 0:
            body = b"\x00" + self.rng.randbytes(self.rng.randint(1, 4096))
        elif choice == 1:
            body = bytes(self.rng.choice([0, 0xFF, 0x7B, 0x22]) for _ in range(self.rng.randint(1, 64)))
        elif choice == 2:
            body = self.rng.choice([b"[]", b"\"x\"", b"1", b"null", b"true", b"{", b"}", b"{\"a\":}", b"{}}",
                                    b"\xef\xbb\xbf{}", b"{\"name\": NaN}", b"{\"maxResults\": Infinity}",
                                    b"{\"maxResults\": 1e400}", b"{\"name\":\"\\ud800\"}", b"\x00{}",
                                    b"{\"a\":1,\"a\":2}", b"{\"name\": \"x\"} trailing", b"\xff\xfe{\x00}\x00"])
        elif choice == 3:
            depth = self.rng.choice([100, 900, 5000, 100_000])
            body = (b"[" * depth + b"]" * depth) if self.rng.random() < 0.5 else (
                b"{\"a\":" * depth + b"1" + b"}" * depth)
        elif choice == 4:
            text = as_json.encode()
            position = self.rng.randrange(max(1, len(text)))
            body = text[:position] + self.rng.randbytes(self.rng.randint(1, 8)) + text[position + 1:]
        elif choice == 5:
            body = as_json.encode("utf-16")
        elif choice == 6:
            body = as_json.encode()[: self.rng.randrange(1, max(2, len(as_json)))]
        else:
            body = b"{\"" + "é".encode("latin-1") + b"\": 1}"
        if payload_member(op):
            # Any bytes are a valid part: send them to the scratch upload.
            params = self.params(op, self.res.scratch)
            return build(op, params, "bytes", body=body)
        content_type = self.rng.choice(["application/json", None, "application/x-amz-json-1.1"])
        return build(op, params, "bytes", body=body, content_type=content_type, invalid=choice != 4,
                     case=f"bytes:{choice}")

    def huge(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        payload = payload_member(op)
        body_members = [m for m, (where, _) in bindings(op).items() if where == "body" and m != payload]
        query_members = [m for m, (where, _) in bindings(op).items() if where == "querystring"]
        choice = self.rng.randrange(6)
        if choice == 0 and body_members:
            member = self.rng.choice(body_members)
            params[member] = "x" * self.rng.choice([10_000, 200_000, 1_000_000 - 200])
            return build(op, params, "huge", case=f"{op.name}.{member}:huge-string", invalid=True)
        if choice == 1 and body_members:
            params[self.rng.choice(body_members)] = self.rng.choice(
                [10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, 10**4000])
            return build(op, params, "huge", invalid=True)
        if choice == 2 and body_members:
            params[self.rng.choice(body_members)] = ["1234567890"] * self.rng.choice([1000, 50_000])
            return build(op, params, "huge", invalid=True)
        if choice == 3 and query_members:
            member = self.rng.choice(query_members)
            params[member] = self.rng.choice(["9" * 5000, "A" * 7000])
            return build(op, params, "huge", invalid=True)
        if choice == 4:
            # A declared body over the limit with little sent: refused without waiting for it.
            limit = PART_SIZE if payload_member(op) else MAX_JSON_BODY
            length = self.rng.choice([limit + 1, limit * 2, 10**15])
            return build(op, params, "huge", declared_length=length, invalid=True,
                         body=b"{}" if not payload_member(op) else fastq(1, self.rng))
        labels = [wire for where, wire in bindings(op).values() if where == "uri"]
        if labels:
            return build(op, params, "huge", raw_labels={self.rng.choice(labels): "1" * 8000}, invalid=True)
        return build(op, self.params(op, self.res.scratch), "huge", extra_query=["x=" + "y" * 8000])

    def empty(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        options = []
        payload = payload_member(op)
        for member, (where, _) in bindings(op).items():
            if member == payload:
                continue
            shape = op.input_shape.members[member]
            # Only empty values that break a rule: "" against a minimum or pattern, [] against a
            # minimum, {} missing required members.
            empty = {"string": "" if not fits(shape, "") else None,
                     "list": [] if shape.metadata.get("min") and where == "body" else None,
                     "structure": {} if shape.required_members else None}.get(shape.type_name)
            if empty is not None:
                options.append((member, empty))
        if options and self.rng.random() < 0.8:
            member, value = self.rng.choice(options)
            params[member] = value
            return build(op, params, "empty", case=f"{op.name}.{member}:empty", invalid=True)
        if has_required_body(op):
            return build(op, params, "empty", body=self.rng.choice([b"", b"{}", b" ", b"\n"]), invalid=True)
        if payload_member(op):
            return build(op, params, "empty", body=b"", invalid=True, case="empty part")
        return None

    def weird(self, op: Any) -> Wire | None:
        """Odd but perhaps valid strings (unicode, control characters, lone surrogates, boundary
        lengths) in string members: sent to the scratch store, any answer but a 5xx will do."""
        params = self.params(op, self.res.scratch)
        strings = [(path, shape) for path, shape in walk(op.input_shape)
                   if shape.type_name == "string" and location(op, path) in ("body", "querystring")
                   and path[-1] is not MAP_KEY]
        keyed = [(path, shape) for path, shape in walk(op.input_shape) if path[-1] is MAP_KEY]
        if not strings and not keyed:
            return None
        path, shape = self.rng.choice(strings + keyed)
        meta = shape.metadata
        value = self.rng.choice([
            *WEIRD_STRINGS,
            "a" * meta.get("max", 64), "é" * meta.get("max", 64), "🧬" * meta.get("max", 64),
            "a" * max(meta.get("min", 1), 1),
        ])
        try:
            set_at(params, op, path, value, self.rng, self.region, self.res.ids(self.res.scratch, op.name))
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        return build(op, params, "weird", case=f"{op.name}.{'.'.join(map(str, path))}:weird")

    def label_trick(self, op: Any) -> Wire | None:
        labels = [(member, wire) for member, (where, wire) in bindings(op).items() if where == "uri"]
        if not labels:
            return self.query_trick(op)
        maybe_valid = self.rng.random() < 0.1
        params = self.params(op, self.res.scratch if maybe_valid else self.side(op))
        member, wire = self.rng.choice(labels)
        trick = self.rng.choice(MAYBE_VALID_LABEL_TRICKS if maybe_valid else LABEL_TRICKS)
        raw = trick.replace("{v}", encode_label(params.get(member, "1234567890")))
        raw = raw.encode("utf-8").decode("latin-1")  # raw UTF-8 bytes for unicode tricks
        return build(op, params, "label", raw_labels={wire: raw}, case=f"label:{trick[:20]}",
                     invalid=not maybe_valid)

    def query_trick(self, op: Any) -> Wire | None:
        # Unknown parameters may be ignored: a valid request, so aimed at the scratch store.
        # Some tricks leave the request valid (partNumber=%31 is partNumber=1), so they go to the
        # scratch store and any answer but a 5xx will do.
        trick = self.rng.choice(QUERY_TRICKS)
        params = self.params(op, self.res.scratch)
        for part in trick.split("&"):
            params.pop(part.split("=")[0], None)  # the trick's own value replaces it
        return build(op, params, "query", extra_query=[trick], case=f"query:{trick[:20]}")

    def header_trick(self, op: Any) -> Wire | None:
        params = self.params(op, self.side(op))
        choice = self.rng.randrange(4)
        payload = payload_member(op)
        if choice == 0 and not payload and has_required_body(op):
            accepted = self.rng.random() < 0.3
            if accepted:
                params = self.params(op, self.res.scratch)
            body = json.dumps({k: v for k, v in params.items()
                               if bindings(op).get(k, ("body",))[0] == "body"}).encode()
            content_type = self.rng.choice(ACCEPTED_CONTENT_TYPES if accepted else REFUSED_CONTENT_TYPES)
            return build(op, params, "header", content_type=content_type, invalid=not accepted, body=body,
                         case=f"content-type:{content_type}")
        if choice == 1:
            # A signed body hash the body does not have, or an unsigned JSON body.
            declared = self.rng.choice(
                ["0" * 64, "zz", "", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "E3B0C442" + "0" * 56]
                if payload else [UNSIGNED_PAYLOAD, hashlib.sha256(b"{}").hexdigest(), "", "0" * 64])
            wire = build(op, params, "header", invalid=True, headers={"X-Amz-Content-SHA256": declared},
                         case=f"declared-sha256:{declared[:20]}")
            if payload or wire.body != b"{}" or declared != hashlib.sha256(b"{}").hexdigest():
                return wire
            return None
        if choice == 2:
            member = "range" if op.name == "GetReference" else None
            if member:
                params[member] = self.rng.choice(["bytes=99-1", "bytes=-", "bytes=0-", "bytes=1-2,3-4",
                                                  "x" * 200, "bytes=99999999999999999999-", "-1"])
                return build(op, params, "header", case="header:range")
        # Headers the protocol ignores: a valid request, so to the scratch store.
        return build(op, self.params(op, self.res.scratch), "header", headers={
            self.rng.choice(["X-Amz-Target", "X-Forwarded-For", "X-Amzn-ErrorType", "Expect"]):
                self.rng.choice(["omics.DeleteSequenceStore", "127.0.0.1", "x" * 4000, "100-continue"])
        })

    def method_trick(self, op: Any) -> Wire | None:
        uri = op.http["requestUri"].split("?")[0]
        routed = {other.http["method"] for other in OPERATIONS
                  if len(other.http["requestUri"].split("?")[0].split("/")) == len(uri.split("/"))}
        choices = [m for m in METHODS if m not in routed]
        params = self.params(op, self.side(op))
        return build(op, params, "method", method=self.rng.choice(choices), invalid=True)

    # --- the stream

    def next(self) -> Wire:
        names = [c[0] for c in self.categories]
        weights = [c[1] for c in self.categories]
        while True:
            op = self.rng.choice(OPERATIONS)
            category = self.rng.choices(names, weights)[0]
            make = dict((c[0], c[2]) for c in self.categories)[category]
            try:
                wire = make(op)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                self.skipped[f"{category}: {type(exc).__name__}"] += 1  # reported, then another
                continue
            if wire is not None:
                subject, store = self.last_params.get("id"), self.last_params.get("sequenceStoreId")
                wire.subject = subject if isinstance(subject, str) else None
                wire.store = store if isinstance(store, str) else None
                return wire


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:16]}...({len(text)})"

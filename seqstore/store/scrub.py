"""The background scrub's durable state (tables `scrub_state` and `scrub_findings`, migration
0013): the one lease that lets one worker of a deployment scrub at a time, the pass under way and
its cursor (a worker killed mid-pass is resumed where it stopped, not from the start), the
findings (open until a later check finds the file fine) and the totals the metrics show.

The pass itself (what to check next, its pace, yielding to jobs) is seqstore/jobs/scrub.py's;
each subject is checked by `Verifier.check` (store/verify.py), as `seqstore verify` checks it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now
from ..queue import owner_is_dead
from .verify import KINDS, Finding, Subject

STATE = "scrub"  # the name of scrub_state's one row
WHOLE = ""  # the `file` of a finding about a whole read set or reference


@dataclass(frozen=True)
class Cursor:
    """Where the pass under way is: every subject of `kind` up to `seq` (and of the kinds before
    it in `KINDS`) is checked. `started`: when the pass began."""

    kind: str
    seq: int
    started: datetime


@dataclass(frozen=True)
class Change:
    """A finding opened (a problem not known before, or another one) or resolved."""

    kind: str
    subject_id: str
    store_id: str
    file: str
    problem: str  # of a resolved one: the problem it had

    def where(self) -> str:
        store = "sequence store" if self.kind == "read set" else "reference store"
        return f"{self.kind} {self.subject_id} ({store} {self.store_id}){f' {self.file}' if self.file else ''}"


class ScrubState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _state(self, connection: Connection) -> Any:
        """scrub_state's row, made if missing (a new database, a testing reset), locked for the
        transaction (SQLite's write transaction holds the whole database already)."""
        query = select(t.scrub_state).where(t.scrub_state.c.name == STATE)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        row = connection.execute(query).first()
        if row is None:
            try:
                with connection.begin_nested():
                    connection.execute(
                        insert(t.scrub_state).values(name=STATE, passes=0, subjects_total=0, bytes_total=0)
                    )
            except IntegrityError:  # another worker made it meanwhile
                pass
            row = connection.execute(query).one()
        return row

    def take(self, owner: str, interval: float, lease_seconds: float) -> Cursor | None:
        """Take (or renew) the scrub lease for `owner` and return the cursor of the pass to work
        on: the one under way (begun by any worker, resumed from its cursor), else a new one when
        `interval` seconds have passed since the last one started. None: another live worker holds
        the lease, or no pass is due."""
        with self.db.write() as connection:
            row = self._state(connection)
            timestamp = now()
            held = row.lease_owner not in (None, owner) and row.lease_expires is not None
            if held and row.lease_expires > timestamp and not owner_is_dead(row.lease_owner):
                return None
            values: dict[str, Any] = {}
            if row.cursor_kind is None:
                if row.pass_started is not None and timestamp < row.pass_started + timedelta(seconds=interval):
                    if row.lease_owner == owner:
                        values = {"lease_owner": None, "lease_expires": None}
                        connection.execute(update(t.scrub_state).where(t.scrub_state.c.name == STATE).values(values))
                    return None
                values = {"pass_started": timestamp, "cursor_kind": KINDS[0], "cursor_seq": 0}
            values |= {"lease_owner": owner, "lease_expires": timestamp + timedelta(seconds=lease_seconds)}
            connection.execute(update(t.scrub_state).where(t.scrub_state.c.name == STATE).values(values))
            row = connection.execute(select(t.scrub_state).where(t.scrub_state.c.name == STATE)).one()
        return Cursor(row.cursor_kind, int(row.cursor_seq), row.pass_started)

    def due_in(self, interval: float) -> float:
        """Seconds until the next pass is due (0: due, or one is under way)."""
        with self.db.read() as connection:
            row = connection.execute(select(t.scrub_state).where(t.scrub_state.c.name == STATE)).first()
        if row is None or row.pass_started is None or row.cursor_kind is not None:
            return 0.0
        return max(0.0, (row.pass_started + timedelta(seconds=interval) - now()).total_seconds())

    def _mine(self, connection: Connection, owner: str, values: dict[str, Any]) -> bool:
        result = connection.execute(
            update(t.scrub_state)
            .where(t.scrub_state.c.name == STATE, t.scrub_state.c.lease_owner == owner)
            .values(values)
        )
        return bool(result.rowcount)

    def renew(self, owner: str, lease_seconds: float) -> bool:
        """Extend `owner`'s lease; False when another worker took it."""
        with self.db.write() as connection:
            return self._mine(connection, owner, {"lease_expires": now() + timedelta(seconds=lease_seconds)})

    def advance(self, owner: str, cursor: Cursor, lease_seconds: float, *, subjects: int, bytes_read: int) -> bool:
        """Move the pass's cursor to `cursor`, count what was checked to get there and renew the
        lease; False when another worker took the lease (then it has the pass)."""
        c = t.scrub_state.c
        with self.db.write() as connection:
            return self._mine(connection, owner, {
                "cursor_kind": cursor.kind, "cursor_seq": cursor.seq,
                "subjects_total": c.subjects_total + subjects, "bytes_total": c.bytes_total + bytes_read,
                "lease_expires": now() + timedelta(seconds=lease_seconds),
            })  # fmt: skip

    def finish(self, owner: str, cursor: Cursor) -> list[Change] | None:
        """End the pass and free the lease; the open findings no check of this pass saw (their
        read set or reference is no longer stored) are resolved and returned. None when another
        worker took the lease."""
        timestamp = now()
        f = t.scrub_findings.c
        with self.db.write() as connection:
            done = self._mine(connection, owner, {
                "pass_completed": timestamp, "passes": t.scrub_state.c.passes + 1, "cursor_kind": None,
                "cursor_seq": None, "lease_owner": None, "lease_expires": None,
            })  # fmt: skip
            if not done:
                return None
            stale = [f.resolved_at.is_(None), f.checked_at < cursor.started]
            gone = [_change(row) for row in connection.execute(select(t.scrub_findings).where(*stale))]
            connection.execute(update(t.scrub_findings).where(*stale).values(resolved_at=timestamp))
        return gone

    def release(self, owner: str) -> None:
        """Free `owner`'s lease (the worker stops); the pass's cursor stays for the next worker."""
        with self.db.write() as connection:
            self._mine(connection, owner, {"lease_owner": None, "lease_expires": None})

    def record(self, subject: Subject, findings: list[Finding]) -> list[Change]:
        """What one check of `subject` found: each problem is an open finding, every other open
        finding of the subject is resolved. Returns the findings opened (or changed) and resolved."""
        timestamp = now()
        f = t.scrub_findings.c
        found = {finding.file or WHOLE: finding.problem for finding in findings}
        changes: list[Change] = []
        with self.db.write() as connection:
            known = {
                row.file: row for row in connection.execute(
                    select(t.scrub_findings).where(f.subject_kind == subject.kind, f.subject_id == subject.id)
                )
            }  # fmt: skip
            for file, problem in found.items():
                row = known.get(file)
                values: dict[str, Any] = {"problem": problem, "checked_at": timestamp, "store_id": subject.store_id}
                if row is None or row.resolved_at is not None or row.problem != problem:
                    changes.append(Change(subject.kind, subject.id, subject.store_id, file, problem))
                    if row is None or row.resolved_at is not None:
                        values |= {"found_at": timestamp, "resolved_at": None}
                if row is None:
                    connection.execute(insert(t.scrub_findings).values(
                        subject_kind=subject.kind, subject_id=subject.id, file=file, **values))  # fmt: skip
                else:
                    connection.execute(update(t.scrub_findings).where(
                        f.subject_kind == subject.kind, f.subject_id == subject.id, f.file == file).values(values))  # fmt: skip
            fixed = [row for file, row in known.items() if file not in found and row.resolved_at is None]
            for row in fixed:
                connection.execute(update(t.scrub_findings).where(
                    f.subject_kind == subject.kind, f.subject_id == subject.id, f.file == row.file
                ).values(resolved_at=timestamp, checked_at=timestamp))  # fmt: skip
                changes.append(_change(row))
        return changes

    def open_findings(self) -> list[Any]:
        """The open findings, oldest first (rows of scrub_findings)."""
        f = t.scrub_findings.c
        with self.db.read() as connection:
            return list(connection.execute(
                select(t.scrub_findings).where(f.resolved_at.is_(None))
                .order_by(f.found_at, f.subject_kind, f.subject_id, f.file)
            ))  # fmt: skip

    def metrics(self) -> dict[str, Any]:
        """For /metrics: open findings by kind, the totals, when the last pass completed (None:
        never) and whether a pass is under way."""
        f = t.scrub_findings.c
        with self.db.read() as connection:
            counts = dict(connection.execute(
                select(f.subject_kind, func.count()).where(f.resolved_at.is_(None)).group_by(f.subject_kind)
            ).all())  # fmt: skip
            row = connection.execute(select(t.scrub_state).where(t.scrub_state.c.name == STATE)).first()
        return {
            "findings": {kind: int(counts.get(kind, 0)) for kind in KINDS},
            "subjects": int(row.subjects_total) if row else 0,
            "bytes": int(row.bytes_total) if row else 0,
            "passes": int(row.passes) if row else 0,
            "completed": row.pass_completed if row else None,
            "running": bool(row and row.cursor_kind is not None),
        }


def _change(row: Any) -> Change:
    return Change(row.subject_kind, row.subject_id, row.store_id, row.file, row.problem)

"""What a fuzz run found: answers counted by operation and category, the failures (5xx, no
answer), invalid requests that were accepted, and changes to the victim's data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.fuzzing.wire import Answer, Wire


@dataclass
class Report:
    requests: int = 0
    seconds: float = 0.0
    by_operation: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)  # 5xx and no answer
    accepted_invalid: list[str] = field(default_factory=list)  # 2xx to a request that must fail
    data_changes: list[str] = field(default_factory=list)
    covered_cases: int = 0
    total_cases: int = 0
    unframed: int = 0  # 4xx answers without x-amzn-ErrorType (uvicorn refusing malformed HTTP)
    notes: list[str] = field(default_factory=list)

    @property
    def overall(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_operation.values():
            total.update(counts)
        return total

    @property
    def ok(self) -> bool:
        overall = self.overall
        return not overall["5xx"] and not overall["none"] and not self.data_changes

    def render(self) -> str:
        lines = [f"{'operation':40} {'2xx':>6} {'4xx':>6} {'5xx':>6} {'none':>6}"]
        for name in sorted(self.by_operation):
            c = self.by_operation[name]
            lines.append(f"{name:40} {c['2xx']:6} {c['4xx']:6} {c['5xx']:6} {c['none']:6}")
        o = self.overall
        lines.append(f"{'TOTAL':40} {o['2xx']:6} {o['4xx']:6} {o['5xx']:6} {o['none']:6}")
        lines.append("")
        lines.append(f"{'category':40} {'2xx':>6} {'4xx':>6} {'5xx':>6} {'none':>6}")
        for name in sorted(self.by_category):
            c = self.by_category[name]
            lines.append(f"{name:40} {c['2xx']:6} {c['4xx']:6} {c['5xx']:6} {c['none']:6}")
        lines.append("")
        lines.append(f"{self.requests} requests in {self.seconds:.1f} s "
                     f"({self.requests / max(self.seconds, 1e-9):.0f}/s); constraint and type cases covered: "
                     f"{self.covered_cases} of {self.total_cases}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.unframed:
            lines.append(f"{self.unframed} 4xx answers came from uvicorn itself (malformed HTTP: raw non-ASCII "
                         "or control bytes in the request target, odd methods), without x-amzn-ErrorType")
        if self.accepted_invalid:
            lines.append(f"{len(self.accepted_invalid)} invalid requests were accepted (2xx), e.g.:")
            lines += [f"  {line}" for line in self.accepted_invalid[:10]]
        if self.failures:
            lines.append(f"FAILED: {len(self.failures)} answers >= 500 or no answer:")
            lines += [f"  {line}" for line in self.failures[:30]]
        if self.data_changes:
            lines.append("FAILED: the invalid requests changed the victim's data:")
            lines += [f"  {line}" for line in self.data_changes]
        lines.append("OK: no answer >= 500, every request answered, the victim's data unchanged" if self.ok
                     else "FAILED")
        return "\n".join(lines)


def describe(wire: Wire, answer: Answer) -> str:
    body = wire.body[:160]
    return (f"{answer.status or answer.error} {wire.operation} [{wire.category} {wire.case}] {wire.method} "
            f"{wire.target[:200]!r} body={body!r} -> {answer.body[:300]!r} "
            f"(request id {answer.headers.get('x-amzn-requestid')})")

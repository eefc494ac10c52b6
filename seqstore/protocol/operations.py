"""What each operation of the storage API is, declared once beside its handler (seqstore/api/*).

An `Operation` says everything the request path decides by operation: the handler, whether a
read-only key may call it (and whether it runs on the event loop), whether its answer may be
reused until the next commit, the resource it acts on (for the audit log), the real service's
request rate (emulated quotas) and the concurrency class that bounds requests in flight. The
`Registry` of them is what the dispatcher, the response cache, the quotas, the read-only check
and the audit log read."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .model import storage_operations

Handler = Callable[..., Any]

# The start of an omics ARN of this server; `{region}` and `{account}` are filled in by
# `Registry.bind`, the `{label}`s of a template from the request's path.
OMICS_ARN = "arn:aws:omics:{region}:{account}:"


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation, as the request path sees it.

    `resource` is an ARN template over the operation's path labels (`OMICS_ARN +
    "sequenceStore/{id}"`, or `"{resourceArn}"` where the path carries the ARN itself); None
    when the request names no resource (creating or listing stores). `quota_tps` is the real
    service's rate per access key (None: not limited). `concurrency` names a class of
    operations whose requests in flight per access key are bounded (the limits are settings)."""

    name: str
    handler: Handler
    read_only: bool
    cacheable: bool = False
    resource: str | None = None
    quota_tps: float | None = None
    concurrency: str | None = None
    is_async: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.cacheable and not self.read_only:
            raise ValueError(f"{self.name}: only a read can be cacheable")
        if self.quota_tps is not None and self.quota_tps <= 0:
            raise ValueError(f"{self.name}: a quota rate must be positive (None: no quota)")
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.handler))

    def resource_arn(self, labels: dict[str, str]) -> str | None:
        """The ARN of the resource a request with these path labels acts on."""
        return self.resource.format_map(labels) if self.resource is not None else None


class Registry:
    """The operations a server answers, by name: each declared once, each a storage operation
    of botocore's omics model."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._by_name: dict[str, Operation] = {}
        for operation in operations:
            if operation.name in self._by_name:
                raise ValueError(f"{operation.name} is declared twice")
            self._by_name[operation.name] = operation
        unknown = set(self._by_name) - {op.name for op in storage_operations()}
        if unknown:
            raise ValueError(f"operations outside the storage API: {sorted(unknown)}")

    def get(self, name: str) -> Operation | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Operation:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def bind(self, context: Any, *, region: str, account: str) -> Registry:
        """The same operations for one server: each handler given `context` as its first
        argument, each resource template this server's region and account."""

        def bound(op: Operation) -> Operation:
            resource = op.resource
            if resource is not None:
                resource = resource.replace("{region}", region).replace("{account}", account)
            return replace(op, handler=functools.partial(op.handler, context), resource=resource)

        return Registry(bound(op) for op in self)

    def quota_rates(self) -> dict[str, float]:
        """Requests per second per access key, by operation, where the real service has a quota."""
        return {op.name: op.quota_tps for op in self if op.quota_tps is not None}

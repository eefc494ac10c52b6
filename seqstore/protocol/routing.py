"""Route requests to operations by method and URI template, as the model binds them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from botocore.model import OperationModel

from ..errors import UnknownOperationException

# Paths matched recently (most name one store or read set again and again); cleared when full.
MATCH_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    # One entry per path segment: a literal to compare, or None for a label.
    segments: tuple[str | None, ...]
    labels: tuple[str | None, ...]

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if s is not None)


def _compile(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"].split("?", 1)[0]
    segments: list[str | None] = []
    labels: list[str | None] = []
    for part in uri.strip("/").split("/"):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            labels.append(part[1:-1].rstrip("+"))
        else:
            segments.append(part)
            labels.append(None)
    return Route(operation, operation.http["method"].upper(), tuple(segments), tuple(labels))


class Router:
    """Finds the operation for a request. Labels are matched on the raw (still percent-encoded)
    path so that an ARN label with `%2F` in it stays one segment."""

    def __init__(self, operations: tuple[OperationModel, ...]) -> None:
        self._routes: dict[tuple[str, int], list[Route]] = {}
        for operation in operations:
            route = _compile(operation)
            self._routes.setdefault((route.method, len(route.segments)), []).append(route)
        # Literal segments win over labels (`/readset/batch/delete` before `/readset/{id}/...`).
        for routes in self._routes.values():
            routes.sort(key=lambda r: -r.literal_count)
        self._matched: dict[tuple[str, str], tuple[OperationModel, dict[str, str]]] = {}

    def match(self, method: str, raw_path: str) -> tuple[OperationModel, dict[str, str]]:
        """Return the operation and its decoded URI labels, or raise UnknownOperationException."""
        key = (method, raw_path)
        found = self._matched.get(key)
        if found is None:
            found = self._match(method, raw_path)
            if len(self._matched) >= MATCH_CACHE_SIZE:
                self._matched.clear()
            self._matched[key] = found
        return found[0], dict(found[1])

    def _match(self, method: str, raw_path: str) -> tuple[OperationModel, dict[str, str]]:
        parts = raw_path.strip("/").split("/")
        for route in self._routes.get((method, len(parts)), ()):
            labels: dict[str, str] = {}
            for part, literal, label in zip(parts, route.segments, route.labels, strict=True):
                if literal is None:
                    if not part:
                        break
                    labels[label or ""] = unquote(part)
                elif part != literal:
                    break
            else:
                return route.operation, labels
        raise UnknownOperationException(f"No operation of the omics storage API matches {method} {raw_path}")

"""Free disk space: the reserve the server keeps on the filesystems it writes to (the data dir,
with its database, work dir and cache, and the local blob dir), the check made before accepting
bytes, and the answer to a write that found the disk full anyway.

A full disk is answered, not crashed on: ServiceQuotaExceededException (HTTP 402, which boto3
does not retry) with a message saying how much is free and how much is needed."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OutOfDiskSpace

log = logging.getLogger("seqstore.disk")

GIB = 1 << 30
# The default reserve (SEQSTORE_MIN_FREE_BYTES unset): 2 GiB, or 5% of a smaller filesystem.
DEFAULT_RESERVE = 2 * GIB
DEFAULT_FRACTION = 0.05


@dataclass(frozen=True)
class Space:
    """One filesystem the server writes to, as statvfs saw it."""

    path: Path
    roles: tuple[str, ...]  # what of the server's lives there: "data", "blobs"
    free: int  # bytes an unprivileged process may still write
    total: int
    reserve: int  # bytes that must stay free

    @property
    def low(self) -> bool:
        return self.free < self.reserve

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "roles": list(self.roles), "freeBytes": self.free,
                "totalBytes": self.total, "reserveBytes": self.reserve, "low": self.low}


def size_text(count: int) -> str:
    """`count` bytes for people: 12.3 MiB."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class DiskSpace:
    """The filesystems under `paths` (role -> directory; several roles may share one), and the
    reserve kept on each: `min_free` bytes, or by default min(2 GiB, 5% of the filesystem)."""

    def __init__(self, paths: dict[str, Path], min_free: int | None) -> None:
        self.paths = paths
        self.min_free = min_free

    def reserve_of(self, total: int) -> int:
        if self.min_free is not None:
            return max(0, self.min_free)
        return min(DEFAULT_RESERVE, int(total * DEFAULT_FRACTION))

    def spaces(self) -> list[Space]:
        """Each filesystem once (roles on the same device share a row)."""
        found: dict[int, tuple[Path, list[str], os.statvfs_result]] = {}
        for role, path in self.paths.items():
            existing = path
            while not existing.exists() and existing != existing.parent:
                existing = existing.parent
            device = existing.stat().st_dev
            if device in found:
                found[device][1].append(role)
            else:
                found[device] = (path, [role], os.statvfs(existing))
        spaces = []
        for path, roles, stat in found.values():
            total = stat.f_blocks * stat.f_frsize
            spaces.append(Space(path, tuple(roles), stat.f_bavail * stat.f_frsize, total, self.reserve_of(total)))
        return spaces

    def low(self) -> bool:
        return any(space.low for space in self.spaces())

    def check(self, needed: int, what: str) -> None:
        """Raise OutOfDiskSpace unless every filesystem keeps its reserve after `needed` more
        bytes (of `what`, as the message names it)."""
        for space in self.spaces():
            if space.free - needed < space.reserve:
                need = f", and it needs up to {size_text(needed)}" if needed else ""
                raise OutOfDiskSpace(
                    f"The server is out of disk space for {what}: {size_text(space.free)} free on {space.path} "
                    f"({', '.join(space.roles)}), {size_text(space.reserve)} must stay free "
                    f"(SEQSTORE_MIN_FREE_BYTES){need}. Ask the operator to free space; nothing was stored."
                )

    def write_failed(self, exc: OSError, what: str) -> OutOfDiskSpace:
        """The answer to a write of `what` that found the disk full (ENOSPC/EDQUOT), logged in
        one line (no traceback: the cause is known)."""
        free = ", ".join(f"{size_text(space.free)} free on {space.path}" for space in self.spaces())
        log.warning("disk full while writing %s: %s (%s)", what, exc.strerror, free)
        return OutOfDiskSpace(f"{ran_out(what)} ({exc.strerror}; {free}). {NOTHING_STORED}")


NOTHING_STORED = "Ask the operator to free space; nothing of it was stored."


def ran_out(what: str) -> str:
    return f"The server ran out of disk space while storing {what}"


def ran_out_briefly(exc: OSError, what: str) -> str:
    """`write_failed`'s message in the few words a job's statusMessage holds (127 characters)."""
    return f"{ran_out(what)} ({exc.strerror}); nothing of it was stored."

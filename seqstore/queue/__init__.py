"""The durable work queue (rows of the `jobs` and `job_items` tables, claimed with leases) and
the kinds of job it holds. Below both the domain, which queues jobs, and the workers, which run
them; it knows the database and nothing else of seqstore."""

from . import items, kinds
from .jobs import (
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    claim,
    enqueue,
    final_status,
    finish,
    finish_job,
    new_owner,
    owner_is_dead,
    release_dead_leases,
    renew,
    set_job_status,
    set_status,
)
from .wake import WakeSignal

__all__ = [
    "LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "WakeSignal",
    "claim",
    "enqueue",
    "final_status",
    "finish",
    "finish_job",
    "items",
    "kinds",
    "new_owner",
    "owner_is_dead",
    "release_dead_leases",
    "renew",
    "set_job_status",
    "set_status",
]

"""The optional C helpers, loaded one way.

`setup.py` compiles three small extensions where a C compiler (and their headers) is present:

| name   | module                         | what it speeds up                                  |
|--------|--------------------------------|----------------------------------------------------|
| sigv4  | seqstore.protocol._sigv4       | the arithmetic of SigV4 verification (OpenSSL)     |
| fastq  | seqstore.genomics._fastqscan   | the common case of the FASTQ record checks         |
| htslib | seqstore.genomics._htscan      | one decode of a BAM/CRAM for ETag, counts, index   |

One rule for switches: `SEQSTORE_NATIVE_<NAME>=0` (e.g. `SEQSTORE_NATIVE_FASTQ=0`) turns one off,
`SEQSTORE_NATIVE=0` all of them; the switch is read each time a helper is asked for, so a caller
that asks per piece of work (ingestion) follows it at once and one that asks when it is built (the
SigV4 verifier) follows it from its next start. Without a helper every caller takes its Python
path, which computes the same. `log_status()` writes the one line that says which are active.

This is a base module: it imports nothing of seqstore (an init hook is named by its dotted path).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from dataclasses import dataclass
from types import ModuleType

log = logging.getLogger("seqstore.native")


@dataclass(frozen=True)
class Helper:
    name: str
    module: str
    purpose: str
    # "package.module:function" called with the imported module once; it returns None when the
    # helper is usable, else the reason it is not (e.g. the library it needs is missing).
    init: str | None = None

    @property
    def switch(self) -> str:
        return f"SEQSTORE_NATIVE_{self.name.upper()}"


HELPERS = {
    helper.name: helper
    for helper in (
        Helper("sigv4", "seqstore.protocol._sigv4", "SigV4 signatures"),
        Helper("fastq", "seqstore.genomics._fastqscan", "FASTQ record checks"),
        Helper(
            "htslib",
            "seqstore.genomics._htscan",
            "BAM/CRAM in one decode",
            init="seqstore.genomics.native:load_library",
        ),
    )
}
ALL_SWITCH = "SEQSTORE_NATIVE"


def switched_off(name: str) -> bool:
    """True when the environment turns helper `name` off (its own switch, else the one for all)."""
    value = os.environ.get(HELPERS[name].switch)
    if value is None:
        value = os.environ.get(ALL_SWITCH, "1")
    return value.strip().lower() in ("0", "false", "no", "off")


@functools.cache
def _load(name: str) -> tuple[ModuleType | None, str]:
    """The helper's module, or None and why not (looked at once per process)."""
    helper = HELPERS[name]
    try:
        module = importlib.import_module(helper.module)
    except ImportError:
        return None, "not built (no C compiler or headers at install time)"
    if helper.init is not None:
        where, _, function = helper.init.partition(":")
        reason = getattr(importlib.import_module(where), function)(module)
        if reason is not None:
            log.warning("the %s helper is built but cannot be used: %s", helper.purpose, reason)
            return None, f"cannot load: {reason}"
    return module, "on"


def helper(name: str) -> ModuleType | None:
    """The loaded C helper `name`, or None when it is switched off, not built or not loadable."""
    if switched_off(name):
        return None
    return _load(name)[0]


def status() -> dict[str, str]:
    """Each helper's state: "on", "off (SEQSTORE_NATIVE_X=0)", "not built (...)" or "cannot load: ..."."""
    states = {}
    for name, entry in HELPERS.items():
        if switched_off(name):
            states[name] = f"off ({entry.switch}=0)"
        else:
            states[name] = _load(name)[1]
    return states


def log_status() -> None:
    """One log line saying which helpers are active (at the start of a server or worker)."""
    log.info("C helpers: %s", "; ".join(f"{name} {state}" for name, state in status().items()))

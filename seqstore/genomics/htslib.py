"""Running samtools (as bundled in pysam) in a child process, and turning its errors into
sentences.

Why a child process rather than calling pysam.samtools in this one: samtools keeps global
state (getopt, its stdout/stderr handles), so two ingestions in two threads of the server could
corrupt each other; htslib also prints to the process's stderr and, for CRAM, may try to download
references. A child costs ~0.1 s to start and lets samtools run on its own core.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import IO

# The child runs one samtools command through pysam; on failure it prints samtools' own
# message (not a Python traceback) and exits 1.
_CHILD = """
import sys, pysam
try:
    getattr(pysam, sys.argv[1])(*sys.argv[2:], catch_stdout=False)
except pysam.SamtoolsError as error:
    sys.stderr.write("\\n" + str(error.value) + "\\n")
    sys.exit(1)
"""


def python_child_environment() -> dict[str, str]:
    """Returns this process's environment with seqstore importable in a child Python, however
    it was found here (an install, or a source tree on sys.path)."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def how_it_ended(returncode: int) -> str:
    """How a child process that failed ended, for a message: `signal 9`, `exit status 1`."""
    return f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"


def child_environment(work_dir: Path) -> dict[str, str]:
    """Returns the environment for htslib children: seqstore importable, no reference
    downloads, no shared cache."""
    env = python_child_environment()
    # Unset or empty REF_PATH makes htslib fetch CRAM references from the EBI over the network;
    # a path that does not exist makes a missing reference a plain error instead.
    env["REF_PATH"] = str(Path(work_dir) / "no-reference-downloads" / "%s")
    env.pop("REF_CACHE", None)
    return env


def start_samtools(
    command: str, args: list[str], work_dir: Path, log_path: Path, stdout: int | IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Starts ``samtools <command> <args>`` in a child; its stderr goes to ``log_path``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _CHILD, command, *args],
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=child_environment(work_dir),
        )


def run_samtools(command: str, args: list[str], work_dir: Path, log_path: Path) -> tuple[int, str]:
    """Runs ``samtools <command> <args>`` to completion; returns (exit status, stderr text)."""
    process = start_samtools(command, args, work_dir, log_path)
    status = process.wait()
    return status, read_log(log_path)


def read_log(log_path: Path, limit: int = 16384) -> str:
    """Returns the last ``limit`` bytes of a child's stderr log, decoded leniently."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - limit))
            return log.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


_LOG_PREFIX = re.compile(r"^\[[EW]::[A-Za-z0-9_]+\]\s*")
_NOISE = (
    "See https://www.htslib.org/doc/reference_seqs.html",
    "samtools returned with error",
    "error closing",
)


def explain(log: str) -> str:
    """Returns the most informative htslib/samtools error in ``log`` as one short sentence."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [_LOG_PREFIX.sub("", line) for line in lines if line.startswith("[E::")]
    others = [
        line.split("stderr=", 1)[-1]
        for line in lines
        if not line.startswith(("[E::", "[W::")) and not any(noise in line for noise in _NOISE)
    ]
    candidates = errors + others
    return candidates[0] if candidates else "htslib reported an error"


# Messages keyed by what htslib writes; checked in order, first match wins.
KNOWN_PROBLEMS: list[tuple[tuple[str, ...], str]] = [
    (
        ("MD5 checksum reference mismatch", "MD5 mismatch"),
        "the reference does not match the one this CRAM was written with (sequence MD5 differs)",
    ),
    (
        ("Unsorted positions", "NO_COOR reads not in a single block", "not sorted", "unsorted"),
        "it is not coordinate-sorted, so no index can be built; sort it with "
        "`samtools sort -o sorted.bam input.bam` and upload the sorted file",
    ),
    (
        ("Unable to fetch reference", "Failed to populate reference", "not present"),
        "the reference does not contain a sequence this CRAM needs",
    ),
    (
        (
            "EOF marker is absent",
            "truncated",
            "Failed to read BGZF block",
            "Read block operation failed",
            "Incomplete",
            "unexpected end",
        ),
        "the file is truncated or corrupt (htslib could not read it to the end)",
    ),
    (
        (
            "CRC32 checksum mismatch",
            "CRC32 failure",
            "Invalid BGZF header",
            "inflate failed",
            "bgzf_uncompress",
            "Failed to decode",
            "Failure to decode",
        ),
        "the file is corrupt (htslib: {detail})",
    ),
]


def describe_failure(log: str) -> str:
    """Returns a readable reason for a failed samtools run, from its stderr ``log``."""
    detail = explain(log)
    for needles, message in KNOWN_PROBLEMS:
        if any(needle in log for needle in needles):
            return message.format(detail=detail)
    return f"htslib could not read it ({detail})"

"""The log of `seqstore serve` and `seqstore worker`: one logging configuration for seqstore's
loggers and uvicorn's, in either format of SEQSTORE_LOG_FORMAT (docs/operations.md, "Logs").

`text` is a line per record, `time level logger message` (a traceback below its line); `json` is
one JSON object per line: `time` (RFC 3339, UTC), `level`, `logger`, `message`, `exc_info` (the
traceback's text) when there is one, and the fields a record was given with `extra=` (such as
`requestId` and `operation` on the request lines)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The attributes every LogRecord has; any other is a field given with `extra=`. uvicorn gives
# its lines a `color_message` (the same text with terminal colours): not a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message",
}


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_") and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configuration(log_format: str, level: str, audit_file: Path | None = None) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a process: records of every logger (uvicorn's too) at
    `level` and above on stderr in `log_format`; the audit log's lines in `audit_file`, if given.
    uvicorn applies it itself (its `log_config`), also in each API process of `--workers N`."""
    handlers: dict[str, Any] = {
        "stderr": {"class": "logging.StreamHandler", "formatter": log_format, "stream": "ext://sys.stderr"},
    }
    loggers: dict[str, Any] = {
        "alembic": {"level": "WARNING"},
        # uvicorn's own loggers go to the handler above (uvicorn sets their levels).
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.error": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": [], "propagate": True},
    }
    if audit_file is not None:
        handlers["audit"] = {"class": "logging.FileHandler", "filename": str(audit_file), "formatter": "bare"}
        loggers["seqstore.audit"] = {"handlers": ["audit"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,  # the modules' loggers exist already
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "seqstore.logs.JsonFormatter"},
            "bare": {"format": "%(message)s"},  # the audit log's lines are JSON already
        },
        "handlers": handlers,
        "loggers": loggers,
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


def configure(log_format: str, level: str, audit_file: Path | None = None) -> None:
    """Apply `configuration(...)` to this process. In `json`, warnings and
    uncaught exceptions (of any thread) become records too, so that every line is JSON."""
    import logging.config

    logging.config.dictConfig(configuration(log_format, level, audit_file))
    if log_format == "json":
        logging.captureWarnings(True)
        sys.excepthook = _log_uncaught
        threading.excepthook = lambda hook: _log_uncaught(hook.exc_type, hook.exc_value, hook.exc_traceback)


def _log_uncaught(
    kind: type[BaseException], value: BaseException | None, traceback: TracebackType | None
) -> None:
    if value is None or issubclass(kind, KeyboardInterrupt):
        return
    logging.getLogger("seqstore").critical("uncaught %s", kind.__name__, exc_info=(kind, value, traceback))

"""Settings: one table of every SEQSTORE_* setting, and what comes from it.

Each field of `Settings` below is one row of the table, declared once with `setting(...)`: the
field name, its type (the annotation: str, int, float, bool, Path, or a str with `choices`), the
environment variable, the default (written as it would be in the variable), a help line, and the
command-line flag with the commands that take it. From those rows come the values of `Settings()`
(parsed from the environment), `Settings.to_environment()`, the options of the `seqstore`
command (seqstore/cli.py) and the configuration table of README.md (`markdown_table()`; rewrite
the README's copy with `python -m seqstore.config --update-readme`).

A value is parsed the same way from a variable and from a flag: a boolean is 1/0, true/false,
yes/no or on/off (any case); an empty variable means the default, except for text settings; a
bad value is a `SettingError` naming the variable or flag and what it expects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

PART_SIZE = 104_857_600  # the real service's part size for uploads and downloads (100 MiB)

SERVE = ("serve",)
JOBS = ("serve", "worker")  # the commands that run job threads
ALL = ("serve", "worker", "keys", "verify", "backup", "restore")  # every command of cli.py
STORED = ("serve", "worker", "verify", "backup")  # the commands that read or write the stored bytes

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (1/0, true/false, yes/no or on/off)",
}


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the variable or flag and what it expects."""


@dataclass
class Setting:
    """One row of the table. `name` and `kind` come from the `Settings` field it declares."""

    env: str
    default: str | Callable[[], str]  # as written in the variable; "" = unset
    help: str
    flag: str | None = None
    commands: tuple[str, ...] = ()  # the commands that take `flag`
    choices: tuple[str, ...] = ()
    shown: str | None = None  # the default as --help and the README describe it, if not `default`
    minimum: float | None = None  # a number's least value (`above`: it must be greater)
    above: bool = False
    name: str = ""
    kind: str = "str"  # str, int, float, bool, path or choice

    def value(self, text: str | None, source: str | None = None) -> Any:
        """`text`, from `source` (the variable unless given, e.g. the flag), as this setting's
        value; None, or blank for anything but text, is the default."""
        if text is None or (self.kind != "str" and not text.strip()):
            text = self.default() if callable(self.default) else self.default
            source = f"the default of {self.env}"
            if self.kind != "str" and not text:
                return None  # an optional path
        source = source or self.env
        text = text if self.kind == "str" else text.strip()
        try:
            if self.kind in ("int", "float"):
                number = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise SettingError(f"{source} must be {_EXPECTED[self.kind]} (got {text!r})") from None
        if self.kind in ("int", "float"):
            return self._bounded(number, text, source)
        if self.kind == "bool":
            if text.lower() in TRUE + FALSE:
                return text.lower() in TRUE
            raise SettingError(f"{source} must be {_EXPECTED['bool']} (got {text!r})")
        if self.kind == "choice" and text not in self.choices:
            raise SettingError(f"{source} must be one of {', '.join(self.choices)} (got {text!r})")
        return Path(text) if self.kind == "path" else text

    def _bounded(self, number: Any, text: str, source: str) -> Any:
        low = self.minimum  # NaN compares false: below any bound
        if low is not None and not (number > low if self.above else number >= low):
            bound = f"greater than {low:g}" if self.above else f"at least {low:g}"
            raise SettingError(f"{source} must be {_EXPECTED[self.kind]}, {bound} (got {text!r})")
        return number

    def from_environment(self) -> Any:
        return self.value(os.environ.get(self.env))

    def text(self, value: Any) -> str:
        """`value` as the variable's text that gives it back."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Path):
            return str(value.resolve())
        return str(value)

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.kind == "bool":
            return "on" if self.value(None) else "off"
        text = self.default() if callable(self.default) else self.default
        return f"`{text}`" if text else "unset"


def setting(env: str, default: str | Callable[[], str], help: str, **more: Any) -> Any:
    """A `Settings` field read from `env` (see `Setting` for `more`)."""
    row = Setting(env, default, help, **more)
    return field(default_factory=row.from_environment, metadata={"setting": row})


@dataclass
class Settings:
    data_dir: Path = setting(
        "SEQSTORE_DATA_DIR", "./seqstore-data", "where the SQLite database, the master key and the blobs live",
        flag="--data-dir", commands=ALL,
    )
    database_url: str = setting(
        "SEQSTORE_DATABASE_URL", "",
        "SQLAlchemy URL of the metadata database, e.g. `postgresql+psycopg://user:password@host/db`",
        flag="--database-url", commands=ALL, shown="SQLite file `DATA_DIR/seqstore.db`",
    )
    host: str = setting("SEQSTORE_HOST", "127.0.0.1", "address to bind", flag="--host", commands=SERVE)
    port: int = setting("SEQSTORE_PORT", "9740", "port to listen on", flag="--port", commands=SERVE)
    tls_cert: Path | None = setting(
        "SEQSTORE_TLS_CERT", "", "serve HTTPS with this PEM certificate (chain); needs `--tls-key`",
        flag="--tls-cert", commands=SERVE, shown="unset: plain HTTP",
    )
    tls_key: Path | None = setting(
        "SEQSTORE_TLS_KEY", "", "the PEM private key of `--tls-cert`", flag="--tls-key", commands=SERVE,
        shown="unset",
    )
    forwarded_allow_ips: str = setting(
        "SEQSTORE_FORWARDED_ALLOW_IPS", "",
        "addresses of reverse proxies whose X-Forwarded-For/-Proto headers are trusted (uvicorn's "
        "`forwarded_allow_ips`; `*` trusts any)",
        flag="--forwarded-allow-ips", commands=SERVE, shown="unset: none",
    )
    api_processes: int = setting(
        "SEQSTORE_API_PROCESSES", "1", "API processes `seqstore serve` runs; each also runs `--concurrency` job threads",
        flag="--workers", commands=SERVE,
    )
    concurrency: int = setting(
        "SEQSTORE_CONCURRENCY", lambda: str(os.cpu_count() or 2),
        "job worker threads in a process (imports, exports, activations, ingestion); 0 = none, "
        "as with `seqstore serve --no-worker`",
        flag="--concurrency", commands=JOBS, shown="the number of cores",
    )
    streaming_uploads: int = setting(
        "SEQSTORE_STREAMING_UPLOADS", "4",
        "FASTQ uploads a server process validates, counts and hashes while their parts arrive, at a time "
        "(docs/streaming.md); more are ingested at Complete, as with 0",
        flag="--streaming-uploads", commands=SERVE,
    )
    auth: str = setting(
        "SEQSTORE_AUTH", "sigv4",
        "`sigv4` verifies every request's signature; `none` does not, and is refused unless the server "
        "binds to a loopback address",
        flag="--auth", commands=SERVE, choices=("sigv4", "none"),
    )
    blob_url: str = setting(
        "SEQSTORE_BLOB_URL", "",
        "`s3://bucket/prefix` keeps read set and reference bytes in an S3-compatible bucket (endpoint "
        "`SEQSTORE_S3_ENDPOINT_URL`, credentials from the standard AWS chain)",
        flag="--blob-url", commands=STORED, shown="unset: bytes in `DATA_DIR/blobs`",
    )
    buckets_dir: Path | None = setting(
        "SEQSTORE_BUCKETS_DIR", "",
        "local directory standing in for S3 in import and export URIs: `s3://BUCKET/KEY` is `DIR/BUCKET/KEY`",
        flag="--buckets-dir", commands=JOBS,
        shown="`DATA_DIR/buckets`, unless `SEQSTORE_S3_ENDPOINT_URL` is set",
    )
    s3_endpoint_url: str = setting(
        "SEQSTORE_S3_ENDPOINT_URL", "",
        "the S3-compatible endpoint (AWS S3, MinIO, Ceph) of the blob bucket, and of import and export "
        "`s3://` URIs when no buckets dir is given",
        shown="unset: AWS S3 for the blob bucket; import/export `s3://` URIs use the buckets dir",
    )
    access_log_flush_seconds: float = setting(
        "SEQSTORE_ACCESS_LOG_FLUSH_SECONDS", "60",
        "how often the S3 plane writes the access log records of stores with an `accessLogLocation` "
        "(sooner when 1000 are waiting, and at shutdown; docs/s3.md, \"Access logs\")",
    )
    archive_storage_class: str = setting(
        "SEQSTORE_ARCHIVE_STORAGE_CLASS", "",
        "the storage class archived read sets' objects move to on an S3 blob store, one readable "
        "without a restore request (e.g. `STANDARD_IA`, `GLACIER_IR`)",
        shown="unset: archived objects keep their storage class",
    )
    blob_bucket: str = setting(
        "SEQSTORE_BLOB_BUCKET", "seqstore",
        "unused since `s3Uri` names the store's S3 access point alias (docs/s3.md); still accepted",
    )
    job_lease_seconds: float = setting(
        "SEQSTORE_JOB_LEASE_SECONDS", "60",
        "how long a worker's claim on a job lasts without renewal (renewed every third of it): a dead "
        "worker's jobs wait this long before another worker resumes them",
    )
    archive_after_seconds: float = setting(
        "SEQSTORE_ARCHIVE_AFTER_SECONDS", str(30 * 24 * 3600),
        "read sets not read for this long are archived (the real service: 30 days); 0 = never",
        shown="`2592000` (30 days)",
    )
    region: str = setting("SEQSTORE_REGION", "us-east-1", "the region of every ARN and signature")
    account_id: str = setting("SEQSTORE_ACCOUNT_ID", "123456789012", "the account ID of every ARN")
    access_key_id: str = setting(
        "SEQSTORE_ACCESS_KEY_ID", "", "one fixed signing key, for simple setups (other keys live in the database)"
    )
    secret_access_key: str = setting("SEQSTORE_SECRET_ACCESS_KEY", "", "the secret of `SEQSTORE_ACCESS_KEY_ID`")
    emulate_quotas: bool = setting(
        "SEQSTORE_EMULATE_QUOTAS", "false",
        "answer ThrottlingException beyond the real service's per-operation request rates",
        flag="--emulate-quotas", commands=SERVE,
    )
    quota_overrides: str = setting(
        "SEQSTORE_QUOTAS", "", "overrides of those rates, like `GetReadSet=50,ListReadSets=0` (0 lifts a limit)"
    )
    max_concurrent_parts: int = setting(
        "SEQSTORE_MAX_CONCURRENT_PARTS", "32",
        "part uploads one access key may have in flight at once in an API process; 0 = no bound",
    )
    response_cache: bool = setting(
        "SEQSTORE_RESPONSE_CACHE", "true",
        "on SQLite, answers of store, metadata and read-set/reference list reads are reused until the next "
        "commit to the database (checked on every request, from any process; `seqstore/protocol/cache.py`)",
    )
    max_reference_stores: int = setting(
        "SEQSTORE_MAX_REFERENCE_STORES", "1", "reference stores per account and region (the real service allows one)"
    )
    audit_log: Path | None = setting(
        "SEQSTORE_AUDIT_LOG", "", "write the audit log (one JSON line per request) to this file",
        flag="--audit-log", commands=JOBS, shown="unset: the log (logger `seqstore.audit`)",
    )
    log_format: str = setting(
        "SEQSTORE_LOG_FORMAT", "text",
        "the log on stderr (uvicorn's lines too): `text`, a line per record; `json`, one JSON object per "
        "line with `time`, `level`, `logger`, `message`, `exc_info` and the record's fields (docs/operations.md)",
        flag="--log-format", commands=JOBS, choices=("text", "json"),
    )
    ephemeral: bool = setting(
        "SEQSTORE_EPHEMERAL", "false",
        "serve from a new temporary data dir, removed on exit; without `SEQSTORE_ACCESS_KEY_ID` on a "
        "loopback address, signatures are not checked",
        flag="--ephemeral", commands=SERVE,
    )
    testing: bool = setting(
        "SEQSTORE_TESTING", "false",
        "testing mode (`seqstore.testing`, docs/testing.md): loopback-only control routes under "
        "`/_seqstore/testing/` reset all data, inject faults and record calls; never for real data",
        flag="--testing", commands=SERVE,
    )
    testing_token: str = setting(
        "SEQSTORE_TESTING_TOKEN", "",
        "the token the testing control routes require (header `x-seqstore-testing-token`)",
        shown="unset: a random token, printed at start",
    )
    ingest: str = setting(
        "SEQSTORE_INGEST", "async",
        "`sync`: CompleteMultipartReadSetUpload and the Start*ImportJob calls answer once their job has "
        "ended (for tests); `async` answers at once, as AWS does",
        flag="--ingest", commands=SERVE, choices=("async", "sync"),
    )
    min_free_bytes: int | None = setting(
        "SEQSTORE_MIN_FREE_BYTES", "",
        "free space kept on the filesystems of the data dir and the local blob dir: below it, part uploads, "
        "completions and imports are refused with ServiceQuotaExceededException and `/_seqstore/health` says "
        "`degraded`; 0 = no reserve (a full disk is still answered, not crashed on)",
        flag="--min-free-bytes", commands=JOBS, shown="2 GiB or 5% of the filesystem, whichever is smaller",
    )
    scrub_interval: float = setting(
        "SEQSTORE_SCRUB_INTERVAL", "0",
        "seconds from the start of one background scrub pass to the next: job workers re-read every stored "
        "file and record what differs from the database (docs/operations.md, \"Background scrub\"); 0 = off",
        minimum=0, shown="`0` (off)",
    )
    scrub_rate: float = setting(
        "SEQSTORE_SCRUB_RATE", "50", "the background scrub's read rate limit, in MB (10^6 bytes) a second",
        minimum=0, above=True,
    )
    part_size: int = PART_SIZE  # not configurable: the real service's

    def resolved_database_url(self) -> str:
        """The database URL: SEQSTORE_DATABASE_URL, else an SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'seqstore.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def resolved_buckets_dir(self) -> Path:
        return self.buckets_dir or self.data_dir / "buckets"

    def to_environment(self) -> dict[str, str]:
        """These settings as the SEQSTORE_* variables that give them back (for child processes)."""
        env = {row.env: row.text(getattr(self, row.name)) for row in SETTINGS if getattr(self, row.name) is not None}
        env["SEQSTORE_DATABASE_URL"] = self.resolved_database_url()
        return env


def _rows() -> tuple[Setting, ...]:
    """The table: the rows of the `Settings` fields, named and typed by them."""
    kinds = {
        str: "str", int: "int", int | None: "int", float: "float", bool: "bool", Path: "path", Path | None: "path",
    }
    hints = get_type_hints(Settings)
    rows = []
    for f in fields(Settings):
        if "setting" in f.metadata:
            row = f.metadata["setting"]
            row.name, row.kind = f.name, "choice" if row.choices else kinds[hints[f.name]]
            rows.append(row)
    return tuple(rows)


SETTINGS = _rows()

# Variables read where they are used (and documented here): the modules read them at import or
# at start, before or without a `Settings`.
ELSEWHERE = (
    Setting(
        "SEQSTORE_MASTER_KEY", "",
        "encrypts stored access-key secrets (`seqstore/store/access_keys.py`); set the same value in every "
        "API process of a deployment (a process with another refuses to start)",
        shown="unset: `DATA_DIR/master.key` (mode 0600)",
    ),
    Setting(
        "SEQSTORE_NATIVE", "1",
        "`0` turns every C helper off (`seqstore/native.py`); a helper's own switch below wins over it; "
        "`seqstore serve` and `seqstore worker` log which helpers are active",
        shown="on",
    ),
    Setting(
        "SEQSTORE_NATIVE_HTSLIB", "1",
        "where the C helper was built, a BAM, uBAM or CRAM is decoded once for its ETag, counts and index "
        "(`seqstore/genomics/native.py`); `0` uses samtools children instead (a BAM takes about twice as long)",
        shown="on",
    ),
    Setting(
        "SEQSTORE_NATIVE_FASTQ", "1",
        "where the C helper was built, plain four-line FASTQ records are checked in C "
        "(`seqstore/genomics/_fastqscan.c`), anything else by the Python checks that name problems; `0` "
        "checks everything in Python (about 1.5x as long)",
        shown="on",
    ),
    Setting(
        "SEQSTORE_NATIVE_SIGV4", "1",
        "where the C helper was built, request signatures are computed in C (`seqstore/protocol/_sigv4.c`); "
        "`0` computes them in Python",
        shown="on",
    ),
)

README_START = "<!-- settings table: generated by `python -m seqstore.config --update-readme` -->"
README_END = "<!-- end of settings table -->"


def markdown_table() -> str:
    """The README's configuration table, one row per setting."""
    lines = ["| option | environment | default | meaning |", "|---|---|---|---|"]
    for row in SETTINGS + ELSEWHERE:
        option = f"`{row.flag}` ({', '.join(row.commands)})" if row.flag else ""
        cells = (option, f"`{row.env}`", row.shown_default(), row.help)
        lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """`readme` with the table between its markers replaced by `markdown_table()`."""
    before, start, rest = readme.partition(README_START)
    _, end, after = rest.partition(README_END)
    if not start or not end:
        raise ValueError(f"the README has no {README_START!r} ... {README_END!r} markers")
    return f"{before}{start}\n{markdown_table()}{end}{after}"


def main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        print(markdown_table(), end="")
    elif argv[:1] == ["--update-readme"] and len(argv) <= 2:
        path = Path(argv[1] if len(argv) == 2 else "README.md")
        path.write_text(with_table(path.read_text()))
    else:
        print("usage: python -m seqstore.config --markdown | --update-readme [README.md]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The settings table (seqstore/config.py) and what comes from it: `Settings()` from the
environment, `to_environment()`, the `seqstore` options (before or after the command) and the
README's configuration table; a bad value is one line naming the setting, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from seqstore import cli, config
from seqstore.config import ALL, ELSEWHERE, SETTINGS, SettingError, Settings
from tests.helpers.commands import seqstore_cli
from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port

ROWS = {row.name: row for row in SETTINGS}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("SEQSTORE_"):
            monkeypatch.delenv(name)
    return monkeypatch


# --- the table


def test_the_readme_table_is_the_one_the_settings_table_renders() -> None:
    readme = (ROOT / "README.md").read_text()
    assert config.with_table(readme) == readme, (
        "README.md's configuration table differs from the settings table in seqstore/config.py: "
        "rewrite it with `python -m seqstore.config --update-readme`"
    )


def test_every_setting_is_declared_once_with_a_variable_a_help_line_and_a_default_that_parses(
        clean_environment: pytest.MonkeyPatch) -> None:
    variables = [row.env for row in SETTINGS + ELSEWHERE]
    assert len(variables) == len(set(variables))
    flags = [row.flag for row in SETTINGS if row.flag]
    assert len(flags) == len(set(flags))
    defaults = Settings()
    for row in SETTINGS:
        assert row.env.startswith("SEQSTORE_") and row.help and "|" not in row.help
        assert row.kind in ("str", "int", "float", "bool", "path", "choice")
        assert set(row.commands) <= set(ALL) and bool(row.flag) == bool(row.commands)
        assert getattr(defaults, row.name) == row.value(None)
    assert config.markdown_table().count("\n") == 2 + len(SETTINGS) + len(ELSEWHERE)


def test_the_defaults_are_those_of_before(clean_environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert (settings.data_dir, settings.host, settings.port, settings.database_url) == (
        Path("./seqstore-data"), "127.0.0.1", 9740, "")
    assert (settings.region, settings.account_id, settings.auth, settings.blob_bucket) == (
        "us-east-1", "123456789012", "sigv4", "seqstore")
    assert settings.concurrency == (os.cpu_count() or 2) and settings.api_processes == 1
    assert (settings.emulate_quotas, settings.response_cache) == (False, True)
    assert (settings.max_concurrent_parts, settings.max_reference_stores) == (32, 1)
    assert (settings.job_lease_seconds, settings.archive_after_seconds) == (60.0, 30 * 24 * 3600.0)
    assert settings.buckets_dir is None and settings.audit_log is None and settings.part_size == 104_857_600
    assert (settings.scrub_interval, settings.scrub_rate) == (0.0, 50.0)  # the background scrub is off
    assert settings.resolved_database_url() == f"sqlite:///{Path('seqstore-data/seqstore.db').resolve()}"


# --- Settings from the environment


@pytest.mark.parametrize("name", [row.name for row in SETTINGS if row.kind == "bool"])
def test_every_boolean_takes_the_same_words_in_any_case(clean_environment: pytest.MonkeyPatch, name: str) -> None:
    for word in config.TRUE + config.FALSE:
        for text in (word, word.upper(), word.capitalize(), f" {word} "):
            clean_environment.setenv(ROWS[name].env, text)
            assert getattr(Settings(), name) is (word in config.TRUE), text
    clean_environment.setenv(ROWS[name].env, "maybe")
    with pytest.raises(SettingError, match=f"^{ROWS[name].env} must be a boolean .*got 'maybe'"):
        Settings()


@pytest.mark.parametrize(("variable", "text", "message"), [
    ("SEQSTORE_CONCURRENCY", "abc", "SEQSTORE_CONCURRENCY must be an integer (got 'abc')"),
    ("SEQSTORE_PORT", "80.5", "SEQSTORE_PORT must be an integer (got '80.5')"),
    ("SEQSTORE_JOB_LEASE_SECONDS", "soon", "SEQSTORE_JOB_LEASE_SECONDS must be a number (got 'soon')"),
    ("SEQSTORE_AUTH", "basic", "SEQSTORE_AUTH must be one of sigv4, none (got 'basic')"),
    ("SEQSTORE_SCRUB_INTERVAL", "-1", "SEQSTORE_SCRUB_INTERVAL must be a number, at least 0 (got '-1')"),
    ("SEQSTORE_SCRUB_INTERVAL", "nan", "SEQSTORE_SCRUB_INTERVAL must be a number, at least 0 (got 'nan')"),
    ("SEQSTORE_SCRUB_INTERVAL", "daily", "SEQSTORE_SCRUB_INTERVAL must be a number (got 'daily')"),
    ("SEQSTORE_SCRUB_RATE", "0", "SEQSTORE_SCRUB_RATE must be a number, greater than 0 (got '0')"),
    ("SEQSTORE_SCRUB_RATE", "-5", "SEQSTORE_SCRUB_RATE must be a number, greater than 0 (got '-5')"),
])
def test_a_bad_value_names_the_variable_and_what_it_expects(
        clean_environment: pytest.MonkeyPatch, variable: str, text: str, message: str) -> None:
    clean_environment.setenv(variable, text)
    with pytest.raises(SettingError) as raised:
        Settings()
    assert str(raised.value) == message


def test_an_empty_variable_is_the_default_except_for_text(clean_environment: pytest.MonkeyPatch) -> None:
    for row in SETTINGS:
        clean_environment.setenv(row.env, "")
    settings = Settings()
    for row in SETTINGS:
        assert getattr(settings, row.name) == ("" if row.kind == "str" else row.value(None)), row.env


def test_settings_given_to_the_constructor_do_not_read_their_variables(clean_environment: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    clean_environment.setenv("SEQSTORE_PORT", "not a port")
    clean_environment.setenv("SEQSTORE_REGION", "eu-west-1")
    settings = Settings(data_dir=tmp_path, database_url="sqlite:///x.db", port=1)
    assert (settings.data_dir, settings.database_url, settings.port, settings.region) == (
        tmp_path, "sqlite:///x.db", 1, "eu-west-1")


def test_to_environment_gives_the_same_settings_back(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", host="0.0.0.0", port=1234, api_processes=3, concurrency=0, auth="none",
        blob_url="s3://b/p", buckets_dir=tmp_path / "buckets", s3_endpoint_url="http://127.0.0.1:1",
        archive_storage_class="STANDARD_IA", blob_bucket="lab", job_lease_seconds=2.5,
        archive_after_seconds=0.0, region="eu-west-1", account_id="000000000000", access_key_id="AK",
        secret_access_key="SK", emulate_quotas=True, quota_overrides="GetReadSet=5", max_concurrent_parts=0,
        response_cache=False, max_reference_stores=4, audit_log=tmp_path / "audit.log",
    )
    environment = settings.to_environment()
    assert environment["SEQSTORE_DATABASE_URL"] == settings.resolved_database_url()
    for name, value in environment.items():
        clean_environment.setenv(name, value)
    back = Settings()
    for row in SETTINGS:
        assert getattr(back, row.name) == (
            settings.resolved_database_url() if row.name == "database_url" else getattr(settings, row.name)
        ), row.env
    clean_environment.delenv("SEQSTORE_BUCKETS_DIR")
    assert "SEQSTORE_BUCKETS_DIR" not in Settings(data_dir=tmp_path).to_environment()  # unset stays unset


# --- the options of the seqstore command


def parsed(*argv: str) -> Settings:
    return cli._settings(cli.build_parser().parse_args(argv))


def example(row_name: str) -> tuple[str, object]:
    """A text for the option of `row_name` and the value it stands for."""
    row = ROWS[row_name]
    text = {"int": "7", "float": "7.5", "bool": "", "path": "/some/dir", "choice": row.choices[-1:]}.get(
        row.kind, "text-value")
    text = text[0] if isinstance(text, tuple) else text
    return text, row.value(text or "true")


# What each command needs after it to parse (a subcommand, a positional argument).
COMMAND_WORDS = {"keys": ["list"], "backup": ["DEST"], "restore": ["SRC"]}


@pytest.mark.parametrize(("name", "command"), [(row.name, c) for row in SETTINGS for c in row.commands])
def test_each_option_is_taken_before_and_after_each_command_that_takes_it(
        clean_environment: pytest.MonkeyPatch, name: str, command: str) -> None:
    row = ROWS[name]
    assert row.flag
    text, value = example(name)
    option = (row.flag, text) if text else (row.flag,)
    words = [command, *COMMAND_WORDS.get(command, [])]
    assert getattr(parsed(*words, *option), name) == value
    assert getattr(parsed(*option, *words), name) == value
    if command == "keys":
        assert getattr(parsed("keys", *option, "list"), name) == value


@pytest.mark.parametrize(("name", "command"), [
    (row.name, c) for row in SETTINGS if row.flag for c in ALL if c not in row.commands])
def test_an_option_before_a_command_that_does_not_take_it_is_refused(
        clean_environment: pytest.MonkeyPatch, name: str, command: str) -> None:
    row = ROWS[name]
    text, _ = example(name)
    words = [command, *COMMAND_WORDS.get(command, [])]
    with pytest.raises(SettingError, match=f"{row.flag} is not an option of `seqstore {command}`"):
        parsed(row.flag, *((text,) if text else ()), *words)
    with pytest.raises(SystemExit):  # after it: argparse's "unrecognized arguments"
        parsed(*words, row.flag, *((text,) if text else ()))


def test_an_option_wins_over_its_variable_and_the_later_of_two_wins(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("SEQSTORE_DATA_DIR", "/from/env")
    assert parsed("worker").data_dir == Path("/from/env")
    clean_environment.setenv("SEQSTORE_CONCURRENCY", "not read")  # the option's value is used instead
    settings = parsed("--data-dir", "/before", "worker", "--concurrency", "3", "--data-dir", "/after")
    assert (settings.data_dir, settings.concurrency) == (Path("/after"), 3)
    assert parsed("serve", "--no-worker").concurrency == 0


# --- through the real command


MASTER_KEY = "ZmFrZS10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXMhISE="  # any Fernet key: the commands share it


def test_keys_take_the_data_dir_and_database_url_before_or_after_the_command(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'keys.db'}"
    created = []
    for argv in (
        ("keys", "create", "--name", "after", "--data-dir", str(tmp_path / "a"), "--database-url", database),
        ("--data-dir", str(tmp_path / "b"), "--database-url", database, "keys", "create", "--name", "before"),
        ("keys", "--data-dir", str(tmp_path / "a"), "--database-url", database, "create", "--name", "between"),
    ):
        result = seqstore_cli(*argv, env={"SEQSTORE_MASTER_KEY": MASTER_KEY})
        assert result.returncode == 0, result.stderr
        created.append(result.stdout.split("export AWS_ACCESS_KEY_ID=")[1].split()[0])
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").is_dir()
    for argv in (("keys", "list", "--database-url", database), ("--database-url", database, "keys", "list")):
        result = seqstore_cli(*argv, "--data-dir", str(tmp_path / "a"), env={"SEQSTORE_MASTER_KEY": MASTER_KEY})
        assert result.returncode == 0, result.stderr
        assert {line.split()[0] for line in result.stdout.splitlines()} == set(created)



@pytest.mark.parametrize("before", [True, False])
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_worker_and_serve_take_the_data_dir_before_or_after_the_command(
        tmp_path: Path, command: str, before: bool) -> None:
    data_dir = tmp_path / "data"
    options = ["--data-dir", str(data_dir), "--concurrency", "1"]
    if command == "serve":
        options += ["--port", str(free_port())]
    argv = [*options, command] if before else [command, *options]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SEQSTORE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", *argv, "--log-level", "warning"], cwd=ROOT,
        env={**environment, "SEQSTORE_ACCESS_KEY_ID": "k", "SEQSTORE_SECRET_ACCESS_KEY": "s"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(60, process.kill)  # a silent process must not hang the suite
    watchdog.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the worker's line; serve's first line, then its data dir's
        if command == "serve":
            first += process.stdout.readline()
    finally:
        watchdog.cancel()
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert str(data_dir.resolve()) in first, first + stderr
    if command == "worker":
        assert "running 1 job threads" in first


@pytest.mark.parametrize(("argv", "env", "message"), [
    (("worker",), {"SEQSTORE_CONCURRENCY": "abc"}, "SEQSTORE_CONCURRENCY must be an integer (got 'abc')"),
    (("keys", "list"), {"SEQSTORE_RESPONSE_CACHE": "maybe"},
     "SEQSTORE_RESPONSE_CACHE must be a boolean (1/0, true/false, yes/no or on/off) (got 'maybe')"),
    (("serve", "--port", "http"), {}, "--port must be an integer (got 'http')"),
    (("--concurrency", "many", "worker"), {}, "--concurrency must be an integer (got 'many')"),
    (("serve", "--auth", "basic"), {}, "--auth must be one of sigv4, none (got 'basic')"),
    (("--host", "0.0.0.0", "keys", "list"), {}, "--host is not an option of `seqstore keys`"),
])
def test_a_bad_value_stops_the_command_with_one_line_and_status_2(
        tmp_path: Path, argv: tuple[str, ...], env: dict[str, str], message: str) -> None:
    result = seqstore_cli(*argv, "--data-dir", str(tmp_path / "data"), env=env, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == f"seqstore: {message}\n"
    assert not (tmp_path / "data").exists()  # stopped before touching anything


def test_help_needs_no_valid_environment() -> None:
    result = seqstore_cli("serve", "--help", env={"SEQSTORE_PORT": "abc"})
    assert result.returncode == 0 and "SEQSTORE_PORT" in result.stdout and "--data-dir" in result.stdout


def test_the_readme_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    stale = (ROOT / "README.md").read_text().replace("| `--host` (serve) |", "| `--hostname` |")
    readme.write_text(stale)
    result = subprocess.run([sys.executable, "-m", "seqstore.config", "--update-readme", str(readme)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert readme.read_text() == (ROOT / "README.md").read_text()

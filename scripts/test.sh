#!/usr/bin/env bash
# Install seqstore with its test dependencies into .venv (if needed) and run every check:
# ruff, mypy, and the whole pytest suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check seqstore tests bench
echo "== mypy"
mypy seqstore
echo "== pytest"
pytest "$@"

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
# s3fs/fsspec (tests/test_s3fs.py) in a virtualenv of its own: aiobotocore pins an older botocore.
if [ ! -x .venv-s3fs/bin/python ]; then
    "$PYTHON" -m venv .venv-s3fs
fi
.venv-s3fs/bin/python -m pip install --quiet -r tests/clients/s3fs-requirements.txt
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check seqstore tests bench
echo "== mypy"
mypy seqstore
echo "== pytest (SQLite + local blobs)"
pytest "$@"
# The same acceptance suite on PostgreSQL (127.0.0.1:5432, database `test`, trust auth; each
# test server gets a fresh schema) with every server's bytes in an S3 bucket of its own on a moto
# S3 server the suite starts. The genomics unit tests touch neither and run once.
# (tests/test_blob_backends.py runs the acceptance flow on the other blob store in each pass.)
if [ "${SEQSTORE_TEST_SKIP_POSTGRES:-}" = "1" ]; then
    echo "== pytest on PostgreSQL: NOT RUN (SEQSTORE_TEST_SKIP_POSTGRES=1)"
else
    echo "== pytest (PostgreSQL + S3 blobs)"
    SEQSTORE_TEST_DATABASE=postgresql SEQSTORE_TEST_BLOBS=s3 pytest --ignore=tests/genomics "$@"
fi

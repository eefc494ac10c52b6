#!/usr/bin/env bash
# A scaled-out seqstore on one machine (docs/deploy.md): PostgreSQL, an S3-compatible object
# store, two API processes and two job workers, all sharing the one database and one bucket. Each process
# has a data dir of its own, as it would on a host of its own; nothing but PostgreSQL and the
# bucket is shared.
#
#   SEQSTORE_DATABASE_URL     a PostgreSQL database to use; unset: start a private PostgreSQL cluster
#                             (initdb + pg_ctl from PostgreSQL's packages) on PG_PORT, removed on exit
#   SEQSTORE_S3_ENDPOINT_URL  an S3-compatible server to use; unset: start moto's S3 server on S3_PORT
#   SEQSTORE_BLOB_URL         where the bytes go (default s3://seqstore-blobs/data; the bucket is created)
#   SEQSTORE_MASTER_KEY       encrypts stored access keys; every process needs the same one
#                             (default: generated once into RUN_DIR/master.key)
#   RUN_DIR (./seqstore-deploy), API_PORT (9740), S3_PORT (9000), PG_PORT (5433), WORKER_CONCURRENCY (2)
#
# It prints the lines a client needs, writes logs and pid files to RUN_DIR, and stops everything it
# started on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
RUN_DIR="$(realpath -m "${RUN_DIR:-./seqstore-deploy}")"
API_PORT="${API_PORT:-9740}"
S3_PORT="${S3_PORT:-9000}"
mkdir -p "$RUN_DIR"

export SEQSTORE_BLOB_URL="${SEQSTORE_BLOB_URL:-s3://seqstore-blobs/data}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-minio-or-moto}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-secret}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
if [ -z "${SEQSTORE_MASTER_KEY:-}" ]; then
    [ -s "$RUN_DIR/master.key" ] || (umask 077 && "$BIN/python" -c \
        'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$RUN_DIR/master.key")
    SEQSTORE_MASTER_KEY="$(cat "$RUN_DIR/master.key")"
    export SEQSTORE_MASTER_KEY
fi

pids=()       # everything started here, stopped on exit
essential=()  # the S3 server and the API: when one ends, the example ends (a worker may die and be restarted)
PG_DIR=""     # the private PostgreSQL cluster, if this script made one
as_postgres() {  # PostgreSQL refuses to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop() {
    trap - INT TERM EXIT
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "$PG_DIR" ]; then
        as_postgres pg_ctl -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
trap stop INT TERM EXIT

if [ -z "${SEQSTORE_DATABASE_URL:-}" ]; then
    PG_PORT="${PG_PORT:-5433}"
    PG_DIR="$(mktemp -d /tmp/seqstore-pg.XXXXXX)"  # outside RUN_DIR: the postgres user must reach it
    [ "$(id -u)" != 0 ] || chown postgres "$PG_DIR"
    as_postgres initdb -D "$PG_DIR/data" -U postgres -A trust >"$RUN_DIR/postgres-init.log" 2>&1
    as_postgres pg_ctl -D "$PG_DIR/data" -w -l "$PG_DIR/postgres.log" \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR" start >/dev/null
    export SEQSTORE_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
fi
echo "$SEQSTORE_DATABASE_URL" >"$RUN_DIR/database-url"

wait_for() {  # URL: poll until it answers
    for _ in $(seq 300); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "no answer from $1; see $RUN_DIR/*.log" >&2
    exit 1
}

if [ -z "${SEQSTORE_S3_ENDPOINT_URL:-}" ]; then
    "$BIN/python" -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$RUN_DIR/s3.log" 2>&1 &
    pids+=($!)
    essential+=($!)
    echo $! >"$RUN_DIR/s3.pid"
    export SEQSTORE_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
    wait_for "$SEQSTORE_S3_ENDPOINT_URL/moto-api/"
fi
# The bucket of SEQSTORE_BLOB_URL, created if it does not exist yet.
"$BIN/python" - <<'EOF'
import os, boto3
bucket = os.environ["SEQSTORE_BLOB_URL"][5:].split("/", 1)[0]
s3 = boto3.client("s3", endpoint_url=os.environ["SEQSTORE_S3_ENDPOINT_URL"])
if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=bucket)
EOF

# Two API processes (one uvicorn parent), without job threads.
"$BIN/seqstore" serve --port "$API_PORT" --workers 2 --no-worker --data-dir "$RUN_DIR/api" \
    >"$RUN_DIR/api.log" 2>&1 &
pids+=($!)
essential+=($!)
echo $! >"$RUN_DIR/api.pid"
wait_for "http://127.0.0.1:$API_PORT/_seqstore/health"

# Two job workers, as on two other hosts.
for n in 1 2; do
    "$BIN/seqstore" worker --data-dir "$RUN_DIR/worker-$n" --concurrency "${WORKER_CONCURRENCY:-2}" \
        >"$RUN_DIR/worker-$n.log" 2>&1 &
    pids+=($!)
    echo $! >"$RUN_DIR/worker-$n.pid"
done

echo "seqstore: 2 API processes on http://127.0.0.1:$API_PORT, 2 workers,"
echo "  database $SEQSTORE_DATABASE_URL, blobs $SEQSTORE_BLOB_URL on $SEQSTORE_S3_ENDPOINT_URL"
grep -E '^\s+export ' "$RUN_DIR/api.log" || true
echo "ready" >"$RUN_DIR/ready"
wait -n "${essential[@]}" || true  # then stop() ends the rest

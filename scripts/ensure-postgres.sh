#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 (the tests need it); start the local cluster if not.
set -euo pipefail

HOST=${PGHOST_CHECK:-127.0.0.1}
PORT=${PGPORT_CHECK:-5432}

if pg_isready -q -h "$HOST" -p "$PORT"; then
    exit 0
fi

echo "PostgreSQL is not answering on $HOST:$PORT; trying to start it" >&2
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
fi

for _ in $(seq 1 30); do
    if pg_isready -q -h "$HOST" -p "$PORT"; then
        echo "PostgreSQL is ready" >&2
        exit 0
    fi
    sleep 1
done

echo "error: PostgreSQL is still not ready on $HOST:$PORT." >&2
echo "Start it (e.g. pg_ctlcluster <version> main start) or set TEST_POSTGRES_ADMIN_DSN." >&2
exit 1

#!/usr/bin/env bash
# Start PostgreSQL 15 with HypoPG for the tests that exercise the pre-16 generic-plan path
# (PREPARE + plan_cache_mode = force_generic_plan) and HypoPG what-if indexes.
#
# Prints one line on stdout, `export SQLPERF_TEST_PG15_DSN=...`, for `.ci/run` to eval;
# everything else goes to stderr. Exits non-zero (and prints nothing on stdout) when the
# packages or the server are not available; the PG15 tests then skip.
set -euo pipefail

VERSION=15
CLUSTER=sqlperf_ci
PORT=${SQLPERF_PG15_PORT:-54315}
ROLE=sqlperf_ci
PASSWORD=sqlperf_ci_pw
DATABASE=sqlperf_ci
BIN=/usr/lib/postgresql/$VERSION/bin

log() { echo "pg15: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "needs root (apt-get, pg_ctlcluster)"; exit 1
fi

have_packages() {
    [ -x "$BIN/postgres" ] && [ -f "/usr/share/postgresql/$VERSION/extension/hypopg.control" ]
}

if ! have_packages; then
    log "installing postgresql-$VERSION and postgresql-$VERSION-hypopg"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || { log "apt-get update failed"; exit 1; }
    apt-get install -y -q "postgresql-$VERSION" "postgresql-$VERSION-hypopg" >&2 || { log "install failed"; exit 1; }
fi
have_packages || { log "PostgreSQL $VERSION or HypoPG missing after install"; exit 1; }

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
    log "creating cluster $VERSION/$CLUSTER on port $PORT"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2 -- --auth-local=peer --auth-host=scram-sha-256
fi
# Listen on loopback only; the socket stays in /var/run/postgresql.
CONF=/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf
grep -q "^listen_addresses = '127.0.0.1'" "$CONF" || echo "listen_addresses = '127.0.0.1'" >> "$CONF"
grep -q "^port = $PORT" "$CONF" || echo "port = $PORT" >> "$CONF"

status=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')
if [ "$status" != "online" ]; then
    log "starting cluster $VERSION/$CLUSTER"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -q -X -p $PORT $*" >&2; }

for _ in $(seq 1 30); do
    su postgres -c "$BIN/pg_isready -q -p $PORT" && break
    sleep 0.5
done

psql_admin "-d postgres" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SQL
if ! su postgres -c "psql -X -tA -p $PORT -d postgres -c \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"" | grep -q 1; then
    psql_admin "-d postgres -c 'CREATE DATABASE $DATABASE OWNER $ROLE'"
fi
psql_admin "-d $DATABASE -c 'CREATE EXTENSION IF NOT EXISTS hypopg'"

echo "export SQLPERF_TEST_PG15_DSN=postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"

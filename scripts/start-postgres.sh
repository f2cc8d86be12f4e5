#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 cluster (installed, not running) and create the test role and database.
# Used by .ci/run and by developers; safe to run again.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  cluster=main
  pg_createcluster "$version" "$cluster"
fi
pg_ctlcluster "$version" "$cluster" start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432

as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAtc \"$1\""; }
if [ "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname = 'platepatrol'")" != "1" ]; then
  # A throwaway role for the test database on this machine's loopback only; not a production secret.
  as_postgres "CREATE ROLE platepatrol LOGIN CREATEDB PASSWORD 'platepatrol-ci'"
fi
if [ "$(as_postgres "SELECT 1 FROM pg_database WHERE datname = 'platepatrol_test'")" != "1" ]; then
  as_postgres "CREATE DATABASE platepatrol_test OWNER platepatrol"
fi
echo "PostgreSQL $version/$cluster is up"

#!/usr/bin/env bash
# Makes sure a PostgreSQL answers at the test URL; installs and starts one
# (trust auth on loopback, database "test") where none runs.
set -euo pipefail
URL="${IAM_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
if command -v psql >/dev/null && psql "$URL" -qtAc 'select 1' >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "no PostgreSQL at $URL; set IAM_TEST_DATABASE_URL to one" >&2
  exit 1
fi
if ! command -v pg_ctlcluster >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q postgresql
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main
fi
hba=/etc/postgresql/$version/main/pg_hba.conf
if ! grep -q "iam-test trust" "$hba"; then
  # Local, throwaway test cluster only: trust on loopback.
  sed -i '1i host all all 127.0.0.1/32 trust # iam-test trust\nlocal all all trust # iam-test trust' "$hba"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
  || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 1 30); do
  psql -h 127.0.0.1 -U postgres -qtAc 'select 1' postgres >/dev/null 2>&1 && break
  sleep 1
done
psql -h 127.0.0.1 -U postgres -qtAc "select 1 from pg_database where datname='test'" postgres \
  | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc 'create database test' postgres
psql "$URL" -qtAc 'select 1' >/dev/null

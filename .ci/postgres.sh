#!/bin/sh
# Makes sure Debian's PostgreSQL server binaries are installed for the PostgreSQL store tests.
# The tests start their own throwaway cluster (test/support/postgres.ts), so the cluster Debian creates
# and starts on install is not needed: it is stopped and kept from starting again.
# Expects `apt-get update` to have run already (.ci/run does it first). Safe to run repeatedly.
set -eu

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi

if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version name _rest; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    # "manual": the cluster is left alone at boot and by `service postgresql start`.
    conf="/etc/postgresql/$version/$name/start.conf"
    if [ -f "$conf" ]; then echo manual >"$conf"; fi
  done
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

ls /usr/lib/postgresql/*/bin/initdb

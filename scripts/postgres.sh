#!/usr/bin/env bash
# Makes sure a PostgreSQL server runs on 127.0.0.1:5432 with a role the tests can use, installing
# or starting it as needed, and drops the databases earlier test runs left. Prints the admin URL.
# Usage: postgres.sh ensure | url
set -euo pipefail

ROLE=kaleido_test
PASSWORD=kaleido_test
URL="postgres://$ROLE:$PASSWORD@127.0.0.1:5432/postgres"

as_superuser() {
  # Trust auth on 127.0.0.1 where the machine has it, else the postgres system user's peer auth.
  if psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' > /dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
  else
    runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
  fi
}

ensure() {
  if ! command -v pg_ctlcluster > /dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "installing PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  as_superuser -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
      END IF;
    END \$\$;"
  # Each test makes its own database (kt_…); clear what earlier runs left.
  for db in $(as_superuser -c "SELECT datname FROM pg_database WHERE datname LIKE 'kt\_%'"); do
    as_superuser -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
}

case "${1:-}" in
  ensure) ensure ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 ensure|url" >&2; exit 2 ;;
esac

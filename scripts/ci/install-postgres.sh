#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries for the indexer's PostgreSQL test
# (test/indexer/indexer.postgres.test.ts), only when no /usr/lib/postgresql/*/bin/initdb exists.
# Idempotent. Needs root (CI runs as root) or passwordless sudo.
#
# The test starts its own throwaway server (initdb into a temp dir, pg_ctl on 127.0.0.1 on a free
# port); initdb and postgres refuse to run as root, so as root the test runs them as the
# `postgres` user (created by the package) with `runuser -u postgres --`.
# The package's default cluster service is not needed; it is left as the package installs it.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
  echo "install-postgres: found $(ls -d /usr/lib/postgresql/*/bin/initdb | head -n1); nothing to do"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo > /dev/null; then SUDO="sudo"; else
    echo "install-postgres: not root and no sudo; install the 'postgresql' package as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends postgresql
ls -d /usr/lib/postgresql/*/bin/initdb
id postgres > /dev/null
echo "install-postgres: done"

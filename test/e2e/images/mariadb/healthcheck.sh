#!/usr/bin/env bash
# Simplified stand-in for the official mariadb image's healthcheck.sh: accepts its common
# flags (--connect, --innodb_initialized, --su-mysql ...) and succeeds when the server
# answers a ping over TCP (like `mariadb-admin ping`, an "Access denied" answer counts as
# alive). Replication/galera checks are not implemented.
set -eu
for a in "$@"; do
  case "$a" in
    --connect|--innodb_initialized|--innodb_buffer_pool_loaded|--su-mysql|--su=*|--defaults-file=*|--no-defaults) ;;
    *) echo "healthcheck.sh: unsupported option $a (wharf-test substitute)" >&2; exit 2 ;;
  esac
done
exec mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "${MARIADB_PORT:-3306}" ping --silent

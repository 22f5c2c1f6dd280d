#!/usr/bin/env bash
# Mirrors the official mariadb/mysql images' docker-entrypoint.sh on Debian's MariaDB:
# first start with an empty /var/lib/mysql initialises it (root password, root@ROOT_HOST,
# database, user with all privileges on it, /docker-entrypoint-initdb.d/*), then execs
# the server as user mysql. Both MARIADB_* and MYSQL_* names work (MARIADB_* wins).
set -Eeo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# file_env NAME [DEFAULT]: MARIADB_NAME, MARIADB_NAME_FILE, MYSQL_NAME or MYSQL_NAME_FILE.
file_env() {
  local name=$1 def=${2:-} val='' v f
  for p in MARIADB MYSQL; do
    v="${p}_${name}"; f="${v}_FILE"
    if [ -n "${!v:-}" ] && [ -n "${!f:-}" ]; then die "both $v and $f are set (they are exclusive)"; fi
    if [ -z "$val" ] && [ -n "${!v:-}" ]; then val=${!v}; fi
    if [ -z "$val" ] && [ -n "${!f:-}" ]; then
      [ -r "${!f}" ] || die "$f=${!f} is not readable by uid $(id -u)"
      val=$(<"${!f}")
    fi
    unset "$f"
  done
  [ -n "$val" ] || val=$def
  printf -v "W_$name" '%s' "$val"
}

# SQL string literal body: backslashes and quotes escaped.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }
# SQL identifier body: backticks doubled.
sql_ident() { printf '%s' "${1//\`/\`\`}"; }

# `docker run IMAGE --max-connections=50` means `mariadbd --max-connections=50`
if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi

is_server() { case "$1" in mariadbd|mysqld|mariadbd-safe|mysqld_safe) return 0 ;; *) return 1 ;; esac; }

if is_server "$1" && [ "$(id -u)" = '0' ]; then
  mkdir -p /var/lib/mysql /run/mysqld
  find /var/lib/mysql /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if is_server "$1" && [ ! -d /var/lib/mysql/mysql ]; then
  file_env ROOT_PASSWORD
  file_env DATABASE
  file_env USER
  file_env PASSWORD
  file_env ROOT_HOST '%'
  file_env ALLOW_EMPTY_ROOT_PASSWORD
  file_env RANDOM_ROOT_PASSWORD
  if [ -z "$W_ROOT_PASSWORD" ] && [ -z "$W_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$W_RANDOM_ROOT_PASSWORD" ]; then
    die "database is uninitialized and no root password option is set: MARIADB_ROOT_PASSWORD[_FILE], MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD (or their MYSQL_ names)"
  fi
  if [ -n "$W_RANDOM_ROOT_PASSWORD" ] && [ -z "$W_ROOT_PASSWORD" ]; then
    W_ROOT_PASSWORD=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
    log "GENERATED ROOT PASSWORD (not printed; set MARIADB_ROOT_PASSWORD_FILE to choose one)"
  fi
  if [ "$W_USER" = root ]; then die "MARIADB_USER=root: root is configured with the ROOT_PASSWORD variables"; fi

  log "initialising /var/lib/mysql"
  mariadb-install-db --datadir=/var/lib/mysql --rpm --auth-root-authentication-method=normal \
    --skip-test-db --default-time-zone=SYSTEM --skip-log-bin >/dev/null

  sock=/run/mysqld/mysqld.sock
  "$@" --skip-networking --socket="$sock" --default-time-zone=SYSTEM --skip-log-bin \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  pid=$!
  for _ in $(seq 1 60); do
    if mariadb-admin --no-defaults --socket="$sock" -uroot ping --silent >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || die "temporary server exited during initialisation"
    sleep 0.5
  done
  sql() { mariadb --no-defaults --protocol=socket --socket="$sock" -uroot --binary-mode "$@"; }

  rootpw=$(sql_escape "$W_ROOT_PASSWORD")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
    # no anonymous accounts (mariadb-install-db 10.11 may create them)
    echo "DROP USER IF EXISTS ''@'localhost';"
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \\'\\'@\\'', @@hostname, '\\'');"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rootpw';"
    if [ -n "$W_ROOT_HOST" ] && [ "$W_ROOT_HOST" != localhost ]; then
      h=$(sql_escape "$W_ROOT_HOST")
      echo "CREATE USER 'root'@'$h' IDENTIFIED BY '$rootpw';"
      echo "GRANT ALL ON *.* TO 'root'@'$h' WITH GRANT OPTION;"
    fi
    if [ -n "$W_DATABASE" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$(sql_ident "$W_DATABASE")\`;"
    fi
    if [ -n "$W_USER" ]; then
      u=$(sql_escape "$W_USER")
      echo "CREATE USER '$u'@'%' IDENTIFIED BY '$(sql_escape "$W_PASSWORD")';"
      if [ -n "$W_DATABASE" ]; then echo "GRANT ALL ON \`$(sql_ident "$W_DATABASE")\`.* TO '$u'@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | sql || die "initial SQL failed"

  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)     if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql)    log "running $f"; MYSQL_PWD=$W_ROOT_PASSWORD sql ${W_DATABASE:+"--database=$W_DATABASE"} <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | MYSQL_PWD=$W_ROOT_PASSWORD sql ${W_DATABASE:+"--database=$W_DATABASE"} ;;
      *)        if [ -e "$f" ]; then log "ignoring $f"; fi ;;
    esac
  done

  kill "$pid"; wait "$pid" || true
  unset W_ROOT_PASSWORD W_PASSWORD rootpw
  log "MariaDB init process done; ready for start up"
fi

exec "$@"

#!/bin/sh
# wharf point-in-time recovery for one PostgreSQL database (the <db>-pitr service).
# PostgreSQL's archive_command copies each finished WAL segment into the spool directory of the
# volume both containers share (the official image has no pgBackRest); this script ships the
# spool to the pgBackRest repository (encrypted, aes-256-cbc), takes base backups on the
# schedule, writes metrics, and recovers the data directory to a moment (the database stopped).
#   pitr.sh run | push | backup | window | flush | restore TIME | metrics
# Settings come from $PITR_HOME/pitr.env (every value one single-quoted word); any can be
# moved by the environment, so the same script runs against a loopback server in tests.
set -eu
umask 077
PITR_HOME="${PITR_HOME:-/pitr}"
# shellcheck disable=SC1091
. "${PITR_ENV:-$PITR_HOME/pitr.env}"
SPOOL="${PITR_SPOOL:-$SPOOL}"
PGDATA="${PITR_PGDATA:-$PGDATA}"
SOCKET="${PITR_SOCKET:-$SOCKET}"
PGPORT="${PITR_PGPORT:-5432}"
METRICS_DIR="${PITR_METRICS_DIR:-${METRICS_DIR:-/metrics}}"
SECRETS_DIR="${PITR_SECRETS_DIR:-/run/secrets}"
CONF="${PITR_CONF:-$PITR_HOME/pgbackrest.conf}"
STATE="$SOCKET/pitr-state"
RUN_AS="${PITR_RUN_AS-postgres}"

log() { printf '%s [%s-pitr] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$STANZA" "$*" >&2; }
progress() { phase="$1"; shift; printf 'progress %s %s\n' "$phase" "$*" >&2; }
now() { date -u +%s; }
ms() { date -u +%s%3N; }

PGBACKREST_REPO1_CIPHER_PASS="$(cat "$SECRETS_DIR/$CIPHER_SECRET")"
export PGBACKREST_REPO1_CIPHER_PASS
if [ -n "${S3_ACCESS_KEY_SECRET:-}" ]; then
  PGBACKREST_REPO1_S3_KEY="$(cat "$SECRETS_DIR/$S3_ACCESS_KEY_SECRET")"
  PGBACKREST_REPO1_S3_KEY_SECRET="$(cat "$SECRETS_DIR/$S3_SECRET_KEY_SECRET")"
  export PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET
fi
export PGHOST="$SOCKET" PGPORT PGUSER="$DB_USER" PGDATABASE="$DB_NAME"

# as variables, not options: pgBackRest refuses an option the command does not take
export PGBACKREST_PG1_PATH="$PGDATA" PGBACKREST_PG1_SOCKET_PATH="$SOCKET" PGBACKREST_PG1_PORT="$PGPORT"
br() { as_owner pgbackrest --config="$CONF" --stanza="$STANZA" "$@"; }
# as the owner of the data directory (pgBackRest and postgres refuse root for that)
as_owner() { if [ -n "$RUN_AS" ] && [ "$(id -u)" = 0 ]; then setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups "$@"; else "$@"; fi; }

metric() { printf '%s{database="%s"} %s\n' "$1" "$STANZA" "$2"; }
# state files: one number each, in the shared volume (they survive a restart of this service)
get() { cat "$STATE/$1" 2>/dev/null || echo "${2:-0}"; }
put() { mkdir -p "$STATE"; printf '%s\n' "$2" > "$STATE/.$1"; mv "$STATE/.$1" "$STATE/$1"; }

write_metrics() {
  [ -d "$METRICS_DIR" ] || return 0
  pending=0; oldest=0; t="$(now)"
  for f in "$SPOOL"/0*; do
    [ -f "$f" ] || continue
    pending=$((pending + 1))
    [ "$oldest" != 0 ] || oldest="$(date -u -r "$f" +%s)"
  done
  age=0; [ "$oldest" = 0 ] || age=$((t - oldest))
  {
    echo '# HELP wharf_pitr_last_run_timestamp_seconds Last time the WAL archiver ran (a stale value: it stopped).'
    echo '# TYPE wharf_pitr_last_run_timestamp_seconds gauge'
    metric wharf_pitr_last_run_timestamp_seconds "$t"
    echo '# HELP wharf_pitr_archive_last_status 1 when the last push of WAL to the repository worked.'
    echo '# TYPE wharf_pitr_archive_last_status gauge'
    metric wharf_pitr_archive_last_status "$(get push_status 1)"
    echo '# HELP wharf_pitr_last_archived_timestamp_seconds When the newest WAL segment in the repository was written.'
    echo '# TYPE wharf_pitr_last_archived_timestamp_seconds gauge'
    metric wharf_pitr_last_archived_timestamp_seconds "$(get latest)"
    echo '# TYPE wharf_pitr_pending_segments gauge'
    metric wharf_pitr_pending_segments "$pending"
    echo '# HELP wharf_pitr_oldest_pending_age_seconds Age of the oldest WAL segment not yet in the repository.'
    echo '# TYPE wharf_pitr_oldest_pending_age_seconds gauge'
    metric wharf_pitr_oldest_pending_age_seconds "$age"
    echo '# HELP wharf_pitr_window_start_timestamp_seconds Earliest moment a restore can go back to.'
    echo '# TYPE wharf_pitr_window_start_timestamp_seconds gauge'
    metric wharf_pitr_window_start_timestamp_seconds "$(get earliest)"
    echo '# TYPE wharf_pitr_window_end_timestamp_seconds gauge'
    metric wharf_pitr_window_end_timestamp_seconds "$(get latest)"
    echo '# TYPE wharf_pitr_base_backup_last_status gauge'
    metric wharf_pitr_base_backup_last_status "$(get backup_status 1)"
  } > "$METRICS_DIR/.pitr-$STANZA.prom"
  chmod 644 "$METRICS_DIR/.pitr-$STANZA.prom"
  mv "$METRICS_DIR/.pitr-$STANZA.prom" "$METRICS_DIR/pitr-$STANZA.prom"
}

# ship every finished segment (and timeline history file), oldest first; keeps what fails.
# One pusher at a time: the archiver's loop, a flush and a base backup's shipper run side by
# side, and the one that pushed an older file last moved the window's end back before T.
push() { mkdir -p "$STATE"; ( flock 9; push_spool ) 9>>"$STATE/push.lock"; }
push_spool() {
  ok=1
  for f in "$SPOOL"/0*; do
    m="$(date -u -r "$f" +%s 2>/dev/null)" || continue
    if out="$(br archive-push "$f" 2>&1)"; then
      [ "$m" -le "$(get latest)" ] || put latest "$m"
      case "${f##*/}" in *.*) ;; *) [ "$(printf '%s\n%s\n' "${f##*/}" "$(get last_segment '')" | sort | tail -n 1)" != "${f##*/}" ] || put last_segment "${f##*/}";; esac
      rm -f "$f"
    else
      ok=0; log "archive-push $(basename "$f") failed: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
      break
    fi
  done
  put push_status "$ok"
  [ "$ok" = 1 ]
}

ensure_stanza() {
  [ "$(get stanza 0)" = 1 ] && return 0
  # a directory repository belongs to the data's owner, who runs pgBackRest
  dir="$(sed -n 's/^repo1-path=//p' "$CONF")"
  # (the engine creates a missing bind-mounted directory as root's)
  if grep -qx 'repo1-type=posix' "$CONF"; then
    mkdir -p "$dir"; chmod 700 "$dir"; [ -z "$RUN_AS" ] || [ "$(id -u)" != 0 ] || chown "$RUN_AS:$RUN_AS" "$dir"
  fi
  out="$(br stanza-create 2>&1)" || { log "stanza-create failed: $(printf "%s" "$out" | tail -n 3 | tr "\n" " ")"; return 1; }
  put stanza 1
}

# refresh the window from the repository: earliest = end of the oldest base backup
refresh_window() {
  js="$(br info --output=json 2>/dev/null)" || return 1
  # 0 ok, 2 no backup yet; anything else (a wrong key reads as 99) is an unreadable repository
  case "$(printf '%s' "$js" | jq -r '.[0].status.code')" in 0|2) ;; *) return 1;; esac
  e="$(printf '%s' "$js" | jq -r '.[0].backup[0].timestamp.stop // 0')"
  put earliest "$e"
}

backup() {
  ensure_stanza || { put backup_status 0; return 1; }
  # pgBackRest waits for the backup's last segment to reach the repository: keep shipping meanwhile
  ( while :; do push >/dev/null 2>&1 || true; sleep 1; done ) &
  shipper=$!
  rc=0; br backup --type="${1:-full}" >&2 || rc=$?
  kill "$shipper" 2>/dev/null || true; wait "$shipper" 2>/dev/null || true
  if [ "$rc" = 0 ]; then put backup_status 1; refresh_window || true; else put backup_status 0; return 1; fi
}

# the window as JSON: earliest and latest recoverable moments (epoch seconds), 0 when none
window() {
  refresh_window || { echo "cannot read the pgBackRest repository of $STANZA (wrong repository password, or unreachable)" >&2; exit 1; }
  printf '{"earliest":%s,"latest":%s,"pending":%s}\n' "$(get earliest)" "$(get latest)" "$(find "$SPOOL" -maxdepth 1 -name '0*' -type f | wc -l)"
}

# close the current segment and ship it: the window then ends now (the server must be up)
flush() {
  # a commit after the moment asked for: recovery stops at it (without one, it runs out of WAL first)
  psql -XAtq -c 'select txid_current()' >/dev/null
  seg="$(psql -XAtq -c 'select pg_walfile_name(pg_switch_wal())')"
  i=0
  while [ "$i" -lt 300 ]; do
    push || true
    last="$(get last_segment '')"
    [ -z "$last" ] || [ "$(printf '%s\n%s\n' "$seg" "$last" | sort | tail -n 1)" != "$last" ] || break
    sleep 0.1; i=$((i + 1))
  done
  [ "$i" -lt 300 ] || { echo "segment $seg did not reach the repository of $STANZA in 30s" >&2; exit 1; }
  window
}

# restore TIME|latest: the data directory back to TIME ("YYYY-MM-DD HH:MM:SS.fff+00"), the server stopped
restore() {
  target="$1"; t0="$(ms)"
  # the server runs in another container: it answers on the shared socket, or it is gone
  ! pg_isready -q -h "$SOCKET" -p "$PGPORT" || { echo "the server of $STANZA still runs: stop it first" >&2; exit 1; }
  rm -f "$PGDATA/postmaster.pid"
  progress restore "restoring $STANZA to $target"
  # latest: to the end of the archive (the database's host lost, what the RPO bench measures)
  if [ "$target" = latest ]; then set -- --type=default; else set -- --type=time --target="$target" --target-action=promote; fi
  br --delta "$@" --log-level-console=warn restore >&2
  t1="$(ms)"
  progress replay "replaying WAL to $target"
  # the same archive settings as the database: the new timeline's history reaches the repository
  # not through as_owner: a background function is a subshell, and $! must be the server itself
  if [ -n "$RUN_AS" ] && [ "$(id -u)" = 0 ]; then set -- setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups; else set --; fi
  "$@" postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories="$SOCKET" -c port="$PGPORT" \
    -c archive_mode=on -c "archive_command=$ARCHIVE_COMMAND" >"$SPOOL/.recovery.log" 2>&1 &
  pid=$!
  i=0; state=''
  while [ "$i" -lt 6000 ]; do
    kill -0 "$pid" 2>/dev/null || break
    state="$(psql -XAtq -c 'select pg_is_in_recovery()' 2>/dev/null || true)"
    [ "$state" = f ] && break
    sleep 0.1; i=$((i + 1))
  done
  if [ "$state" != f ]; then
    kill -INT "$pid" 2>/dev/null || true; wait "$pid" || true
    log "recovery did not finish: $(tail -n 5 "$SPOOL/.recovery.log" | tr '\n' ' ')"
    exit 1
  fi
  tables="$(psql -XAtq -c "select count(*) from pg_tables where schemaname not in ('pg_catalog','information_schema')")"
  stop_line="$(grep -m1 'recovery stopping' "$SPOOL/.recovery.log" || true)"
  kill -INT "$pid"; wait "$pid" || true
  t2="$(ms)"
  push || true
  reached=true; [ -n "$stop_line" ] || [ "$target" = latest ] || reached=false
  printf '{"target":"%s","tables":%s,"reachedTarget":%s,"phases":[{"phase":"restore","ms":%s},{"phase":"replay","ms":%s}]}\n' \
    "$target" "$tables" "$reached" $((t1 - t0)) $((t2 - t1))
}

# PostgreSQL 15's checkpointer plans its first sleep while the server still starts, when
# archive_timeout does not count yet: it then sleeps checkpoint_timeout (5 min) and closes no
# segment meanwhile, unless something wakes it (a base backup's checkpoint did, before a
# restore). A reload wakes it; once per server start (after a restore, a crash, any restart).
wake_archive_timer() {
  started="$(psql -XAtq -c 'select pg_postmaster_start_time() where not pg_is_in_recovery()' 2>/dev/null)" || return 0
  [ -n "$started" ] && [ "$started" != "$(get server_started '')" ] || return 0
  if psql -XAtq -c 'select pg_reload_conf()' >/dev/null 2>&1; then put server_started "$started"; fi
}

run() {
  log "archiving $SPOOL to the repository every ${INTERVAL}s; base backups on: $SCHEDULE"
  trap 'exit 0' INT TERM
  until ensure_stanza; do write_metrics; sleep 5; done
  refresh_window || true
  [ "$(get earliest)" != 0 ] || backup full || log 'first base backup failed'
  last_min=''
  while :; do
    wake_archive_timer
    push || true
    set -- $(date -u +'%M %H %d %m %w')
    if [ "$1$2" != "$last_min" ]; then
      last_min="$1$2"
      if "$PITR_HOME/scheduler.sh" --match "$SCHEDULE" "${1#0}" "${2#0}" "${3#0}" "${4#0}" "$5"; then backup full || log 'base backup failed'; fi
    fi
    write_metrics
    sleep "$INTERVAL" & wait $!
  done
}

cmd="${1:-run}"; [ $# = 0 ] || shift
# the spool belongs to the server's user, who writes it
[ -d "$SPOOL" ] || as_owner mkdir -p "$SPOOL"
case "$cmd" in
  run) run ;;
  push) rc=0; { ensure_stanza && push; } || rc=$?; write_metrics; exit "$rc" ;;
  backup) rc=0; backup "${1:-full}" || rc=$?; write_metrics; exit "$rc" ;;
  window) window ;;
  flush) flush ;;
  restore) [ $# = 1 ] || { echo 'usage: pitr.sh restore "YYYY-MM-DD HH:MM:SS+00"|latest' >&2; exit 2; }; restore "$1" ;;
  metrics) write_metrics ;;
  *) echo "unknown command: $cmd" >&2; exit 2 ;;
esac

# wharf backup library, sourced by backup.sh, verify.sh and restore.sh.
# POSIX sh (busybox ash in restic/restic, dash on Debian). Every path can be moved by an
# environment variable so the same scripts run on a host in tests.
set -eu
umask 022
WHARF_BACKUP_HOME="${WHARF_BACKUP_HOME:-/backup}"
WHARF_METRICS_DIR="${WHARF_METRICS_DIR:-/metrics}"
WHARF_STATE_DIR="${WHARF_STATE_DIR:-$WHARF_METRICS_DIR/state}"
WHARF_SECRETS_DIR="${WHARF_SECRETS_DIR:-/run/secrets}"
WHARF_REPO_DIR="${WHARF_REPO_DIR:-/repo}"
WHARF_VOLUMES_DIR="${WHARF_VOLUMES_DIR:-/volumes}"
WHARF_TMP="${WHARF_TMP:-/tmp}"
RESTIC="${RESTIC:-restic}"
TAB="$(printf '\t')"
NL='
'

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${JOB:-wharf}" "$*" >&2; }
# progress lines: "progress <phase> <message>" (ops turn them into progress events)
# (a safety snapshot taken inside a restore logs them: the restore's phase is "safety")
progress() { phase="$1"; shift; if [ -n "${WHARF_NESTED:-}" ]; then log "$*"; else printf 'progress %s %s\n' "$phase" "$*" >&2; fi; }
fail() { FAIL_REASON="$1"; log "ERROR: $1"; exit "${2:-1}"; }

now() { date -u +%s; }

# load_job NAME: reads jobs/NAME.env (kind, connection, repository, retention)
load_job() {
  JOB="$1"
  case "$JOB" in *[!a-z0-9-]*|'') echo "invalid job name: $JOB" >&2; exit 2;; esac
  f="$WHARF_BACKUP_HOME/jobs/$JOB.env"
  [ -f "$f" ] || { echo "unknown backup job: $JOB (no $f)" >&2; exit 2; }
  # Every value in the file is one single-quoted word (the renderer's shellQuote), so
  # sourcing only assigns. WHARF_DB_* move a job to another server (tests on loopback).
  # shellcheck disable=SC1090
  . "$f"
  DB_HOST="${WHARF_DB_HOST:-${DB_HOST:-}}"; DB_PORT="${WHARF_DB_PORT:-${DB_PORT:-}}"; DB_USER="${WHARF_DB_USER:-${DB_USER:-}}"
  export RESTIC_REPOSITORY="$REPOSITORY"
  export RESTIC_PASSWORD_FILE="$WHARF_SECRETS_DIR/$RESTIC_PASSWORD_SECRET"
  export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-$WHARF_TMP/restic-cache}"
  if [ -n "${S3_ACCESS_KEY_SECRET:-}" ]; then
    AWS_ACCESS_KEY_ID="$(cat "$WHARF_SECRETS_DIR/$S3_ACCESS_KEY_SECRET")"
    AWS_SECRET_ACCESS_KEY="$(cat "$WHARF_SECRETS_DIR/$S3_SECRET_KEY_SECRET")"
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    # the endpoint's private CA (caSecret): restic's --cacert, so TLS is verified against it
    if [ -n "${S3_CA_SECRET:-}" ]; then export RESTIC_CACERT="$WHARF_SECRETS_DIR/$S3_CA_SECRET"; fi
  fi
  WORK="$(mktemp -d "$WHARF_TMP/wharf-$JOB.XXXXXX")"
  mkdir -p "$WHARF_STATE_DIR"
  case "$KIND" in
    postgres)
      PGPASSWORD="$(cat "$WHARF_SECRETS_DIR/$DB_PASSWORD_SECRET")"
      export PGPASSWORD PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGUSER="$DB_USER" PGDATABASE="$DB_NAME" PGCONNECT_TIMEOUT=10
      DUMP_FILE="/$JOB.pgdump" ;;
    mysql)
      # client options in a 0600 file, never on the command line; one option a line
      case "$DB_HOST$DB_PORT$DB_USER" in *"$NL"*) echo "newline in the connection settings of $JOB" >&2; exit 2;; esac
      printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' "$DB_HOST" "$DB_PORT" "$DB_USER" "$(cat "$WHARF_SECRETS_DIR/$DB_PASSWORD_SECRET")" > "$WORK/my.cnf"
      chmod 600 "$WORK/my.cnf"
      MYCNF="$WORK/my.cnf"
      DUMP_FILE="/$JOB.sql" ;;
    redis)
      REDISCLI_AUTH="$(cat "$WHARF_SECRETS_DIR/$DB_PASSWORD_SECRET")"
      export REDISCLI_AUTH
      DUMP_FILE="/$JOB.rdb" ;;
    volume)
      VOLUME_PATH="$WHARF_VOLUMES_DIR/$VOLUME"
      DUMP_FILE="/$JOB.tar" ;;
    *) echo "unknown kind $KIND" >&2; exit 2 ;;
  esac
}

# one run per job at a time (cron and a manual `wharf backup` may meet): wait for the other
# run (restic's own locks would make one of them fail anyway), up to WHARF_LOCK_WAIT seconds.
lock_job() {
  LOCK="$WHARF_TMP/wharf-$JOB.lock"
  waited=0
  while ! mkdir "$LOCK" 2>/dev/null; do
    pid="$(cat "$LOCK/pid" 2>/dev/null || true)"
    [ -n "$pid" ] || { sleep 1; pid="$(cat "$LOCK/pid" 2>/dev/null || true)"; }  # just created
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -rf "$LOCK"; continue; fi  # stale
    [ "$waited" = 0 ] && progress wait "waiting for another run of $JOB (pid $pid)"
    waited=$((waited + 2))
    [ "$waited" -gt "${WHARF_LOCK_WAIT:-3600}" ] && fail "another run of $JOB (pid $pid) still holds the lock after ${WHARF_LOCK_WAIT:-3600}s" 75
    sleep 2
  done
  echo $$ > "$LOCK/pid"
}

cleanup() {
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  [ -n "${LOCK:-}" ] && rm -rf "$LOCK"
  return 0
}

# state files: key=value lines the metrics are rebuilt from (one awk each: every process
# counts on a busy host, and a backup reads and writes them several times)
state_get() { # file key
  [ -f "$1" ] || return 0
  K="$2=" awk 'index($0, ENVIRON["K"]) == 1 { v = substr($0, length(ENVIRON["K"]) + 1); f = 1 } END { if (f) print v }' "$1"
}
state_put() { # file key=value...: each key's old line dropped, the new ones appended in order
  f="$1"; shift
  tmp="$f.tmp.$$"
  printf '%s\n' "$@" > "$tmp.new"
  [ -f "$f" ] || : > "$f"
  awk 'NR == FNR { i = index($0, "="); new[++n] = $0; at[substr($0, 1, i - 1)] = n; next }
    { i = index($0, "="); if (!(i && (substr($0, 1, i - 1) in at))) print }
    END { for (j = 1; j <= n; j++) if (at[substr(new[j], 1, index(new[j], "=") - 1)] == j) print new[j] }' "$tmp.new" "$f" > "$tmp"
  rm -f "$tmp.new"
  mv "$tmp" "$f"
}

# a Prometheus label value: \ " and newline escaped (text exposition format)
prom_label() { printf '%s' "$1" | awk 'NR > 1 { printf "\\n" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "%s", $0 }'; }

# metrics for node-exporter's textfile collector, written atomically
write_metrics() {
  b="$WHARF_STATE_DIR/$JOB.backup"; v="$WHARF_STATE_DIR/$JOB.verify"
  L="backup=\"$JOB\",target=\"$(prom_label "$TARGET")\",kind=\"$(prom_label "$KIND")\""
  out="$WHARF_METRICS_DIR/wharf_backup_$JOB.prom"
  tmp="$WHARF_METRICS_DIR/.wharf_backup_$JOB.prom.$$"
  # both state files read once; a metric whose value is empty or missing is left out
  WB="$b" WV="$v" L="$L" awk '
    function load(f, p,   line, i) { while ((getline line < f) > 0) { i = index(line, "="); if (i > 1) s[p substr(line, 1, i - 1)] = substr(line, i + 1) }; close(f) }
    function m(name, help, key) { if (s[key] != "") printf "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n", name, help, name, name, ENVIRON["L"], s[key] }
    BEGIN {
      load(ENVIRON["WB"], "b."); load(ENVIRON["WV"], "v.")
      m("wharf_backup_last_success_timestamp_seconds", "Unix time of the last successful backup.", "b.last_success")
      m("wharf_backup_last_run_timestamp_seconds", "Unix time the last backup run ended.", "b.last_run")
      m("wharf_backup_last_status", "1 if the last backup run succeeded, 0 if it failed.", "b.last_status")
      m("wharf_backup_last_duration_seconds", "Duration of the last backup run.", "b.last_duration")
      m("wharf_backup_last_size_bytes", "Size of the last successful dump or archive, before deduplication.", "b.last_size")
      m("wharf_backup_last_added_bytes", "Bytes the last successful backup added to the repository.", "b.last_added")
      m("wharf_backup_snapshots", "Backup snapshots in the repository after retention.", "b.snapshots")
      m("wharf_backup_verify_last_status", "1 if the last verification (restic check and restore test) succeeded, 0 if it failed.", "v.last_status")
      m("wharf_backup_verify_last_timestamp_seconds", "Unix time the last verification ended.", "v.last_run")
      m("wharf_backup_verify_last_success_timestamp_seconds", "Unix time of the last successful verification.", "v.last_success")
      m("wharf_backup_restore_test_last_status", "1 if the last test restore matched the source'"'"'s row counts and checksums.", "v.restore_test_status")
    }' > "$tmp"
  mv "$tmp" "$out"
}

# result line on stdout, for ops: one JSON object
result() { printf '%s\n' "$1"; }

# a shell string as one JSON string (quotes, backslashes and control characters escaped by jq)
json_str() { jq -n -c --arg s "$1" '$s'; }

# probe_repo: `restic cat config`, watched. restic retries what it cannot reach, and an S3
# bucket that does not exist or keys it refuses, for many minutes; a backup that hangs is not
# loud. So: a missing bucket returns 1 at once (no repository yet: `restic init` creates the
# bucket), refused keys and no answer within WHARF_REPO_TIMEOUT seconds (30) fail naming the
# destination (the repository string: an S3 URL names endpoint, bucket and prefix, never the
# keys). Returns 1 when the destination answered but holds no readable repository
# ($WORK/open.err says why).
# probe_repo [OUT ARGS...]: the probe may be the caller's first read itself (restic ARGS, its
# output in OUT), which saves opening the repository twice. With PROBE_OPENED set (a file the
# command restic runs creates: restic starts it only once the repository is open), the watch
# ends when that file appears, and a failure after it returns 2 (the repository did open).
probe_repo() {
  pout=/dev/null; if [ $# -gt 0 ]; then pout="$1"; shift; fi
  [ $# -gt 0 ] || set -- cat config
  "$RESTIC" "$@" >"$pout" 2>"$WORK/open.err" &
  probe_pid=$!
  ticks=0; limit=$(( ${WHARF_REPO_TIMEOUT:-30} * 10 ))
  while kill -0 "$probe_pid" 2>/dev/null; do
    [ -n "${PROBE_OPENED:-}" ] && [ -e "$PROBE_OPENED" ] && break
    # restic says nothing on stderr while it opens a repository it can reach: read it only then
    if [ -s "$WORK/open.err" ]; then
      if grep -q 'bucket does not exist' "$WORK/open.err"; then stop_probe; return 1; fi
      why="$(grep -oE '(Access Denied|SignatureDoesNotMatch|signature we calculated does not match|InvalidAccessKeyId|Access Key Id you provided does not exist)[^"]*' "$WORK/open.err" | tail -n 1)"
      if [ -n "$why" ]; then
        stop_probe
        fail "backup destination $RESTIC_REPOSITORY refused the keys (secrets ${S3_ACCESS_KEY_SECRET:-?} and ${S3_SECRET_KEY_SECRET:-?}): $why"
      fi
    fi
    if [ "$ticks" -ge "$limit" ]; then
      stop_probe
      why="$(grep -oE '(dial tcp|lookup |connect: |tls: |x509: )[^"]*' "$WORK/open.err" | tail -n 1)"
      fail "backup destination $RESTIC_REPOSITORY unreachable: no answer within ${WHARF_REPO_TIMEOUT:-30}s${why:+ ($why)}; earlier snapshots were not touched"
    fi
    sleep 0.1; ticks=$((ticks + 1))
  done
  prc=0; wait "$probe_pid" || prc=$?
  [ "$prc" = 0 ] && return 0
  [ -n "${PROBE_OPENED:-}" ] && [ -e "$PROBE_OPENED" ] && return 2
  why="$(grep -oE '(dial tcp|lookup |connect: |tls: |x509: )[^"]*' "$WORK/open.err" | tail -n 1)"
  [ -n "$why" ] && fail "backup destination $RESTIC_REPOSITORY unreachable: $why; earlier snapshots were not touched"
  return 1
}
stop_probe() { kill "$probe_pid" 2>/dev/null || true; wait "$probe_pid" 2>/dev/null || true; }

# repository: open it, or create it only when it never existed. A repository that held
# backups and cannot be opened now (unreachable, wrong password, vanished) is an error:
# creating a new empty one would hide that.
open_repo() {
  if probe_repo; then return 0; fi
  code=0; grep -qiE 'does not exist|no such file|Is there a repository' "$WORK/open.err" || code=1
  if [ "$code" = 0 ] && [ -z "$(state_get "$WHARF_STATE_DIR/$JOB.backup" last_success)" ]; then
    case "$RESTIC_REPOSITORY" in
      /*) if [ -d "$RESTIC_REPOSITORY" ] && [ -n "$(ls -A "$RESTIC_REPOSITORY" 2>/dev/null)" ]; then
            fail "repository $RESTIC_REPOSITORY is not empty but cannot be opened: $(tail -n 1 "$WORK/open.err")"; fi ;;
    esac
    progress init "creating repository for $JOB at $RESTIC_REPOSITORY"
    # an S3 destination's bucket is created here too when it does not exist yet (restic init)
    "$RESTIC" init >/dev/null 2>"$WORK/init.err" || fail "cannot create repository at $RESTIC_REPOSITORY: $(tail -n 2 "$WORK/init.err" | tr '\n' ' ')"
    return 0
  fi
  fail "repository $RESTIC_REPOSITORY unreachable or unreadable; earlier snapshots were not touched: $(grep -v '^$' "$WORK/open.err" | tail -n 2 | tr '\n' ' ')"
}

# restic_exclusive ARGS...: a command that locks the repository exclusively (forget, prune).
# Shared locks ignore the stale lock of a killed run, exclusive ones stop at it (exit 11):
# then `restic unlock` (stale locks only, never a live run's) and one more try.
restic_exclusive() {
  xrc=0; "$RESTIC" "$@" || xrc=$?
  [ "$xrc" = 11 ] || return "$xrc"
  "$RESTIC" unlock >/dev/null 2>&1 || true
  "$RESTIC" "$@"
}

# a repository that must exist already (list, verify, restore)
need_repo() { # [OUT ARGS...] as probe_repo
  probe_repo "$@" || fail "repository $RESTIC_REPOSITORY unreachable or unreadable: $(grep -v '^$' "$WORK/open.err" | tail -n 2 | tr '\n' ' ')"
}

# PostgreSQL row counts and order-independent checksums per table, as TSV.
pg_manifest_sql() {
  cat <<'SQL'
SELECT n.nspname || '.' || c.relname,
       (xpath('/row/c/text()', x))[1]::text,
       (xpath('/row/s/text()', x))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
LATERAL query_to_xml(format('SELECT count(*) AS c, coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0) AS s FROM %I.%I t', n.nspname, c.relname), false, true, '') AS x
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1;
SQL
}

# pg_manifest DB [SNAPSHOT] > file
pg_manifest() {
  pg_manifest_sql > "$WORK/manifest.sql"
  if [ -n "${2:-}" ]; then
    psql -X -q -At -F "$TAB" -v ON_ERROR_STOP=1 -d "$1" -c 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' -c "SET TRANSACTION SNAPSHOT '$2'" -f "$WORK/manifest.sql" -c 'COMMIT'
  else
    psql -X -q -At -F "$TAB" -v ON_ERROR_STOP=1 -d "$1" -f "$WORK/manifest.sql"
  fi
}

# list_job: every snapshot of the job, dumps and manifests, in one read ($WORK/job.json) that is
# also the repository's probe; resolve_snapshot and load_manifest look there afterwards.
list_job() { need_repo "$WORK/job.json" snapshots --json --tag "job=$JOB"; }

# load_manifest SNAPSHOT FILE: the manifest stored beside a snapshot, without its header line.
# Returns 1 when the snapshot has none (taken by an older wharf, or not PostgreSQL).
load_manifest() {
  : > "$2"
  for8="for=$(printf '%s' "$1" | cut -c1-8)"
  if [ -f "$WORK/job.json" ]; then
    mid="$(jq -r --arg t "$for8" 'map(select((.tags // []) | any(. == "wharf-manifest") and any(. == $t))) | last | .id // empty' "$WORK/job.json")"
  else
    mid="$("$RESTIC" snapshots --json --tag "wharf-manifest,$for8" 2>/dev/null | jq -r 'last | .id // empty')"
  fi
  [ -n "$mid" ] || return 1
  "$RESTIC" dump "$mid" /manifest.tsv > "$2.raw" 2>/dev/null || return 1
  grep -q '^# wharf-manifest' "$2.raw" || return 1
  grep -v '^#' "$2.raw" > "$2" || true
  return 0
}

# compare_manifests expected actual: prints mismatches, returns 1 on any
compare_manifests() {
  if cmp -s "$1" "$2"; then return 0; fi
  log "restored data differs from the source at backup time:"
  diff "$1" "$2" | sed -n 's/^[<>]/  &/p' | head -n 20 >&2 || true
  return 1
}

# the full id of a dump snapshot of this job: "latest" is the newest that is not a safety
# snapshot (those are taken by restores); an id must name one of the job's dumps
resolve_snapshot() { # id-or-latest
  [ -f "$WORK/job.json" ] || list_job
  if [ "$1" = latest ]; then
    jq -r --arg p "$DUMP_FILE" 'map(select((.tags // []) | any(. == "wharf-dump") and (any(. == "wharf-safety") | not)) | select(.paths | any(. == $p)))
      | last | .id // empty' "$WORK/job.json" | grep . || fail "no snapshot of $JOB in the repository"
  else
    case "$1" in *[!0-9a-f]*|'') fail "invalid snapshot id: $1" 2;; esac
    jq -r --arg w "$1" 'map(select((.tags // []) | any(. == "wharf-dump")) | select(.id | startswith($w))) | if length == 1 then .[0].id else empty end' \
      "$WORK/job.json" | grep . || fail "no snapshot $1 of backup $JOB (an id of another backup is refused)"
  fi
}

# stream a snapshot's dump into a command: restic_dump_into SNAP cmd args...
# both sides' exit codes count (no pipefail in POSIX sh: a fifo and two waits).
restic_dump_into() {
  snap="$1"; shift
  fifo="$WORK/dump.fifo"; rm -f "$fifo"; mkfifo "$fifo"
  "$RESTIC" dump "$snap" "$DUMP_FILE" > "$fifo" 2>"$WORK/dump.err" &
  rpid=$!
  rc=0; "$@" < "$fifo" || rc=$?
  rrc=0; wait "$rpid" || rrc=$?
  rm -f "$fifo"
  if [ "$rrc" != 0 ]; then log "restic dump failed ($rrc): $(tail -n 3 "$WORK/dump.err" | tr '\n' ' ')"; return 3; fi
  return "$rc"
}

#!/bin/sh
# wharf backup: one restic snapshot of one job, checked before it counts.
#   backup.sh JOB [--tag TAG] [--safety]
# Exit 0 only when the snapshot exists, is big enough and reads back as a valid dump.
# Every run rewrites the job's metrics (last status, last success, size, duration).
. "$(dirname "$0")/lib.sh"
load_job "$1"; shift
EXTRA_TAG=""; SAFETY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) EXTRA_TAG="$2"; shift 2 ;;
    --safety) SAFETY=1; EXTRA_TAG="wharf-safety"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
STARTED="$(now)"
SF="$WHARF_STATE_DIR/$JOB.backup"
FAIL_REASON=""
finish() {
  rc=$?
  [ -n "${PG_CTL_FD:-}" ] && { exec 3>&- 2>/dev/null || true; }
  [ -n "${PSQL_PID:-}" ] && { kill "$PSQL_PID" 2>/dev/null || true; }
  for p in ${PGM_PID:-} ${MANIFEST_PID:-} ${FORGET_PID:-}; do kill "$p" 2>/dev/null || true; done
  end="$(now)"
  if [ "$rc" = 0 ]; then
    state_put "$SF" "last_run=$end" "last_status=1" "last_success=$end" "last_duration=$((end - STARTED))" "last_size=$SIZE" "last_added=$ADDED" "snapshots=$COUNT"
  else
    state_put "$SF" "last_run=$end" "last_status=0" "last_duration=$((end - STARTED))" "last_error=$(printf '%s' "${FAIL_REASON:-exit $rc}" | tr '\n=' '  ' | cut -c1-300)"
    log "backup of $JOB FAILED (exit $rc)"
  fi
  write_metrics || log "cannot write metrics to $WHARF_METRICS_DIR"
  cleanup
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
lock_job
# every restic command opens the repository (a key derivation of about a second on a busy
# host): the steps below run as few of them as the checks allow, and side by side when they can.
# In a steady run: the backup (also the repository's probe), then the read-back, the manifest and
# retention's dry run side by side, then one forget when retention drops something.

TAGS="--tag wharf-dump --tag job=$JOB --tag kind=$KIND"
[ -n "$EXTRA_TAG" ] && TAGS="$TAGS --tag $EXTRA_TAG"
MANIFEST=""

case "$KIND" in
  postgres)
    # One exported snapshot: pg_dump and the row-count/checksum manifest see the same data.
    mkfifo "$WORK/ctl"
    psql -X -q -At -v ON_ERROR_STOP=1 < "$WORK/ctl" > "$WORK/snap.out" 2> "$WORK/snap.err" &
    PSQL_PID=$!
    exec 3> "$WORK/ctl"; PG_CTL_FD=1
    printf 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n' >&3
    i=0; SNAP=""
    while [ -z "$SNAP" ]; do
      SNAP="$(grep -E '^[0-9A-F]+-[0-9A-F]+-[0-9]+$' "$WORK/snap.out" 2>/dev/null || true)"
      [ -n "$SNAP" ] && break
      kill -0 "$PSQL_PID" 2>/dev/null || fail "cannot connect to $DB_HOST:$DB_PORT/$DB_NAME: $(tail -n 2 "$WORK/snap.err" | tr '\n' ' ')"
      i=$((i + 1)); [ "$i" -gt 1500 ] && fail "timed out waiting for the database snapshot"
      sleep 0.02
    done
    progress manifest "counting rows and checksums"
    # read in the same snapshot while the dump runs; waited for before the snapshot is released
    pg_manifest "$DB_NAME" "$SNAP" > "$WORK/manifest.tsv" 2> "$WORK/manifest-read.err" &
    PGM_PID=$!
    MANIFEST="$WORK/manifest.tsv"
    set -- pg_dump -Fc -Z 0 --snapshot="$SNAP" --no-owner -d "$DB_NAME" ;;
  mysql)
    set -- mysqldump --defaults-extra-file="$MYCNF" --single-transaction --quick --routines --triggers --events --no-tablespaces --hex-blob "$DB_NAME" ;;
  redis)
    set -- sh -c 'redis-cli -h "$1" -p "$2" --no-auth-warning --rdb "$3" >/dev/null && cat "$3"' rdb "$DB_HOST" "$DB_PORT" "$WORK/dump.rdb" ;;
  volume)
    [ -d "$VOLUME_PATH" ] || fail "volume $VOLUME is not mounted at $VOLUME_PATH"
    set -- tar -C "$VOLUME_PATH" -cf - . ;;
esac

progress dump "dumping $KIND $TARGET into the repository"
# --stdin-from-command: restic keeps no snapshot when the dump command fails. restic starts the
# command only once the repository is open, and the command marks that first: so the backup is
# also the repository's probe (watched by probe_repo), and only a repository that did not open
# is looked at as before (open_repo: created only when it never held a backup), then backed up.
# A safety snapshot started by restore.sh skips the watch: its caller has just read the repository.
set -- sh -c ': > "$0"; exec "$@"' "$WORK/opened" "$@"
BACKUP_ARGS="backup --json --host wharf $TAGS --stdin-filename ${DUMP_FILE#/} --stdin-from-command --"
brc=0
if [ "${WHARF_REPO_OPEN:-}" = "$RESTIC_REPOSITORY" ]; then
  # shellcheck disable=SC2086
  "$RESTIC" $BACKUP_ARGS "$@" > "$WORK/backup.json" 2> "$WORK/backup.err" || brc=$?
else
  PROBE_OPENED="$WORK/opened"
  # shellcheck disable=SC2086
  probe_repo "$WORK/backup.json" $BACKUP_ARGS "$@" || brc=$?
  PROBE_OPENED=""
  cp "$WORK/open.err" "$WORK/backup.err"
  if [ "$brc" = 1 ]; then
    progress open "opening repository"
    open_repo
    progress dump "dumping $KIND $TARGET into the repository"
    brc=0
    # shellcheck disable=SC2086
    "$RESTIC" $BACKUP_ARGS "$@" > "$WORK/backup.json" 2> "$WORK/backup.err" || brc=$?
  fi
fi
[ "$brc" = 0 ] || fail "dump or upload failed; earlier snapshots were not touched: $(grep -v '^$' "$WORK/backup.err" | tail -n 3 | tr '\n' ' ')"
bad=""
if [ -n "${PSQL_PID:-}" ]; then
  wait "$PGM_PID" || bad="cannot read table checksums: $(tail -n 2 "$WORK/manifest-read.err" | tr '\n' ' ')"
  PGM_PID=""
  printf 'COMMIT;\n' >&3; exec 3>&-; PG_CTL_FD=""; wait "$PSQL_PID" || true; PSQL_PID=""
fi
# restic writes one JSON object per line (status lines, then the summary): read the summary's fields.
SUMMARY="$(jq -R -r 'fromjson? | select(.message_type == "summary") | "\(.snapshot_id // "") \(.total_bytes_processed // 0) \(.data_added // 0)"' \
  "$WORK/backup.json" | tail -n 1)"
SNAPSHOT="${SUMMARY%% *}"; SIZE="${SUMMARY#* }"; ADDED="${SIZE#* }"; SIZE="${SIZE%% *}"
[ -n "$SNAPSHOT" ] || fail "restic reported no snapshot: $(tail -n 3 "$WORK/backup.err" | tr '\n' ' ')"
SIZE="${SIZE:-0}"; ADDED="${ADDED:-0}"
progress check "checking snapshot ${SNAPSHOT%"${SNAPSHOT#????????}"} ($SIZE bytes)"

if [ "$KIND" = redis ] && [ -f "$WORK/dump.rdb" ]; then
  # key count and checksum of the RDB itself, for a restore to compare the loaded cache with
  if command -v redis-check-rdb >/dev/null 2>&1 && redis-check-rdb "$WORK/dump.rdb" > "$WORK/rdb.check" 2>&1; then
    RDB_KEYS="$(sed -n 's/.*\[info\] \([0-9]*\) keys read.*/\1/p' "$WORK/rdb.check")"
    RDB_EXPIRES="$(sed -n 's/.*\[info\] \([0-9]*\) expires.*/\1/p' "$WORK/rdb.check")"
    printf 'rdb%s%s%s%s\nexpires%s%s%s-\n' "$TAB" "${RDB_KEYS:-0}" "$TAB" "$(sha256sum "$WORK/dump.rdb" | cut -d' ' -f1)" "$TAB" "${RDB_EXPIRES:-0}" "$TAB" > "$WORK/manifest.tsv"
    MANIFEST="$WORK/manifest.tsv"
  else
    log "WARNING: redis-check-rdb missing or failed: no key count recorded, an in-place restore of this snapshot will be refused"
  fi
fi
# The manifest is stored and retention worked out while the dump is read back.
MANIFEST_PID=""; FORGET_PID=""
if [ -n "$MANIFEST" ] && [ -z "$bad" ]; then
  # a header line: restic refuses empty input, and an empty database has an empty manifest
  { printf '# wharf-manifest v1: table, rows, checksum of snapshot %s\n' "$SNAPSHOT"; cat "$MANIFEST"; } > "$WORK/manifest.store"
  "$RESTIC" backup --json --host wharf --tag wharf-manifest --tag "job=$JOB" --tag "for=$(printf '%s' "$SNAPSHOT" | cut -c1-8)" --stdin --stdin-filename manifest.tsv \
    < "$WORK/manifest.store" > "$WORK/manifest.json" 2> "$WORK/manifest.err" &
  MANIFEST_PID=$!
fi
# Size sanity: a dump below the floor is never a good backup (the 20-byte backups).
if [ -z "$bad" ] && [ "$SIZE" -lt "$MIN_BYTES" ] && [ "$SAFETY" = 0 ]; then bad="dump is $SIZE bytes, below the $MIN_BYTES-byte floor"; fi
if [ -z "$bad" ] && [ "$SAFETY" = 0 ]; then
  # retention's decision, read without a lock (restic allows --no-lock for forget only with
  # --dry-run); nothing is removed before the new dump has read back. Dumps and manifests in one
  # listing: restic groups them apart (by path), so the policy applies to the dumps alone.
  # shellcheck disable=SC2086
  "$RESTIC" --no-lock forget --dry-run --json --tag wharf-dump --tag wharf-manifest $RETENTION > "$WORK/forget.json" 2> "$WORK/forget.err" &
  FORGET_PID=$!
fi
# Format: read the snapshot back from the repository and parse it completely.
if [ -z "$bad" ]; then
  case "$KIND" in
    postgres) restic_dump_into "$SNAPSHOT" pg_restore -f /dev/null 2> "$WORK/check.err" || bad="the dump does not read back as a PostgreSQL archive: $(tail -n 2 "$WORK/check.err" | tr '\n' ' ')" ;;
    mysql) restic_dump_into "$SNAPSHOT" tail -n 1 > "$WORK/tail" || bad="cannot read the dump back"
           [ -n "$bad" ] || grep -q -- '-- Dump completed' "$WORK/tail" || bad="the dump is truncated (no 'Dump completed' trailer)" ;;
    redis) restic_dump_into "$SNAPSHOT" head -c 5 > "$WORK/magic" 2>/dev/null || true
           [ "$(cat "$WORK/magic")" = REDIS ] || bad="the dump is not a Redis RDB file" ;;
    volume) restic_dump_into "$SNAPSHOT" tar -tf - > /dev/null 2> "$WORK/check.err" || bad="the archive does not list: $(tail -n 2 "$WORK/check.err" | tr '\n' ' ')" ;;
  esac
fi
MRC=0; [ -z "$MANIFEST_PID" ] || wait "$MANIFEST_PID" || MRC=$?
MANIFEST_PID=""
FRC=0; [ -z "$FORGET_PID" ] || wait "$FORGET_PID" || FRC=$?
FORGET_PID=""
if [ -n "$bad" ]; then
  # A bad snapshot must never be restored by mistake: drop it, keep the evidence in the log.
  MANIFEST_ID="$(jq -R -r 'fromjson? | select(.message_type == "summary") | .snapshot_id // empty' "$WORK/manifest.json" 2>/dev/null | tail -n 1)"
  # shellcheck disable=SC2086
  restic_exclusive forget "$SNAPSHOT" $MANIFEST_ID >/dev/null 2>&1 || true
  fail "backup rejected: $bad"
fi
[ "$MRC" = 0 ] || fail "cannot store the table manifest: $(tail -n 2 "$WORK/manifest.err" | tr '\n' ' ')"
PREV="$(state_get "$SF" last_size)"
if [ -n "$PREV" ] && [ "$PREV" -gt 0 ] && [ $((SIZE * 2)) -lt "$PREV" ]; then
  log "WARNING: dump is less than half the previous one ($SIZE < $PREV bytes)"
fi

if [ "$SAFETY" = 1 ]; then
  # a restore's safety snapshot: the next scheduled backup applies retention
  COUNT="$(state_get "$SF" snapshots)"; COUNT="${COUNT:-0}"
else
  progress retention "applying retention ($RETENTION)"
  [ "$FRC" = 0 ] || fail "retention failed (the new snapshot is kept): $(grep -v '^$' "$WORK/forget.err" | tail -n 4 | tr '\n' ' ')"
  # From the dry run's dump groups (path $DUMP_FILE): the dumps kept and removed, and the
  # manifests that belong to no kept dump (those of the removed dumps, and any orphan). Three lines.
  grep '^\[' "$WORK/forget.json" | jq -r --arg p "$DUMP_FILE" 'map(select(.paths == [$p])) as $d | [$d[] | .keep // [] | .[].id[0:8]] as $kept
    | ([$d[] | .remove // [] | .[].id] | join(" ")), ($kept | length),
      ([.[] | (.keep // []) + (.remove // []) | .[] | select((.tags // []) | any(. == "wharf-manifest"))
        | select(((.tags // []) | map(select(startswith("for="))) | first // "for=" | .[4:]) as $f | $kept | index($f) | not) | .id] | join(" "))' \
    > "$WORK/retention.txt" || fail "retention failed: cannot read restic's forget --dry-run output"
  { read -r FORGOT && read -r COUNT && read -r OLD_MANIFESTS; } < "$WORK/retention.txt" || fail "retention failed: restic's forget --dry-run listed nothing"
  if [ -n "$FORGOT" ]; then
    [ "$COUNT" -gt 0 ] || fail "retention kept no snapshot of $JOB: refusing to forget its manifests"
    # manifests follow their dumps, and one exclusive forget --prune removes both. forget and
    # prune lock the repository exclusively: a lock left by a killed run is removed (restic
    # unlock removes stale locks only) and the command tried once more. The manifest stored
    # during this run is not in the dry run's listing: it is kept.
    # The forget runs every time (the snapshots kept are the policy's); the prune that gives back
    # their space at most once every WHARF_PRUNE_EVERY seconds (a day): it reads every index and
    # may repack, the largest share of retention's time, and deferring it only delays the space.
    PRUNE=""; LAST_PRUNE="$(state_get "$SF" last_prune)"
    [ -n "$LAST_PRUNE" ] && [ $(($(now) - LAST_PRUNE)) -lt "${WHARF_PRUNE_EVERY:-86400}" ] || PRUNE=--prune
    # shellcheck disable=SC2086
    restic_exclusive forget $PRUNE $FORGOT $OLD_MANIFESTS > "$WORK/prune.out" 2>> "$WORK/forget.err" \
      || fail "retention failed (the new snapshot is kept): $(grep -v '^$' "$WORK/forget.err" | tail -n 4 | tr '\n' ' ')"
    [ -z "$PRUNE" ] || state_put "$SF" "last_prune=$(now)"
  fi
fi
DURATION=$(( $(now) - STARTED ))
progress done "snapshot $SNAPSHOT, $SIZE bytes, $ADDED added, ${DURATION}s"
result "{\"job\":\"$JOB\",\"kind\":\"$KIND\",\"snapshot\":\"$SNAPSHOT\",\"bytes\":$SIZE,\"added\":$ADDED,\"snapshots\":$COUNT,\"durationSeconds\":$DURATION,\"manifest\":$([ -n "$MANIFEST" ] && echo true || echo false)}"

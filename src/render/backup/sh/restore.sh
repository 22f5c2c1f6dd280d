#!/bin/sh
# wharf restore: a snapshot back into its own target (after a safety snapshot of what is
# there now), or into a scratch target beside it; then the result is checked against the
# manifest taken with the backup.
#   restore.sh JOB SNAPSHOT|latest [--to-scratch [NAME]] [--no-safety] [--check]
# A restore only ever writes to the database or volume its job names. Whatever writes to that
# data is stopped by `wharf restore` first (these scripts run beside it and cannot stop it).
# Redis loads its RDB only when it starts: the first run puts the file in place while the
# cache is stopped, and a second run with --check compares the started cache with the backup.
. "$(dirname "$0")/lib.sh"
load_job "$1"; shift
WANT="${1:-latest}"; [ $# -gt 0 ] && shift
SCRATCH=""; SAFETY=1; CHECK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --to-scratch) SCRATCH="auto"; if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then SCRATCH="$2"; shift; fi; shift ;;
    --no-safety) SAFETY=0; shift ;;
    --check) CHECK=1; SAFETY=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$CHECK" = 0 ] || [ "$KIND" = redis ] || { echo "--check is for redis jobs" >&2; exit 2; }
FAIL_REASON=""
trap 'cleanup' EXIT
trap 'exit 130' INT TERM
progress open "opening repository"
list_job
SNAPSHOT="$(resolve_snapshot "$WANT")"
short="$(printf '%s' "$SNAPSHOT" | cut -c1-8)"
# the manifest is read while the safety snapshot is taken (restic's shared locks allow both)
MANIFEST_PID=""
if [ "$KIND" = postgres ] || [ "$KIND" = redis ]; then
  load_manifest "$SNAPSHOT" "$WORK/expected.tsv" &
  MANIFEST_PID=$!
fi
have_manifest() { [ -n "$MANIFEST_PID" ] && wait "$MANIFEST_PID"; }
# and a small snapshot is fetched to a file meanwhile: the restore then reads a local copy
PREFETCH_PID=""; PREFETCHED=""
SNAP_BYTES="$(jq -r --arg id "$SNAPSHOT" 'map(select(.id == $id)) | .[0].summary.total_bytes_processed // empty' "$WORK/job.json")"
if [ "$CHECK" = 0 ] && [ -n "$SNAP_BYTES" ] && [ "$SNAP_BYTES" -le "${WHARF_PREFETCH_MAX:-268435456}" ]; then
  "$RESTIC" dump "$SNAPSHOT" "$DUMP_FILE" > "$WORK/prefetch" 2> "$WORK/prefetch.err" &
  PREFETCH_PID=$!
fi
# snapshot_into SNAP cmd args...: the snapshot's dump into a command, from the local copy if any
snapshot_into() {
  if [ -n "$PREFETCH_PID" ]; then
    prc=0; wait "$PREFETCH_PID" || prc=$?; PREFETCH_PID=""
    if [ "$prc" = 0 ]; then PREFETCHED="$WORK/prefetch"; else log "fetching $short ahead failed ($prc), streaming it: $(tail -n 1 "$WORK/prefetch.err")"; fi
  fi
  if [ -n "$PREFETCHED" ]; then shift; "$@" < "$PREFETCHED"; return; fi
  restic_dump_into "$@"
}

SAFETY_ID=""
if [ -z "$SCRATCH" ] && [ "$SAFETY" = 1 ] && [ "$KIND" != redis ]; then
  progress safety "taking a safety snapshot of the current $TARGET before overwriting it"
  WHARF_NESTED=1 WHARF_REPO_OPEN="$RESTIC_REPOSITORY" "$(dirname "$0")/backup.sh" "$JOB" --safety > "$WORK/safety.json" || fail "safety snapshot failed; nothing was overwritten"
  SAFETY_ID="$(jq -R -r 'fromjson? | .snapshot // empty' "$WORK/safety.json" | tail -n 1)"
fi
progress lock "taking the lock of $JOB"
lock_job

TABLES=0; VERIFIED=false; DEST=""
case "$KIND" in
  postgres)
    if [ -n "$SCRATCH" ]; then
      [ "$SCRATCH" = auto ] && SCRATCH="${DB_NAME}_restore_$short"
      case "$SCRATCH" in *[!a-zA-Z0-9_]*) fail "invalid scratch database name $SCRATCH" 2;; esac
      [ "$SCRATCH" != "$DB_NAME" ] || fail "the scratch database cannot be $DB_NAME itself" 2
      psql -X -q -v ON_ERROR_STOP=1 -d "$DB_NAME" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" -c "CREATE DATABASE \"$SCRATCH\"" >/dev/null 2>"$WORK/err" || fail "cannot create $SCRATCH: $(tail -n 1 "$WORK/err")"
      DEST="$SCRATCH"
      progress restore "restoring $short into scratch database $DEST"
      snapshot_into "$SNAPSHOT" pg_restore --no-owner --exit-on-error -d "$DEST" 2>"$WORK/err" || fail "restore failed: $(grep -v '^$' "$WORK/err" | tail -n 2 | tr '\n' ' ')"
    else
      DEST="$DB_NAME"
      progress restore "restoring $short into $DEST (one transaction: all or nothing)"
      snapshot_into "$SNAPSHOT" pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error -d "$DEST" 2>"$WORK/err" \
        || fail "restore failed and was rolled back; $DEST is as before: $(grep -v '^$' "$WORK/err" | tail -n 2 | tr '\n' ' ')"
    fi
    progress check "comparing row counts and checksums with the backup's manifest"
    HAVE=1; have_manifest || HAVE=0
    pg_manifest "$DEST" > "$WORK/actual.tsv" || fail "cannot read $DEST after the restore"
    if [ "$HAVE" = 1 ]; then
      # tables that exist now but not in the backup are reported, not dropped
      cut -f1 "$WORK/expected.tsv" > "$WORK/names"
      : > "$WORK/actual.sel"
      while IFS= read -r t; do grep "^$t$TAB" "$WORK/actual.tsv" >> "$WORK/actual.sel" || true; done < "$WORK/names"
      compare_manifests "$WORK/expected.tsv" "$WORK/actual.sel" || fail "restored $DEST does not match snapshot $short${SAFETY_ID:+ (safety snapshot: $SAFETY_ID)}"
      VERIFIED=true
    else
      log "WARNING: snapshot $short has no manifest: restored, but not compared"
    fi
    TABLES="$(wc -l < "$WORK/actual.tsv" | tr -d ' ')" ;;
  mysql)
    if [ -n "$SCRATCH" ]; then
      [ "$SCRATCH" = auto ] && SCRATCH="${DB_NAME}_restore_$short"
      case "$SCRATCH" in *[!a-zA-Z0-9_]*) fail "invalid scratch database name $SCRATCH" 2;; esac
      mysql --defaults-extra-file="$MYCNF" -e "DROP DATABASE IF EXISTS \`$SCRATCH\`; CREATE DATABASE \`$SCRATCH\`" 2>"$WORK/err" || fail "cannot create $SCRATCH: $(tail -n 1 "$WORK/err")"
      DEST="$SCRATCH"
    else
      DEST="$DB_NAME"
    fi
    progress restore "restoring $short into $DEST"
    snapshot_into "$SNAPSHOT" mysql --defaults-extra-file="$MYCNF" "$DEST" 2>"$WORK/err" || fail "restore failed: $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    TABLES="$(mysql --defaults-extra-file="$MYCNF" -N -e "SELECT count(*) FROM information_schema.tables WHERE table_schema='$DEST'")"
    EXPECTED="$(snapshot_into "$SNAPSHOT" grep -c '^CREATE TABLE' || true)"
    [ "$TABLES" -ge "$EXPECTED" ] || fail "restored $DEST has $TABLES tables, the dump defines $EXPECTED"
    VERIFIED=true ;;
  redis)
    if [ -n "$SCRATCH" ]; then
      DEST="$WHARF_TMP/wharf-restore-$JOB-$short.rdb"
      snapshot_into "$SNAPSHOT" sh -c 'cat > "$1"' rdb "$DEST" || fail "cannot read snapshot $short"
      [ "$(head -c 5 "$DEST")" = REDIS ] || fail "snapshot $short is not an RDB file"
      VERIFIED=true
    else
      [ -n "${REDIS_VOLUME:-}" ] || fail "cache $TARGET has no persistence volume: a restored RDB would never be loaded. Set caches.$TARGET.persistence: true (or restore --to-scratch for the file)" 2
      DIR="$WHARF_VOLUMES_DIR/$REDIS_VOLUME"; DEST="$DIR/dump.rdb"
      [ -d "$DIR" ] || fail "volume $REDIS_VOLUME is not mounted at $DIR"
      # what the backup recorded: key count and checksum of the RDB (older snapshots: read it from the RDB)
      KEYS=""; EXPIRES=0; SUM=""
      progress manifest "reading the key count and checksum recorded with $short"
      if have_manifest; then
        KEYS="$(awk -F "$TAB" '$1 == "rdb" { print $2; exit }' "$WORK/expected.tsv")"
        SUM="$(awk -F "$TAB" '$1 == "rdb" { print $3; exit }' "$WORK/expected.tsv")"
        EXPIRES="$(awk -F "$TAB" '$1 == "expires" { print $2; exit }' "$WORK/expected.tsv")"; EXPIRES="${EXPIRES:-0}"
      fi
      if [ "$CHECK" = 1 ]; then
        progress check "comparing the keys of the started cache with the backup"
        if [ -z "$KEYS" ]; then KEYS="$(state_get "$DIR/.wharf-restore" keys)"; EXPIRES="$(state_get "$DIR/.wharf-restore" expires)"; EXPIRES="${EXPIRES:-0}"; fi
        [ -n "$KEYS" ] || fail "no key count recorded for snapshot $short: cannot check the restored cache"
        N="$(redis-cli -h "$DB_HOST" -p "$DB_PORT" --no-auth-warning DBSIZE 2>"$WORK/err")" || fail "cannot reach $TARGET after the restore: $(tail -n 1 "$WORK/err")"
        # keys with a TTL may have expired since the backup; nothing else may be missing
        [ "$N" -le "$KEYS" ] && [ "$N" -ge $((KEYS - EXPIRES)) ] || fail "restored $TARGET has $N keys, the backup has $KEYS ($EXPIRES with a TTL)"
        TABLES="$N"; VERIFIED=true
      else
        # Redis rewrites dump.rdb when it shuts down: a running cache would undo the restore.
        # A running cache answers at once; the name of a stopped one can take 40 s to fail to
        # resolve (the engine's DNS asks the host's resolvers), so the probe is bounded.
        progress stopped "making sure $TARGET is stopped"
        if timeout 3 redis-cli -h "$DB_HOST" -p "$DB_PORT" --no-auth-warning PING 2>/dev/null | grep -q PONG; then
          fail "Redis $TARGET is still running: stop it first (wharf restore does), or it overwrites the restored file" 2
        fi
        progress restore "restoring $short into $DEST (volume $REDIS_VOLUME)"
        NEW="$DIR/.dump.rdb.wharf-restore"
        snapshot_into "$SNAPSHOT" sh -c 'cat > "$1"' rdb "$NEW" || { rm -f "$NEW"; fail "cannot read snapshot $short"; }
        [ "$(head -c 5 "$NEW")" = REDIS ] || { rm -f "$NEW"; fail "snapshot $short is not an RDB file"; }
        if [ -n "$SUM" ]; then
          [ "$(sha256sum "$NEW" | cut -d' ' -f1)" = "$SUM" ] || { rm -f "$NEW"; fail "restored RDB does not match the checksum recorded with snapshot $short"; }
        fi
        if [ -z "$KEYS" ] && command -v redis-check-rdb >/dev/null 2>&1; then
          progress check "reading the key count from the RDB (redis-check-rdb)"
          redis-check-rdb "$NEW" > "$WORK/check.out" 2>&1 || { rm -f "$NEW"; fail "snapshot $short is a damaged RDB: $(tail -n 2 "$WORK/check.out" | tr '\n' ' ')"; }
          KEYS="$(sed -n 's/.*\[info\] \([0-9]*\) keys read.*/\1/p' "$WORK/check.out")"
          EXPIRES="$(sed -n 's/.*\[info\] \([0-9]*\) expires.*/\1/p' "$WORK/check.out")"; EXPIRES="${EXPIRES:-0}"
        fi
        [ -n "$KEYS" ] || { rm -f "$NEW"; fail "snapshot $short has no recorded key count and redis-check-rdb is missing: refusing a restore that cannot be checked"; }
        # keep the file's owner (the cache's user), and the replaced RDB beside it
        [ -f "$DEST" ] && { chown "$(stat -c %u:%g "$DEST")" "$NEW" 2>/dev/null || true; mv -f "$DEST" "$DIR/dump.rdb.before-restore"; }
        chmod 644 "$NEW"; mv -f "$NEW" "$DEST"
        state_put "$DIR/.wharf-restore" "snapshot=$SNAPSHOT" "keys=$KEYS" "expires=$EXPIRES"
        TABLES="$KEYS"; VERIFIED=false
      fi
    fi ;;
  volume)
    if [ -n "$SCRATCH" ]; then
      DEST="$WHARF_TMP/wharf-restore-$JOB-$short"; rm -rf "$DEST"; mkdir -p "$DEST"
    else
      DEST="$VOLUME_PATH"
      [ -d "$DEST" ] || fail "volume $VOLUME is not mounted at $DEST"
      find "$DEST" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    fi
    progress restore "restoring $short into $DEST"
    snapshot_into "$SNAPSHOT" tar -C "$DEST" -xpf - 2>"$WORK/err" || fail "restore failed${SAFETY_ID:+ (safety snapshot: $SAFETY_ID)}: $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    # every file of the archive, with its size, must be there (restic authenticates the content)
    progress check "comparing the restored files with the snapshot's listing"
    # GNU tar escapes non-ASCII names in the C locale; busybox tar prints them as they are
    QUOTE=""; tar --version 2>/dev/null | grep -q GNU && QUOTE="--quoting-style=literal"
    # shellcheck disable=SC2086
    snapshot_into "$SNAPSHOT" tar $QUOTE -tvf - > "$WORK/listing" 2>"$WORK/err" || fail "cannot list snapshot $short: $(tail -n 1 "$WORK/err")"
    awk '$1 ~ /^-/ { n = $6; for (i = 7; i <= NF; i++) n = n " " $i; sub(/^\.\//, "", n); print $3 "\t" n }' "$WORK/listing" | sort > "$WORK/expected.files"
    (cd "$DEST" && find . -type f -exec stat -c '%s %n' {} +) | awk '{ s = $1; sub(/^[0-9]+ \.\//, ""); print s "\t" $0 }' | sort > "$WORK/actual.files"
    TABLES="$(wc -l < "$WORK/actual.files" | tr -d ' ')"
    compare_manifests "$WORK/expected.files" "$WORK/actual.files" \
      || fail "restored files in $DEST differ from snapshot $short ($TABLES files, the archive has $(wc -l < "$WORK/expected.files" | tr -d ' '))${SAFETY_ID:+ (safety snapshot: $SAFETY_ID)}"
    VERIFIED=true ;;
esac
progress done "restored $short into $DEST"
result "{\"job\":\"$JOB\",\"snapshot\":\"$SNAPSHOT\",\"destination\":$(json_str "$DEST"),\"scratch\":$([ -n "$SCRATCH" ] && echo true || echo false),\"safetySnapshot\":$(json_str "$SAFETY_ID"),\"verified\":$VERIFIED,\"tables\":$TABLES}"

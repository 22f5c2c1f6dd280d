#!/bin/sh
# wharf restore: a snapshot back into its own target (after a safety snapshot of what is
# there now), or into a scratch target beside it; then the result is checked against the
# manifest taken with the backup.
#   restore.sh JOB SNAPSHOT|latest [--to-scratch [NAME]] [--no-safety]
# A restore only ever writes to the database or volume its job names.
. "$(dirname "$0")/lib.sh"
load_job "$1"; shift
WANT="${1:-latest}"; [ $# -gt 0 ] && shift
SCRATCH=""; SAFETY=1
while [ $# -gt 0 ]; do
  case "$1" in
    --to-scratch) SCRATCH="auto"; if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then SCRATCH="$2"; shift; fi; shift ;;
    --no-safety) SAFETY=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FAIL_REASON=""
trap 'cleanup' EXIT
trap 'exit 130' INT TERM
"$RESTIC" cat config >/dev/null 2>"$WORK/open.err" || fail "repository unreachable or unreadable: $(tail -n 2 "$WORK/open.err" | tr '\n' ' ')"
SNAPSHOT="$(resolve_snapshot "$WANT")"
short="$(printf '%s' "$SNAPSHOT" | cut -c1-8)"
"$RESTIC" snapshots --json "$SNAPSHOT" > "$WORK/snap.json" 2>"$WORK/snap.err" || fail "no snapshot $WANT: $(tail -n 1 "$WORK/snap.err")"
grep -q "\"job=$JOB\"" "$WORK/snap.json" || fail "snapshot $short does not belong to backup $JOB"

SAFETY_ID=""
if [ -z "$SCRATCH" ] && [ "$SAFETY" = 1 ] && [ "$KIND" != redis ]; then
  progress safety "taking a safety snapshot of the current $TARGET before overwriting it"
  "$(dirname "$0")/backup.sh" "$JOB" --safety > "$WORK/safety.json" || fail "safety snapshot failed; nothing was overwritten"
  SAFETY_ID="$(sed -n 's/.*"snapshot":"\([0-9a-f]*\)".*/\1/p' "$WORK/safety.json")"
fi
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
      restic_dump_into "$SNAPSHOT" pg_restore --no-owner --exit-on-error -d "$DEST" 2>"$WORK/err" || fail "restore failed: $(grep -v '^$' "$WORK/err" | tail -n 2 | tr '\n' ' ')"
    else
      DEST="$DB_NAME"
      progress restore "restoring $short into $DEST (one transaction: all or nothing)"
      restic_dump_into "$SNAPSHOT" pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error -d "$DEST" 2>"$WORK/err" \
        || fail "restore failed and was rolled back; $DEST is as before: $(grep -v '^$' "$WORK/err" | tail -n 2 | tr '\n' ' ')"
    fi
    progress check "comparing row counts and checksums with the backup's manifest"
    HAVE=1; load_manifest "$SNAPSHOT" "$WORK/expected.tsv" || HAVE=0
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
    restic_dump_into "$SNAPSHOT" mysql --defaults-extra-file="$MYCNF" "$DEST" 2>"$WORK/err" || fail "restore failed: $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    TABLES="$(mysql --defaults-extra-file="$MYCNF" -N -e "SELECT count(*) FROM information_schema.tables WHERE table_schema='$DEST'")"
    EXPECTED="$(restic_dump_into "$SNAPSHOT" grep -c '^CREATE TABLE' || true)"
    [ "$TABLES" -ge "$EXPECTED" ] || fail "restored $DEST has $TABLES tables, the dump defines $EXPECTED"
    VERIFIED=true ;;
  redis)
    # Redis loads its RDB only at start: the file is written next to the repository and
    # `wharf restore` swaps it into the data volume while the cache is stopped.
    DEST="$WHARF_TMP/wharf-restore-$JOB-$short.rdb"
    restic_dump_into "$SNAPSHOT" sh -c 'cat > "$1"' rdb "$DEST" || fail "cannot read snapshot $short"
    [ "$(head -c 5 "$DEST")" = REDIS ] || fail "snapshot $short is not an RDB file"
    VERIFIED=true ;;
  volume)
    if [ -n "$SCRATCH" ]; then
      DEST="$WHARF_TMP/wharf-restore-$JOB-$short"; rm -rf "$DEST"; mkdir -p "$DEST"
    else
      DEST="$VOLUME_PATH"
      [ -d "$DEST" ] || fail "volume $VOLUME is not mounted at $DEST"
      find "$DEST" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    fi
    progress restore "restoring $short into $DEST"
    restic_dump_into "$SNAPSHOT" tar -C "$DEST" -xpf - 2>"$WORK/err" || fail "restore failed${SAFETY_ID:+ (safety snapshot: $SAFETY_ID)}: $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    EXPECTED="$(restic_dump_into "$SNAPSHOT" tar -tf - | grep -v '/$' | wc -l | tr -d ' ')"
    TABLES="$(cd "$DEST" && find . ! -type d | wc -l | tr -d ' ')"
    [ "$TABLES" = "$EXPECTED" ] || fail "restored $TABLES files, the archive has $EXPECTED"
    VERIFIED=true ;;
esac
progress done "restored $short into $DEST"
result "{\"job\":\"$JOB\",\"snapshot\":\"$SNAPSHOT\",\"destination\":$(json_str "$DEST"),\"scratch\":$([ -n "$SCRATCH" ] && echo true || echo false),\"safetySnapshot\":$(json_str "$SAFETY_ID"),\"verified\":$VERIFIED,\"tables\":$TABLES}"

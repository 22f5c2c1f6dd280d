#!/bin/sh
# wharf verify: restic check (reading a share of the data) and a test restore of the
# latest snapshot into a scratch database, compared table by table (row counts and
# checksums) with the source as it was when the backup was taken.
#   verify.sh JOB [--no-restore-test] [--read-data-subset 10%]
# Exit non-zero and wharf_backup_verify_last_status 0 on any failure.
. "$(dirname "$0")/lib.sh"
load_job "$1"; shift
SUBSET="${READ_DATA_SUBSET:-10%}"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-restore-test) RESTORE_TEST=0; shift ;;
    --restore-test) RESTORE_TEST=1; shift ;;
    --read-data-subset) SUBSET="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
VF="$WHARF_STATE_DIR/$JOB.verify"
FAIL_REASON=""; RT_STATUS=""; TABLES=0; SCRATCH=""; SNAPSHOT=""
finish() {
  rc=$?
  if [ -n "$SCRATCH" ] && [ "$KIND" = postgres ]; then psql -X -q -d "$DB_NAME" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" >/dev/null 2>&1 || true; fi
  if [ -n "$SCRATCH" ] && [ "$KIND" = mysql ]; then mysql --defaults-extra-file="$MYCNF" -e "DROP DATABASE IF EXISTS \`$SCRATCH\`" >/dev/null 2>&1 || true; fi
  end="$(now)"
  if [ "$rc" = 0 ]; then
    state_put "$VF" "last_run=$end" "last_status=1" "last_success=$end" "snapshot=${SNAPSHOT:-}" ${RT_STATUS:+"restore_test_status=$RT_STATUS"}
  else
    state_put "$VF" "last_run=$end" "last_status=0" "snapshot=${SNAPSHOT:-}" ${RT_STATUS:+"restore_test_status=$RT_STATUS"} "last_error=$(printf '%s' "${FAIL_REASON:-exit $rc}" | tr '\n=' '  ' | cut -c1-300)"
    log "verification of $JOB FAILED (exit $rc)"
  fi
  write_metrics || log "cannot write metrics to $WHARF_METRICS_DIR"
  cleanup
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
lock_job
list_job
progress check "restic check --read-data-subset $SUBSET"
restic_exclusive check --read-data-subset "$SUBSET" > "$WORK/check.out" 2>&1 \
  || fail "restic check found damage: $(grep -iE 'error|fatal|invalid|mismatch|damaged' "$WORK/check.out" | head -n 3 | tr '\n' ' ')"

if [ "${RESTORE_TEST:-1}" = 1 ]; then
  SNAPSHOT="$(resolve_snapshot latest)"
  short="$(printf '%s' "$SNAPSHOT" | cut -c1-8)"
  progress restore-test "restoring snapshot $short into a scratch target"
  RT_STATUS=0
  case "$KIND" in
    postgres)
      SCRATCH="${DB_NAME}_wharf_verify"
      psql -X -q -v ON_ERROR_STOP=1 -d "$DB_NAME" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" -c "CREATE DATABASE \"$SCRATCH\"" >/dev/null 2>"$WORK/rt.err" \
        || fail "cannot create scratch database $SCRATCH: $(tail -n 1 "$WORK/rt.err")"
      restic_dump_into "$SNAPSHOT" pg_restore --no-owner --exit-on-error -d "$SCRATCH" 2>"$WORK/rt.err" \
        || fail "test restore of $short failed: $(grep -v '^$' "$WORK/rt.err" | tail -n 2 | tr '\n' ' ')"
      HAVE=1; load_manifest "$SNAPSHOT" "$WORK/expected.tsv" || HAVE=0
      pg_manifest "$SCRATCH" > "$WORK/actual.tsv" || fail "cannot read the scratch database"
      TABLES="$(wc -l < "$WORK/actual.tsv" | tr -d ' ')"
      if [ "$HAVE" = 1 ]; then
        compare_manifests "$WORK/expected.tsv" "$WORK/actual.tsv" || fail "test restore of $short does not match the source: row counts or checksums differ"
      else
        log "WARNING: snapshot $short has no manifest; only checked that it restores"
      fi ;;
    mysql)
      SCRATCH="$(printf '%s' "${DB_NAME}_wharf_verify" | cut -c1-64)"
      mysql --defaults-extra-file="$MYCNF" -e "DROP DATABASE IF EXISTS \`$SCRATCH\`; CREATE DATABASE \`$SCRATCH\`" 2>"$WORK/rt.err" || fail "cannot create scratch database: $(tail -n 1 "$WORK/rt.err")"
      restic_dump_into "$SNAPSHOT" mysql --defaults-extra-file="$MYCNF" "$SCRATCH" 2>"$WORK/rt.err" || fail "test restore of $short failed: $(tail -n 2 "$WORK/rt.err" | tr '\n' ' ')"
      TABLES="$(mysql --defaults-extra-file="$MYCNF" -N -e "SELECT count(*) FROM information_schema.tables WHERE table_schema='$SCRATCH'")"
      EXPECTED="$(restic_dump_into "$SNAPSHOT" grep -c '^CREATE TABLE' || true)"
      [ "$TABLES" = "$EXPECTED" ] || fail "test restore of $short has $TABLES tables, the dump defines $EXPECTED" ;;
    redis)
      restic_dump_into "$SNAPSHOT" sh -c 'cat > "$1"' rdb "$WORK/test.rdb" || fail "cannot read snapshot $short"
      if command -v redis-check-rdb >/dev/null 2>&1; then
        redis-check-rdb "$WORK/test.rdb" > "$WORK/rt.err" 2>&1 || fail "RDB check failed: $(tail -n 2 "$WORK/rt.err" | tr '\n' ' ')"
      else
        [ "$(head -c 5 "$WORK/test.rdb")" = REDIS ] || fail "snapshot $short is not an RDB file"
      fi ;;
    volume)
      TABLES="$(restic_dump_into "$SNAPSHOT" tar -tf - 2>"$WORK/rt.err" | wc -l | tr -d ' ')"
      [ "$TABLES" -gt 0 ] || fail "archive $short lists no files: $(tail -n 1 "$WORK/rt.err")" ;;
  esac
  RT_STATUS=1
fi
progress done "verified $JOB"
result "{\"job\":\"$JOB\",\"verified\":true,\"restoreTest\":$([ "${RESTORE_TEST:-1}" = 1 ] && echo true || echo false),\"tables\":$TABLES}"

#!/bin/sh
# wharf list: one JSON line per job: its dump snapshots (restic's JSON, with sizes) and the
# state of its last backup and verification runs.
#   list.sh JOB
. "$(dirname "$0")/lib.sh"
load_job "$1"
trap 'cleanup' EXIT
need_repo "$WORK/snaps.json" snapshots --json --tag wharf-dump
b="$WHARF_STATE_DIR/$JOB.backup"; v="$WHARF_STATE_DIR/$JOB.verify"
n() { x="$(state_get "$1" "$2")"; printf '%s' "${x:-null}"; }
printf '{"job":"%s","kind":"%s","target":"%s","backup":{"status":%s,"lastSuccess":%s,"lastRun":%s,"error":%s},"verify":{"status":%s,"lastRun":%s,"lastSuccess":%s,"snapshot":%s,"restoreTest":%s,"error":%s},"snapshots":%s}\n' \
  "$JOB" "$KIND" "$TARGET" "$(n "$b" last_status)" "$(n "$b" last_success)" "$(n "$b" last_run)" "$(json_str "$(state_get "$b" last_error)")" \
  "$(n "$v" last_status)" "$(n "$v" last_run)" "$(n "$v" last_success)" "$(json_str "$(state_get "$v" snapshot)")" "$(n "$v" restore_test_status)" "$(json_str "$(state_get "$v" last_error)")" \
  "$(cat "$WORK/snaps.json")"

#!/bin/sh
# wharf backup scheduler: the container's main process. Reads $WHARF_BACKUP_HOME/schedule
# ("m h dom mon dow command args", cron syntax: * */n a-b a-b/n lists), wakes every minute
# and starts what is due. Output goes to the container log. Same script on busybox and Debian,
# so no crond flavour matters. A job still running when it is due again is skipped (lock).
set -euf
WHARF_BACKUP_HOME="${WHARF_BACKUP_HOME:-/backup}"
SCHEDULE="${WHARF_SCHEDULE:-$WHARF_BACKUP_HOME/schedule}"

# field_match VALUE FIELD
field_match() {
  v="$1"; old_ifs="$IFS"; IFS=','
  for part in $2; do
    IFS="$old_ifs"
    step=1; range="$part"
    case "$part" in */*) step="${part#*/}"; range="${part%/*}";; esac
    case "$range" in
      '*') lo=0; hi=99 ;;
      *-*) lo="${range%-*}"; hi="${range#*-}" ;;
      *) lo="$range"; hi="$range"; [ "$step" != 1 ] && hi=99 ;;
    esac
    if [ "$v" -ge "$lo" ] && [ "$v" -le "$hi" ] && [ $(( (v - lo) % step )) -eq 0 ]; then IFS="$old_ifs"; return 0; fi
  done
  IFS="$old_ifs"; return 1
}

# cron_match "m h dom mon dow" MIN HOUR DOM MON DOW
cron_match() {
  # shellcheck disable=SC2086
  set -- $1 "$2" "$3" "$4" "$5" "$6"
  f_m="$1"; f_h="$2"; f_dom="$3"; f_mon="$4"; f_dow="$5"
  field_match "$6" "$f_m" || return 1
  field_match "$7" "$f_h" || return 1
  field_match "$9" "$f_mon" || return 1
  dow="${10}"; [ "$dow" = 7 ] && dow=0
  if [ "$f_dom" != '*' ] && [ "$f_dow" != '*' ]; then
    field_match "$8" "$f_dom" || field_match "$dow" "$f_dow" || { [ "$dow" = 0 ] && field_match 7 "$f_dow"; }
  else
    field_match "$8" "$f_dom" && { field_match "$dow" "$f_dow" || { [ "$dow" = 0 ] && field_match 7 "$f_dow"; }; }
  fi
}

num() { n="${1#0}"; printf '%s' "${n:-0}"; }

run_due() { # "M H DOM MON DOW"
  # shellcheck disable=SC2086
  set -- $1
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue;; esac
    # shellcheck disable=SC2086
    set -- $line
    expr="$1 $2 $3 $4 $5"; shift 5
    if cron_match "$expr" "$(num "$M")" "$(num "$H")" "$(num "$D")" "$(num "$MO")" "$(num "$W")"; then
      echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) scheduler: starting $*"
      ( "$WHARF_BACKUP_HOME/bin/$1.sh" "$2" || echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) scheduler: $* exited $?" ) &
    fi
  done < "$SCHEDULE"
}

if [ "${1:-}" = "--match" ]; then shift; cron_match "$@"; exit $?; fi
if [ "${1:-}" = "--once" ]; then
  # run what is due this minute, wait for it (used by tests and `wharf doctor`)
  set -- $(date +'%M %H %d %m %w')
  M="$1"; H="$2"; D="$3"; MO="$4"; W="$5"
  run_due "$M $H $D $MO $W"
  wait
  exit 0
fi

echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) scheduler: $(grep -c -v -e '^#' -e '^$' "$SCHEDULE") entries from $SCHEDULE"
trap 'exit 0' INT TERM
while :; do
  # sleep to the next minute boundary
  s="$(date +%S)"; sleep $((60 - $(num "$s"))) & wait $!
  set -- $(date +'%M %H %d %m %w')
  M="$1"; H="$2"; D="$3"; MO="$4"; W="$5"
  run_due "$M $H $D $MO $W"
done

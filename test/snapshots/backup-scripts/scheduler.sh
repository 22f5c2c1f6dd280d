#!/bin/sh
# wharf backup scheduler: the container's main process. Reads $WHARF_BACKUP_HOME/schedule
# ("m h dom mon dow command args"; each field `*` or a comma list of numbers: the renderer
# expands cron syntax with the cron library, so nothing here does arithmetic on it), wakes
# every minute and starts what is due. Output goes to the container log. Same script on
# busybox and Debian, so no crond flavour matters. A job still running when it is due again
# is skipped (lock).
set -euf
WHARF_BACKUP_HOME="${WHARF_BACKUP_HOME:-/backup}"
SCHEDULE="${WHARF_SCHEDULE:-$WHARF_BACKUP_HOME/schedule}"

# field_ok FIELD: `*` or a plain comma list of numbers
field_ok() {
  case "$1" in '*') return 0;; ''|*[!0-9,]*|,*|*,|*,,*) return 1;; esac
}

# field_match VALUE FIELD: list membership only
field_match() {
  [ "$2" = '*' ] && return 0
  case ",$2," in *",$1,"*) return 0;; esac
  return 1
}

# cron_match "m h dom mon dow" MIN HOUR DOM MON DOW (DOW 0-6, Sunday 0)
cron_match() {
  # shellcheck disable=SC2086
  set -- $1 "$2" "$3" "$4" "$5" "$6"
  [ $# = 10 ] || return 1
  for f in "$1" "$2" "$3" "$4" "$5"; do field_ok "$f" || return 1; done
  f_m="$1"; f_h="$2"; f_dom="$3"; f_mon="$4"; f_dow="$5"
  field_match "$6" "$f_m" || return 1
  field_match "$7" "$f_h" || return 1
  field_match "$9" "$f_mon" || return 1
  # cron's rule: when both day fields are restricted, either may match
  if [ "$f_dom" != '*' ] && [ "$f_dow" != '*' ]; then
    field_match "$8" "$f_dom" || field_match "${10}" "$f_dow"
  else
    field_match "$8" "$f_dom" && field_match "${10}" "$f_dow"
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
# --match-each "m h dom mon dow": one "MIN HOUR DOM MON DOW" a line on stdin, 1 or 0 out (tests)
if [ "${1:-}" = "--match-each" ]; then
  while read -r a b c d e; do
    if cron_match "$2" "$(num "$a")" "$(num "$b")" "$(num "$c")" "$(num "$d")" "$(num "$e")"; then echo 1; else echo 0; fi
  done
  exit 0
fi
if [ "${1:-}" = "--once" ]; then
  # run what is due this minute, wait for it (used by tests and `wharf doctor`)
  set -- $(date -u +'%M %H %d %m %w')
  M="$1"; H="$2"; D="$3"; MO="$4"; W="$5"
  run_due "$M $H $D $MO $W"
  wait
  exit 0
fi

echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) scheduler: $(grep -c -v -e '^#' -e '^$' "$SCHEDULE") entries from $SCHEDULE"
trap 'exit 0' INT TERM
while :; do
  # sleep to the next minute boundary
  s="$(date -u +%S)"; sleep $((60 - $(num "$s"))) & wait $!
  set -- $(date -u +'%M %H %d %m %w')
  M="$1"; H="$2"; D="$3"; MO="$4"; W="$5"
  run_due "$M $H $D $MO $W"
done

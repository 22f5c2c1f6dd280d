#!/bin/sh
# wharf's ACME client (rendered by wharf, see src/plan/acme.ts): lego obtains and renews ONE
# certificate naming every routed host ($ACME_DOMAINS), answering HTTP-01 on $ACME_HTTP_PORT
# (the edge routes /.well-known/acme-challenge/ here), and the certificate goes to the running
# HAProxy through its runtime API: no restart, no dropped connection.
#   acme.sh loop    check now, then every $ACME_CHECK_EVERY s; a failure retries with backoff
#                   ($ACME_RETRY_MIN s, doubling, at most $ACME_RETRY_MAX s: the CA's rate limits)
#   acme.sh run     one check now: obtain, renew when due, hand over when changed
#   acme.sh renew   renew now whatever the expiry (a forced renewal), then hand over
# POSIX sh: runs in goacme/lego (Alpine busybox) and in Debian alike. Needs lego and socat.
set -u
umask 077
DATA=${ACME_DATA:-/acme}
LEGO_PATH=$DATA/lego
STATE=$DATA/state
METRICS_DIR=${ACME_METRICS_DIR:-$DATA/metrics}
CHECK_EVERY=${ACME_CHECK_EVERY:-43200}
RETRY_MIN=${ACME_RETRY_MIN:-300}
RETRY_MAX=${ACME_RETRY_MAX:-21600}
CERT_DIR=$(dirname "$ACME_CERT_FILE")
mkdir -p "$LEGO_PATH" "$STATE" "$METRICS_DIR"

log() { printf '%s acme: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

first_domain() {
  set -f
  set -- $ACME_DOMAINS
  set +f
  printf '%s' "$1"
}

# lego with the account, CA and names; "$@" is the subcommand and its flags (our own plain words).
lego_do() {
  sub=$*
  set -f
  set -- --accept-tos --email "$ACME_EMAIL" --server "$ACME_DIRECTORY" --path "$LEGO_PATH" --http --http.port ":$ACME_HTTP_PORT"
  for d in $ACME_DOMAINS; do set -- "$@" --domains "$d"; done
  set -- "$@" $sub
  set +f
  # lego's log goes to the container log and its last line, on failure, to `wharf doctor`.
  lego "$@" 2>"$STATE/lego.log"
  rc=$?
  cat "$STATE/lego.log" >&2
  [ "$rc" -eq 0 ] || tail -n 1 "$STATE/lego.log" >"$STATE/last-error"
  return "$rc"
}

api() { printf '%s\n' "$1" | socat -t 10 - "UNIX-CONNECT:$ACME_SOCKET"; }

# The certificate and key as one PEM, blank lines dropped: a blank line ends the API's payload.
pem() {
  name=$(first_domain)
  cat "$LEGO_PATH/certificates/$name.crt" "$LEGO_PATH/certificates/$name.key" | grep -v '^[[:space:]]*$'
}

set_cert() {
  { printf 'set ssl cert %s <<\n' "$ACME_CERT_FILE"; pem; printf '\n'; } | socat -t 10 - "UNIX-CONNECT:$ACME_SOCKET"
}

# The file first (reloads and restarts read it), then the running edge.
hand_over() {
  sum=$(pem | cksum)
  [ "$sum" = "$(cat "$STATE/handed" 2>/dev/null)" ] && return 0
  tmp=$CERT_DIR/.edge.pem.tmp
  pem >"$tmp" && chown "$EDGE_UID:$EDGE_UID" "$tmp" && chmod 0400 "$tmp" && mv -f "$tmp" "$ACME_CERT_FILE" || {
    log "could not write $ACME_CERT_FILE" 2>&1 | tee "$STATE/last-error" >&2
    return 1
  }
  out=$(set_cert 2>&1)
  case $out in
    *'not referenced'*)
      api "new ssl cert $ACME_CERT_FILE" >/dev/null
      out=$(set_cert 2>&1)
      ;;
  esac
  case $out in
    *Transaction*) ;;
    *)
      log "the edge refused the certificate: $(printf '%s' "$out" | head -1)"
      api "abort ssl cert $ACME_CERT_FILE" >/dev/null 2>&1
      return 1
      ;;
  esac
  api "commit ssl cert $ACME_CERT_FILE" | grep -q Success || {
    log 'the edge did not commit the certificate'
    return 1
  }
  if ! api "show ssl crt-list $CERT_DIR" | grep -qF "$ACME_CERT_FILE"; then
    api "add ssl crt-list $CERT_DIR $ACME_CERT_FILE" | grep -q Success || {
      log 'the edge did not add the certificate to its list'
      return 1
    }
  fi
  printf '%s' "$sum" >"$STATE/handed"
  log "the edge serves the certificate for $ACME_DOMAINS"
}

# $1: extra renew flags. A new list of names is a new order; else lego renews when due.
check() {
  name=$(first_domain)
  if [ ! -s "$LEGO_PATH/certificates/$name.crt" ] || [ "$(cat "$STATE/domains" 2>/dev/null)" != "$ACME_DOMAINS" ]; then
    log "obtaining a certificate for $ACME_DOMAINS from $ACME_DIRECTORY"
    lego_do run || return 1
    printf '%s' "$ACME_DOMAINS" >"$STATE/domains"
  else
    lego_do renew --days "$1" ${2:-} || return 1
  fi
  hand_over
}

# Prometheus textfile: expiry of the served certificate, failures in a row, last attempt.
metrics() {
  expiry=$(lego --path "$LEGO_PATH" list 2>/dev/null | sed -n 's/.*Expiry Date: \([0-9-]* [0-9:]*\).*/\1/p' | head -1)
  {
    echo '# HELP wharf_acme_certificate_expiry_timestamp_seconds When the certificate the edge serves expires.'
    echo '# TYPE wharf_acme_certificate_expiry_timestamp_seconds gauge'
    [ -n "$expiry" ] && echo "wharf_acme_certificate_expiry_timestamp_seconds $(date -u -d "$expiry" +%s)"
    echo '# HELP wharf_acme_renewal_failures Failed attempts in a row (0 after a success).'
    echo '# TYPE wharf_acme_renewal_failures gauge'
    echo "wharf_acme_renewal_failures $failures"
    echo '# HELP wharf_acme_last_attempt_timestamp_seconds When the client last tried.'
    echo '# TYPE wharf_acme_last_attempt_timestamp_seconds gauge'
    echo "wharf_acme_last_attempt_timestamp_seconds $(date -u +%s)"
  } >"$METRICS_DIR/.wharf_acme.prom.tmp" && chmod 0644 "$METRICS_DIR/.wharf_acme.prom.tmp" && mv -f "$METRICS_DIR/.wharf_acme.prom.tmp" "$METRICS_DIR/wharf_acme.prom"
}

failures=$(cat "$STATE/failures" 2>/dev/null || echo 0)
attempt() {
  if check "$@"; then
    failures=0
    rm -f "$STATE/last-error"
  else
    failures=$((failures + 1))
  fi
  printf '%s' "$failures" >"$STATE/failures"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$STATE/last-attempt"
  metrics
  [ "$failures" -eq 0 ]
}

case ${1:-loop} in
  run) attempt "$ACME_RENEW_DAYS" --no-random-sleep ;;
  renew) attempt 100000 --no-random-sleep ;;
  loop)
    while :; do
      if attempt "$ACME_RENEW_DAYS"; then
        pause=$CHECK_EVERY
      else
        n=$failures
        pause=$RETRY_MIN
        while [ "$n" -gt 1 ] && [ "$pause" -lt "$RETRY_MAX" ]; do
          pause=$((pause * 2))
          n=$((n - 1))
        done
        [ "$pause" -gt "$RETRY_MAX" ] && pause=$RETRY_MAX
        log "attempt $failures failed; next in ${pause}s"
      fi
      sleep "$pause"
    done
    ;;
  *)
    echo "usage: acme.sh [loop|run|renew]" >&2
    exit 2
    ;;
esac

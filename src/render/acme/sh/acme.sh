#!/bin/sh
# wharf's ACME client (rendered by wharf, see src/plan/acme.ts): lego obtains and renews ONE
# certificate naming every routed host ($ACME_DOMAINS), answering HTTP-01 on $ACME_HTTP_PORT
# (every edge routes /.well-known/acme-challenge/ here), and the certificate goes to every
# running HAProxy ($ACME_EDGES resolves to each replica, on any node) through its runtime API,
# mutual TLS on $ACME_API_PORT: no restart, no dropped connection.
#   acme.sh loop    check now, then every $ACME_CHECK_EVERY s; a failure retries with backoff
#                   ($ACME_RETRY_MIN s, doubling, at most $ACME_RETRY_MAX s: the CA's rate limits);
#                   meanwhile every $ACME_SYNC_EVERY s each edge that serves another serial gets it
#   acme.sh run     one check now: obtain, renew when due, hand over when changed
#   acme.sh renew   renew now whatever the expiry (a forced renewal), then hand over
#   acme.sh sync    give the certificate to every edge that does not serve it
# POSIX sh: runs in goacme/lego (Alpine busybox) and in Debian alike. Needs lego, socat, getent or nslookup.
set -u
umask 077
DATA=${ACME_DATA:-/acme}
LEGO_PATH=$DATA/lego
STATE=$DATA/state
METRICS_DIR=${ACME_METRICS_DIR:-$DATA/metrics}
CHECK_EVERY=${ACME_CHECK_EVERY:-43200}
RETRY_MIN=${ACME_RETRY_MIN:-300}
RETRY_MAX=${ACME_RETRY_MAX:-21600}
SYNC_EVERY=${ACME_SYNC_EVERY:-60}
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

# The edge replicas: every IPv4 address of $ACME_EDGES. glibc's getent lists them all
# (ahostsv4); on Alpine (musl: no ahostsv4) busybox's nslookup does, one "Address: a.b.c.d" each.
edges() {
  out=$(getent ahostsv4 "$ACME_EDGES" 2>/dev/null) ||
    out=$(nslookup "$ACME_EDGES" 2>/dev/null | sed -n 's/^Address:[[:space:]]*\([0-9.]*\)$/\1/p')
  printf '%s\n' "$out" | awk 'NF { print $1 }' | sort -u
}

# $1 the edge's address; stdin the command. Both ends present the one certificate they trust.
api_at() {
  socat -t 10 - "OPENSSL:$1:$ACME_API_PORT,cert=$ACME_API_PEM,cafile=$ACME_API_CA,commonname=edge-api"
}
api() { printf '%s\n' "$2" | api_at "$1"; }

# The certificate and key as one PEM, blank lines dropped: a blank line ends the API's payload.
pem() {
  name=$(first_domain)
  cat "$LEGO_PATH/certificates/$name.crt" "$LEGO_PATH/certificates/$name.key" | grep -v '^[[:space:]]*$'
}

set_cert() {
  { printf 'set ssl cert %s <<\n' "$ACME_CERT_FILE"; pem; printf '\n'; } | api_at "$1"
}

serial_at() { api "$1" "show ssl cert $ACME_CERT_FILE" 2>/dev/null | sed -n 's/^Serial: *//p'; }

# One edge: a transaction on the certificate, committed, then in the directory's list once.
push() {
  out=$(set_cert "$1" 2>&1)
  case $out in
    *'not referenced'*)
      api "$1" "new ssl cert $ACME_CERT_FILE" >/dev/null
      out=$(set_cert "$1" 2>&1)
      ;;
  esac
  case $out in
    *Transaction*) ;;
    *)
      log "the edge at $1 refused the certificate: $(printf '%s' "$out" | head -1)"
      api "$1" "abort ssl cert $ACME_CERT_FILE" >/dev/null 2>&1
      return 1
      ;;
  esac
  api "$1" "commit ssl cert $ACME_CERT_FILE" | grep -q Success || {
    log "the edge at $1 did not commit the certificate"
    return 1
  }
  if ! api "$1" "show ssl crt-list $CERT_DIR" | grep -qF "$ACME_CERT_FILE"; then
    api "$1" "add ssl crt-list $CERT_DIR $ACME_CERT_FILE" | grep -q Success || {
      log "the edge at $1 did not add the certificate to its list"
      return 1
    }
  fi
  log "the edge at $1 serves the certificate for $ACME_DOMAINS"
}

# Every edge serves the serial of the certificate last obtained (learnt from the first edge
# that took it), or gets it: a restarted edge task, or one on a new node, starts without it.
sync_edges() {
  [ -s "$STATE/handed" ] || return 0
  want=$(cat "$STATE/serial" 2>/dev/null)
  seen=0
  bad=0
  for e in $(edges); do
    seen=$((seen + 1))
    [ -n "$want" ] && [ "$(serial_at "$e")" = "$want" ] && continue
    if push "$e"; then
      [ -n "$want" ] || { want=$(serial_at "$e") && printf '%s' "$want" >"$STATE/serial"; }
    else
      bad=$((bad + 1))
    fi
  done
  [ "$seen" -gt 0 ] || log "no edge answers to the name $ACME_EDGES"
  [ "$seen" -gt 0 ] && [ "$bad" -eq 0 ]
}

# The file first (the edge on this node reads it on a reload or restart), then every running edge.
hand_over() {
  sum=$(pem | cksum)
  if [ "$sum" != "$(cat "$STATE/handed" 2>/dev/null)" ]; then
    tmp=$CERT_DIR/.edge.pem.tmp
    pem >"$tmp" && chown "$EDGE_UID:$EDGE_UID" "$tmp" && chmod 0400 "$tmp" && mv -f "$tmp" "$ACME_CERT_FILE" || {
      log "could not write $ACME_CERT_FILE" 2>&1 | tee "$STATE/last-error" >&2
      return 1
    }
    rm -f "$STATE/serial"
    printf '%s' "$sum" >"$STATE/handed"
  fi
  sync_edges || {
    log 'an edge did not take the certificate' 2>&1 | tee "$STATE/last-error" >&2
    return 1
  }
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
  sync) sync_edges ;;
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
      waited=0
      while [ "$waited" -lt "$pause" ]; do
        sleep "$SYNC_EVERY"
        waited=$((waited + SYNC_EVERY))
        sync_edges || log "next try in ${SYNC_EVERY}s"
      done
    done
    ;;
  *)
    echo "usage: acme.sh [loop|run|renew|sync]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Idempotent: make sure a Docker Engine is installed and running, and that Compose v2
# (`docker compose`) works, with Debian's v1 `docker-compose` kept as the fallback.
#
#   scripts/docker/ensure-engine.sh
#
# Environment:
#   WHARF_DOCKERD_LOG   dockerd log file        (default /var/log/wharf-dockerd.log)
#   WHARF_DOCKERD_PID   dockerd pid file        (default /var/run/docker.pid)
#   WHARF_DOCKERD_WAIT  seconds to wait for dockerd to answer (default 60)
#   WHARF_COMPOSE_SUITE Debian suite to take Compose v2 from (default trixie)
#   DOCKER_CONFIG       CLI plugin goes to $DOCKER_CONFIG/cli-plugins (default: root
#                       /usr/local/lib/docker/cli-plugins, others ~/.docker/cli-plugins)
set -euo pipefail

log() { printf '[ensure-engine] %s\n' "$*"; }
die() { printf '[ensure-engine] ERROR: %s\n' "$*" >&2; exit 1; }

DOCKERD_LOG=${WHARF_DOCKERD_LOG:-/var/log/wharf-dockerd.log}
DOCKERD_PID=${WHARF_DOCKERD_PID:-/var/run/docker.pid}
DOCKERD_WAIT=${WHARF_DOCKERD_WAIT:-60}
COMPOSE_SUITE=${WHARF_COMPOSE_SUITE:-trixie}
# $DOCKER_CONFIG/cli-plugins when set; else the system-wide plugin dir when root (every user
# gets `docker compose`); else ~/.docker/cli-plugins.
if [ -n "${DOCKER_CONFIG:-}" ]; then PLUGIN_DIR="$DOCKER_CONFIG/cli-plugins"
elif [ "$(id -u)" = 0 ]; then PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
else PLUGIN_DIR="$HOME/.docker/cli-plugins"; fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot install or start dockerd"
  SUDO="sudo"
fi

apt_install() {
  log "apt-get install -y $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
    || die "apt-get install $* failed (is another apt/dpkg running? see /var/lib/dpkg/lock-frontend)"
}

# --- 1. engine installed ---------------------------------------------------------------
if command -v dockerd >/dev/null 2>&1; then
  log "dockerd present: $(dockerd --version)"
else
  log "dockerd missing: installing Debian's docker.io"
  $SUDO apt-get update -qq || die "apt-get update failed"
  apt_install docker.io
fi
command -v docker >/dev/null 2>&1 || die "no docker client on PATH after installing docker.io"
if ! command -v docker-compose >/dev/null 2>&1; then
  log "docker-compose (v1, the fallback) missing: installing Debian's docker-compose"
  apt_install docker-compose
fi

# --- 2. engine running -----------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "dockerd already answering (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
else
  pid=""
  [ -f "$DOCKERD_PID" ] && pid=$(cat "$DOCKERD_PID" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "dockerd pid $pid is running but not answering yet; waiting"
  else
    [ -n "$pid" ] && log "removing stale pid file $DOCKERD_PID (pid $pid is gone)" && $SUDO rm -f "$DOCKERD_PID"
    log "starting dockerd in the background (log: $DOCKERD_LOG, pid file: $DOCKERD_PID)"
    $SUDO mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid + nohup: dockerd must outlive this script and the shell that ran it.
    $SUDO setsid nohup dockerd --pidfile "$DOCKERD_PID" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  deadline=$(( $(date +%s) + DOCKERD_WAIT ))
  until docker info >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "---- last lines of $DOCKERD_LOG ----" >&2
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer within ${DOCKERD_WAIT}s"
    fi
    sleep 0.5
  done
  log "dockerd ready (server $(docker version --format '{{.Server.Version}}'), pid $(cat "$DOCKERD_PID" 2>/dev/null || echo '?'))"
fi

# --- 3. Compose v2 as a CLI plugin -----------------------------------------------------
# Compose v2 is what users run; Debian's v1 `docker-compose` is the fallback: failing to get
# v2 is a warning when v1 works, an error otherwise.
install_compose_v2() {
  local work deb bin
  command -v dpkg >/dev/null || { log "dpkg is needed to unpack the compose .deb"; return 1; }
  COMPOSE_WORK=$(mktemp -d /tmp/wharf-compose.XXXXXX)
  trap 'rm -rf "${COMPOSE_WORK:-}"' EXIT
  work=$COMPOSE_WORK
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/prefs" "$work/dl"
  # A private apt configuration: the host's sources, lists and cache stay untouched.
  echo "deb http://deb.debian.org/debian ${COMPOSE_SUITE} main" >"$work/sources.list"
  local APT_OPTS=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::Etc::Preferences=$work/prefs/none"
    -o "Dir::Etc::PreferencesParts=$work/prefs"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "APT::Sandbox::User=root"
  )
  apt-get "${APT_OPTS[@]}" update -qq >"$work/update.log" 2>&1 \
    || { tail -n 20 "$work/update.log" >&2; log "apt-get update for ${COMPOSE_SUITE} failed (is deb.debian.org reachable? is the ${COMPOSE_SUITE} key in debian-archive-keyring?)"; return 1; }
  ( cd "$work/dl" && apt-get "${APT_OPTS[@]}" download docker-compose >"$work/download.log" 2>&1 ) \
    || { tail -n 20 "$work/download.log" >&2; log "apt-get download docker-compose from ${COMPOSE_SUITE} failed"; return 1; }
  deb=$(ls "$work"/dl/docker-compose_*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || { log "no docker-compose .deb was downloaded"; return 1; }
  log "downloaded $(basename "$deb")"
  dpkg -x "$deb" "$work/x"
  bin="$work/x/usr/libexec/docker/cli-plugins/docker-compose"
  [ -x "$bin" ] || { log "$(basename "$deb") has no usr/libexec/docker/cli-plugins/docker-compose"; return 1; }
  $SUDO mkdir -p "$PLUGIN_DIR"
  $SUDO install -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
  docker compose version >/dev/null 2>&1 \
    || { log "installed $PLUGIN_DIR/docker-compose but 'docker compose version' still fails: $(docker compose version 2>&1 | head -n3)"; return 1; }
}

if docker compose version >/dev/null 2>&1; then
  log "compose v2 present: $(docker compose version)"
else
  log "compose v2 missing: fetching Debian ${COMPOSE_SUITE}'s docker-compose .deb into $PLUGIN_DIR"
  if install_compose_v2; then
    log "compose v2 installed: $(docker compose version)"
  elif docker-compose version >/dev/null 2>&1; then
    log "WARNING: compose v2 could not be installed; wharf falls back to docker-compose v1"
  else
    die "neither compose v2 nor docker-compose v1 works"
  fi
fi
log "compose v1 fallback: $(docker-compose version --short 2>/dev/null || echo 'not found')"
log "ok"

#!/usr/bin/env bash
# One step from a fresh Debian/Ubuntu machine to a working wharf checkout:
# system packages, a running Docker Engine, npm dependencies and the build.
#
#   scripts/install.sh                    # what wharf needs (scripts/requirements.txt)
#   scripts/install.sh --with-tests       # and what the test suite needs (requirements-test.txt: CI)
#   WHARF_SKIP_APT=1 scripts/install.sh   # packages already there
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[install] %s\n' "$*"; }

LISTS=(scripts/requirements.txt)
case "${1:-}" in
  --with-tests) LISTS+=(scripts/requirements-test.txt) ;;
  '') ;;
  *) echo "usage: scripts/install.sh [--with-tests]" >&2; exit 2 ;;
esac

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# The Debian packages wharf needs on a user's host (requirements.txt: Docker Engine, Compose,
# openssl) and, with --with-tests, the servers and validators the test suite runs; a test checks
# both lists against the programs the code and the tests spawn.
PACKAGES=()
declare -A COMMANDS=()
for list in "${LISTS[@]}"; do
  while read -r pkg cmds; do
    case "$pkg" in ''|'#'*) continue ;; esac
    PACKAGES+=("$pkg")
    COMMANDS[$pkg]="$cmds"
  done < "$list"
done

# A package counts as present when it is installed, or when every command it is listed for is
# already on PATH from another package (a machine may ship kubectl outside Debian's
# kubernetes-client; installing that package over it would fail on the shared /usr/bin/kubectl).
present() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
  local c cmds="${COMMANDS[$1]}"
  [ "$cmds" = "-" ] || [ -z "$cmds" ] && return 1
  for c in $cmds; do command -v "$c" >/dev/null 2>&1 || return 1; done
  return 0
}

if [ "${WHARF_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do present "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    $SUDO apt-get update -qq || log "apt-get update failed; trying the install with the current lists"
    # Debian starts the services it installs where it can; tests start their own instances on loopback.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/wharf-apt.log 2>&1 \
      || { tail -n 30 /tmp/wharf-apt.log >&2; echo "[install] apt-get install failed (log: /tmp/wharf-apt.log)" >&2; exit 1; }
  else
    log "system packages present"
  fi
fi

scripts/docker/ensure-engine.sh

# Node.js 22 or newer: kubernetes-models (the k8s target's typed objects) requires it, and Node 20
# reached end of life in April 2026. Node 20 still runs wharf today, so it is a warning, not a
# failure (this keeps older CI hosts working); below 20 nothing works and install stops.
node -e '
const [major] = process.versions.node.split(".").map(Number);
if (major < 20) { console.error(`[install] Node.js >= 22 is required, found ${process.version}: see the README, "Node.js"`); process.exit(1); }
if (major < 22) console.error(`[install] WARNING: Node.js ${process.version} is past its end of life and below what kubernetes-models requires (>= 22): install Node.js 22 (README, "Node.js")`);
'
log "npm ci"
npm ci --no-audit --no-fund --loglevel=error
log "build"
npm run build --silent
if [ "${#LISTS[@]}" -gt 1 ]; then log "done: try 'npm test'"; else log "done: try 'bin/wharf.js init && bin/wharf.js up' (the test suite needs scripts/install.sh --with-tests)"; fi

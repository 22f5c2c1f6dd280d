#!/usr/bin/env bash
# One step from a fresh Debian/Ubuntu machine to a working wharf checkout:
# system packages, a running Docker Engine, npm dependencies and the build.
#
#   scripts/install.sh            # everything
#   WHARF_SKIP_APT=1 scripts/install.sh   # packages already there
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[install] %s\n' "$*"; }

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# One list (scripts/requirements.txt) of the Debian packages `wharf up` and the test suite
# need; a test checks it against the commands the tests ask for.
PACKAGES=()
declare -A COMMANDS=()
while read -r pkg cmds; do
  case "$pkg" in ''|'#'*) continue ;; esac
  PACKAGES+=("$pkg")
  COMMANDS[$pkg]="$cmds"
done < scripts/requirements.txt

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

node -e 'const [a]=process.versions.node.split(".");if(+a<20){console.error("[install] Node.js >= 20 is required, found "+process.version);process.exit(1)}'
log "npm ci"
npm ci --no-audit --no-fund --loglevel=error
log "build"
npm run build --silent
log "done: try 'bin/wharf.js init && bin/wharf.js up', or 'npm test'"

#!/usr/bin/env bash
# Runs .ci/run the way a new machine would: in a throwaway Docker-in-Docker container built
# from the debootstrap base, holding only what a new machine of this kind has (Node.js with
# npm, git, the Docker client) and then what the project's own scripts install. Its Docker
# Engine starts empty: no base image, no substitute images, no ~/.cache/wharf, no npm cache,
# none of the packages installed by hand on this host.
#
#   scripts/ci/fresh.sh [--keep] [--log FILE]
#
# Clones the committed HEAD (uncommitted changes are not part of a submission either), puts a
# read-only copy of ../shared beside it, runs `CI=true bash .ci/run`, prints the time and the
# test totals, and exits with .ci/run's status. --keep leaves the container for a look.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd) || { echo "[fresh] ../shared not found beside $repo" >&2; exit 2; }
KEEP=0; LOG=/tmp/wharf-fresh.log
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --log) LOG=${2:?--log needs a file}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[fresh] unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[fresh] %s\n' "$*" >&2; }

"$repo/scripts/docker/build-base.sh" >&2
IMAGE=wharf-fresh/node-machine:latest
ctx=$(mktemp -d /tmp/wharf-fresh-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
# What a new machine of this kind has before the project installs anything.
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/usr/lib/node_modules" "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/root"
cp "$node_bin" "$ctx/rootfs/usr/bin/node"
cp -a "$npm_dir" "$ctx/rootfs/usr/lib/node_modules/npm"
cp "$(command -v docker)" "$ctx/rootfs/usr/local/bin/docker"
# and the machine's own setup: its CA certificates (its HTTPS egress is inspected), npm's config.
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$ctx/rootfs/root/.npmrc"
npm_global=$(npm config get globalconfig 2>/dev/null || true)
if [ -n "$npm_global" ] && [ -f "$npm_global" ]; then mkdir -p "$ctx/rootfs$(dirname "$npm_global")"; cp "$npm_global" "$ctx/rootfs$npm_global"; fi
mkdir -p "$ctx/rootfs/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ctx/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
env_args=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE GIT_SSL_CAINFO REQUESTS_CA_BUNDLE; do
  [ -n "${!v:-}" ] && env_args+=(-e "$v=${!v}")
done
cp "$here/fresh-entrypoint.sh" "$ctx/entrypoint.sh"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM local/debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      git ca-certificates python3 make g++ procps >/dev/null && rm -rf /var/lib/apt/lists/*
COPY rootfs/ /
RUN update-ca-certificates >/dev/null && ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx \
 && node --version && npm --version
COPY entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/bin/bash", "/entrypoint.sh"]
DOCKERFILE
log "building $IMAGE (Node $(node --version), npm, git, the Docker client; nothing else)"
docker build -q -t "$IMAGE" "$ctx" >/dev/null

name=wharf-fresh-$$
log "running .ci/run in $name (log: $LOG)"
start=$(date +%s)
rc=0
# DinD without --privileged (the VM withholds CAP_SYS_RESOURCE): DESIGN.md's flags. /var/lib/docker
# is an anonymous volume so the inner engine's overlay2 sits on the host's filesystem.
docker run --name "$name" --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
  --device-cgroup-rule='a *:* rwm' -v /var/lib/docker \
  -v "$repo/.git:/src/repo.git:ro" -v "$shared:/src/shared:ro" \
  -e WHARF_FRESH_REF="$(git -C "$repo" rev-parse HEAD)" "${env_args[@]}" \
  "$IMAGE" >"$LOG" 2>&1 || rc=$?
secs=$(( $(date +%s) - start ))
# one set of totals per tier (fast, engine, e2e)
totals=$(grep -E '^# (tests|pass|fail|skipped) ' "$LOG" | tr '\n' ' ' || true)
log "finished in ${secs}s ($((secs / 60)) min $((secs % 60)) s), exit $rc; $totals"
grep -E '^\[ci\] ===|^\[tests\] ' "$LOG" | sed 's/^/[fresh]   /' >&2 || true
if [ "$KEEP" = 0 ]; then docker rm -f -v "$name" >/dev/null 2>&1 || true; else log "kept container $name"; fi
exit "$rc"

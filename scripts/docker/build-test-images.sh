#!/usr/bin/env bash
# Build the local substitute images the e2e suite runs instead of the official ones
# (no registry can be reached here; see scripts/docker/README.md).
#
#   scripts/docker/build-test-images.sh [--json] [--out FILE] [--only a,b] [--jobs N]
#                                       [--force] [--keep-old] [--list]
#
#   --json      print the map imageKey -> image ref on stdout (progress goes to stderr)
#   --out FILE  also write that map to FILE (default without --only:
#               $WHARF_CACHE_DIR/test-images.json)
#   --only      build only these image directories (e.g. --only postgres,redis)
#   --jobs N    parallel builds (default 4)
#   --force     rebuild without layer cache even when the tag exists (fresh Debian
#               packages; the debootstrap base is kept: build-base.sh --force renews it)
#   --keep-old  do not remove older tags of the same image
#   --list      print the image directories and the imageKeys they serve, then exit
#
# Every image is test/e2e/images/<name>/Dockerfile, built FROM wharf-test/base (itself FROM
# local/debian:bookworm, made by build-base.sh) and tagged wharf-test/<name>:<hash>, where
# <hash> covers the files of its directory, the id of the image it is built from and (for
# node) the Node.js binary copied in. A tag that exists is not rebuilt: warm runs take
# seconds. Concurrent runs wait on a lock.
#
# Environment: WHARF_CACHE_DIR (default ~/.cache/wharf), WHARF_BUILD_NETWORK (passed to
# `docker build --network`, e.g. host, when the default bridge cannot reach the Debian
# mirror), WHARF_NODE_BINARY (default: the node on PATH).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
IMAGES_DIR="$repo/test/e2e/images"
CACHE_DIR=${WHARF_CACHE_DIR:-$HOME/.cache/wharf}
BASE_TAG=local/debian:bookworm
SCHEME=1   # bump when the way images are built changes, to invalidate every tag

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }

# image directory -> the plan's imageKeys (src/plan/images.ts) it substitutes
declare -A KEYS=(
  [postgres]="postgres"
  [mariadb]="mariadb mysql"
  [redis]="redis"
  [haproxy]="haproxy"
  [prometheus]="prometheus"
  [alertmanager]="alertmanager"
  [node-exporter]="node-exporter"
  [postgres-exporter]="postgres-exporter"
  [mysqld-exporter]="mysqld-exporter"
  [redis-exporter]="redis-exporter"
  [restic]="restic"
  [node]="node"
  [lego]="lego"
)
# slowest first, so parallel builds finish together
ORDER=(postgres mariadb restic node prometheus alertmanager haproxy redis node-exporter postgres-exporter mysqld-exporter redis-exporter lego)
KEY_ORDER=(haproxy prometheus alertmanager node-exporter postgres mysql mariadb redis postgres-exporter mysqld-exporter redis-exporter restic node lego)

JSON=0; OUT=""; ONLY=""; JOBS=4; FORCE=0; KEEP_OLD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON=1 ;;
    --out) OUT=${2:?--out needs a file}; shift ;;
    --only) ONLY=${2:?--only needs names}; shift ;;
    --jobs) JOBS=${2:?--jobs needs a number}; shift ;;
    --force) FORCE=1 ;;
    --keep-old) KEEP_OLD=1 ;;
    --list) for n in "${ORDER[@]}"; do printf '%-18s %s\n' "$n" "${KEYS[$n]}"; done; exit 0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs: expected a positive number, got '$JOBS'"
# the default map file always describes the full set: --only writes only to an explicit --out
if [ -z "$OUT" ] && [ -z "$ONLY" ]; then OUT=$CACHE_DIR/test-images.json; fi

SELECTED=()
if [ -n "$ONLY" ]; then
  IFS=',' read -r -a want <<<"$ONLY"
  for n in "${want[@]}"; do
    [ -n "${KEYS[$n]+x}" ] || die "--only: unknown image '$n' (known: ${ORDER[*]})"
  done
  for n in "${ORDER[@]}"; do for w in "${want[@]}"; do if [ "$n" = "$w" ]; then SELECTED+=("$n"); fi; done; done
else
  SELECTED=("${ORDER[@]}")
fi

t0=$(date +%s)
mkdir -p "$CACHE_DIR/logs"

# --- one build at a time per machine ---------------------------------------------------
exec 9>"$CACHE_DIR/build-test-images.lock"
if ! flock -n 9; then
  log "another build-test-images run holds $CACHE_DIR/build-test-images.lock: waiting"
  flock 9
fi

# --- engine and base -------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  log "docker is not answering: running ensure-engine.sh"
  "$here/ensure-engine.sh" >&2
fi
if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  log "$BASE_TAG missing: running build-base.sh (debootstrap, about 30 s to 2 min)"
  "$here/build-base.sh" --tag "$BASE_TAG" >&2
fi
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_TAG")

# hash_inputs DIR PARENT_ID [EXTRA...]: 12 hex digits over the directory's files, the parent
# image id and extra strings.
hash_inputs() {
  local dir=$1 parent=$2; shift 2
  {
    printf 'scheme=%s\nparent=%s\n' "$SCHEME" "$parent"
    printf 'extra=%s\n' "$@"
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
      printf '%s %s %s\n' "$f" "$(stat -c '%a' "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done)
  } | sha256sum | cut -c1-12
}

image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }

# remove older tags of the same image (best effort: an image a container uses stays)
prune_old() {
  local repo_name=$1 keep=$2 t
  [ "$KEEP_OLD" = 1 ] && return 0
  for t in $(docker image ls "$repo_name" --format '{{.Tag}}'); do
    [ "$t" = "$keep" ] && continue
    docker image rm "$repo_name:$t" >/dev/null 2>&1 && log "removed old $repo_name:$t" || true
  done
}

# docker_build NAME CONTEXT REF HASH PARENT [BUILD-ARGS...] (output to the log file)
docker_build() {
  local name=$1 ctx=$2 ref=$3 hash=$4 parent=$5; shift 5
  local opts=()
  if [ -n "${WHARF_BUILD_NETWORK:-}" ]; then opts+=(--network "$WHARF_BUILD_NETWORK"); fi
  # --force means fresh packages: no layer cache
  if [ "$FORCE" = 1 ]; then opts+=(--no-cache); fi
  DOCKER_BUILDKIT=0 docker build "${opts[@]}" --rm --force-rm \
    --build-arg "BASE=$parent" "$@" \
    --label "org.wharf.test.image=$name" --label "org.wharf.test.hash=$hash" \
    -t "$ref" "$ctx"
}

# --- shared layer: wharf-test/base ---------------------------------------------------------
shared_hash=$(hash_inputs "$IMAGES_DIR/base" "$base_id")
SHARED="wharf-test/base:$shared_hash"
# --force renews the shared layer only on a full run: with --only it would change the tag
# of every other image
if { [ "$FORCE" = 0 ] || [ -n "$ONLY" ]; } && docker image inspect "$SHARED" >/dev/null 2>&1; then
  log "cached  base               $SHARED"
else
  old_shared=$(docker image inspect -f '{{.Id}}' "$SHARED" 2>/dev/null || true)
  log "build   base               $SHARED (ca-certificates, wget)"
  s=$(date +%s)
  docker_build base "$IMAGES_DIR/base" "$SHARED" "$shared_hash" "$BASE_TAG" >"$CACHE_DIR/logs/base.log" 2>&1 \
    || { tail -n 30 "$CACHE_DIR/logs/base.log" >&2; die "building $SHARED failed (log: $CACHE_DIR/logs/base.log)"; }
  log "built   base               $SHARED in $(( $(date +%s) - s ))s, $(image_size "$SHARED")"
  prune_old wharf-test/base "$shared_hash"
  if [ -n "$old_shared" ] && [ "$KEEP_OLD" = 0 ] && [ "$old_shared" != "$(docker image inspect -f '{{.Id}}' "$SHARED")" ]; then
    docker image rm "$old_shared" >/dev/null 2>&1 || true
  fi
fi
shared_id=$(docker image inspect -f '{{.Id}}' "$SHARED")

# --- node: stage the host's Node.js into a build context ----------------------------------
STAGE=""
cleanup() { [ -n "$STAGE" ] && rm -rf "$STAGE"; return 0; }
trap cleanup EXIT
NODE_EXTRA=()
NODE_ARGS=()
for n in "${SELECTED[@]}"; do
  [ "$n" = node ] || continue
  node_bin=${WHARF_NODE_BINARY:-$(command -v node || true)}
  [ -n "$node_bin" ] || die "node image: no node on PATH (set WHARF_NODE_BINARY)"
  node_bin=$(readlink -f "$node_bin")
  node_version=$("$node_bin" -p 'process.versions.node')
  [ "${node_version%%.*}" -ge 20 ] || die "node image: $node_bin is v$node_version; apps/api needs >= 20"
  modules=$(cd "$(dirname "$node_bin")/../lib/node_modules" 2>/dev/null && pwd || true)
  [ -n "$modules" ] && [ -f "$modules/npm/package.json" ] || die "node image: no npm next to $node_bin (looked in $(dirname "$node_bin")/../lib/node_modules)"
  STAGE=$(mktemp -d /tmp/wharf-node-ctx.XXXXXX)
  cp -a "$IMAGES_DIR/node/." "$STAGE/"
  cp "$node_bin" "$STAGE/node"
  mkdir -p "$STAGE/node_modules"
  cp -a "$modules/npm" "$STAGE/node_modules/npm"
  [ -d "$modules/corepack" ] && cp -a "$modules/corepack" "$STAGE/node_modules/corepack"
  NODE_EXTRA=("node=$node_version" "node-sha256=$(sha256sum "$node_bin" | cut -d' ' -f1)"
              "npm=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$modules/npm/package.json")")
  NODE_ARGS=(--build-arg "NODE_VERSION=$node_version")
  log "node    staged $node_bin (v$node_version) with npm ${NODE_EXTRA[2]#npm=}"
done

# --- the images, in parallel -----------------------------------------------------------------
declare -A REF=() STATUS=() SECS=() STARTED=() OLD_ID=()
for n in "${SELECTED[@]}"; do
  if [ "$n" = node ]; then h=$(hash_inputs "$IMAGES_DIR/$n" "$shared_id" "${NODE_EXTRA[@]}")
  else h=$(hash_inputs "$IMAGES_DIR/$n" "$shared_id"); fi
  REF[$n]="wharf-test/$n:$h"
  if [ "$FORCE" = 0 ] && docker image inspect "${REF[$n]}" >/dev/null 2>&1; then
    STATUS[$n]=cached
    log "cached  $(printf '%-18s' "$n") ${REF[$n]}"
  else
    STATUS[$n]=pending
    # --force re-uses the tag: the image it pointed to is removed after the rebuild
    OLD_ID[$n]=$(docker image inspect -f '{{.Id}}' "${REF[$n]}" 2>/dev/null || true)
  fi
done

pending=(); for n in "${SELECTED[@]}"; do if [ "${STATUS[$n]}" = pending ]; then pending+=("$n"); fi; done
declare -A PIDS=()
failed=()
if [ "${#pending[@]}" -gt 0 ]; then
  log "building ${#pending[@]} image(s), $JOBS at a time; logs in $CACHE_DIR/logs/<name>.log"
  next=0; last_report=$(date +%s)
  while :; do
    # start builds while there is room
    while [ "$next" -lt "${#pending[@]}" ] && [ "${#PIDS[@]}" -lt "$JOBS" ]; do
      n=${pending[$next]}; next=$((next + 1))
      ctx="$IMAGES_DIR/$n"; extra=()
      if [ "$n" = node ]; then ctx=$STAGE; extra=("${NODE_ARGS[@]}"); fi
      STARTED[$n]=$(date +%s)
      log "build   $(printf '%-18s' "$n") ${REF[$n]}"
      ( docker_build "$n" "$ctx" "${REF[$n]}" "${REF[$n]##*:}" "$SHARED" "${extra[@]}" ) \
        >"$CACHE_DIR/logs/$n.log" 2>&1 &
      PIDS[$n]=$!
    done
    [ "${#PIDS[@]}" -eq 0 ] && break
    sleep 1
    for n in "${!PIDS[@]}"; do
      kill -0 "${PIDS[$n]}" 2>/dev/null && continue
      rc=0; wait "${PIDS[$n]}" || rc=$?
      unset "PIDS[$n]"
      SECS[$n]=$(( $(date +%s) - STARTED[$n] ))
      if [ "$rc" = 0 ]; then
        STATUS[$n]=built
        log "built   $(printf '%-18s' "$n") ${REF[$n]} in ${SECS[$n]}s, $(image_size "${REF[$n]}")"
        prune_old "wharf-test/$n" "${REF[$n]##*:}"
        if [ -n "${OLD_ID[$n]}" ] && [ "$KEEP_OLD" = 0 ] \
           && [ "${OLD_ID[$n]}" != "$(docker image inspect -f '{{.Id}}' "${REF[$n]}")" ]; then
          docker image rm "${OLD_ID[$n]}" >/dev/null 2>&1 || true
        fi
      else
        STATUS[$n]=FAILED; failed+=("$n")
        log "FAILED  $n after ${SECS[$n]}s; last lines of $CACHE_DIR/logs/$n.log:"
        tail -n 25 "$CACHE_DIR/logs/$n.log" | sed 's/^/    | /' >&2
      fi
    done
    # progress: the Dockerfile step each running build is at, every 10 s
    if [ "${#PIDS[@]}" -gt 0 ] && [ $(( $(date +%s) - last_report )) -ge 10 ]; then
      last_report=$(date +%s)
      parts=()
      for n in "${!PIDS[@]}"; do
        step=$(grep -o '^Step [0-9]*/[0-9]*' "$CACHE_DIR/logs/$n.log" 2>/dev/null | tail -n1 | cut -d' ' -f2)
        parts+=("$n ${step:-0/?} $(( $(date +%s) - STARTED[$n] ))s")
      done
      queued=$(( ${#pending[@]} - next )); q=""
      if [ "$queued" -gt 0 ]; then q="; queued: $queued"; fi
      log "... $(IFS=','; echo "${parts[*]}" | sed 's/,/, /g')$q"
    fi
  done
fi

# --- summary --------------------------------------------------------------------------------
{
  printf '%-18s %-40s %-8s %7s %s\n' IMAGE REF STATUS SECONDS SIZE
  for n in "${SELECTED[@]}"; do
    size='-'; docker image inspect "${REF[$n]}" >/dev/null 2>&1 && size=$(image_size "${REF[$n]}")
    printf '%-18s %-40s %-8s %7s %s\n' "$n" "${REF[$n]}" "${STATUS[$n]}" "${SECS[$n]:--}" "$size"
  done
} | sed 's/^/[build-images] /' >&2
[ "${#failed[@]}" -eq 0 ] || die "${#failed[@]} image(s) failed: ${failed[*]}"

json="{"; sep=""
for k in "${KEY_ORDER[@]}"; do
  for n in "${SELECTED[@]}"; do
    for kk in ${KEYS[$n]}; do
      [ "$kk" = "$k" ] || continue
      json+="$sep\"$k\":\"${REF[$n]}\""; sep=","
    done
  done
done
json+="}"
if [ -n "$OUT" ]; then
  mkdir -p "$(dirname "$OUT")"
  printf '%s\n' "$json" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
  log "image map written to $OUT"
fi
log "done in $(( $(date +%s) - t0 ))s"
[ "$JSON" = 1 ] && printf '%s\n' "$json"
exit 0

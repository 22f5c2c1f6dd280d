#!/usr/bin/env bash
# A 3-manager Docker Swarm of Docker-in-Docker nodes plus a local registry, for the
# multi-node e2e tests (test/e2e/swarm.e2e.test.ts). Everything it makes is named
# wharf-swarm-*; nothing else on the engine is touched.
#
#   scripts/docker/swarm-nodes.sh up [--nodes N]   # idempotent; prints the fixture as JSON (last line)
#   scripts/docker/swarm-nodes.sh push REF...      # push local images to the registry; prints JSON
#                                                  # {localRef: refTheNodesPull}
#   scripts/docker/swarm-nodes.sh status           # the fixture as JSON, or exit 1 when it is not up
#   scripts/docker/swarm-nodes.sh down             # remove nodes, registry and network
#   scripts/docker/swarm-nodes.sh node-image       # build (if needed) and print the node image (one-engine hosts)
#
# Nodes run without --privileged (this VM withholds CAP_SYS_RESOURCE, so it always fails):
# every capability but SYS_RESOURCE, no seccomp/apparmor confinement, unmasked system
# paths, all devices; node/entrypoint.sh remounts /sys and the cgroup v1 hierarchies rw.
# Each node's dockerd also listens on tcp://<node ip>:2375, reachable only on the test
# bridge network, so the host's docker client (28.x: `docker stack config`) drives the
# swarm with DOCKER_HOST and reads the stack's secret/config files locally, as it would
# with DOCKER_HOST=ssh://a-manager.
#
# The registry is Debian's docker-registry (no auth) on the same network. It is also
# published on a loopback port of the host: the host's engine treats 127.0.0.0/8 as an
# insecure registry by default, so it pushes to 127.0.0.1:<port>/<repo>, and the nodes
# (insecure-registries in their daemon.json) pull the same repository as
# wharf-swarm-registry:5000/<repo>.
#
# Environment: WHARF_SWARM_PREFIX (default wharf-swarm; names of everything it makes),
#              WHARF_BUILD_NETWORK (docker build --network, as build-test-images.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=${WHARF_SWARM_PREFIX:-wharf-swarm}
case "$P" in wharf-swarm*) ;; *) echo "WHARF_SWARM_PREFIX must start with wharf-swarm" >&2; exit 2 ;; esac
NET="$P-net"
REG="$P-registry"
BASE_TAG=local/debian:bookworm
NODES=3

log() { printf '[swarm-nodes] %s\n' "$*" >&2; }
die() { printf '[swarm-nodes] ERROR: %s\n' "$*" >&2; exit 1; }

node_name() { printf '%s-%s' "$P" "$1"; }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$1"; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
exists() { docker inspect "$1" >/dev/null 2>&1; }
# docker inside a node, through its unix socket
nd() { local n=$1; shift; docker exec "$n" docker "$@"; }

# image_for DIR NAME: build FROM the debootstrap base, tagged by a hash of the directory
# and the base's id, so an unchanged fixture rebuilds nothing.
image_for() {
  local dir=$1 name=$2 base_id hash ref
  docker image inspect "$BASE_TAG" >/dev/null 2>&1 || bash "$here/build-base.sh" >&2
  base_id=$(docker image inspect -f '{{.Id}}' "$BASE_TAG")
  hash=$({ echo "$base_id"; (cd "$dir" && find . -type f | LC_ALL=C sort | xargs sha256sum); } | sha256sum | cut -c1-12)
  ref="wharf-swarm/$name:$hash"
  if ! docker image inspect "$ref" >/dev/null 2>&1; then
    log "building $ref"
    local opts=(-q -t "$ref" --build-arg "BASE=$BASE_TAG" --label "org.wharf.swarm.fixture=$name")
    if [ -n "${WHARF_BUILD_NETWORK:-}" ]; then opts+=(--network "$WHARF_BUILD_NETWORK"); fi
    DOCKER_BUILDKIT=0 docker build "${opts[@]}" "$dir" >/dev/null
  fi
  printf '%s' "$ref"
}

registry_port() { docker port "$REG" 5000/tcp | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -n1; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt "$limit" ] || die "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}

# Docker's encrypted overlays install IPsec ESP states with AES-GCM (rfc4106). Kernels
# without ESP or that AEAD refuse them ("function not implemented" in dockerd's log) and
# then silently drop the network's traffic between nodes. Probe what dockerd would do.
esp_works() {
  local n; n=$(node_name 1)
  if docker exec "$n" ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7711 reqid 0x7711 mode transport \
      aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 >/dev/null 2>&1; then
    docker exec "$n" ip xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7711 >/dev/null 2>&1 || true
    echo true
  else echo false; fi
}

json_status() {
  local port leader nodes="" i n ip
  port=$(registry_port)
  leader=$(nd "$(node_name 1)" node ls --format '{{.Hostname}} {{.ManagerStatus}}' 2>/dev/null | awk '$2 == "Leader" { print $1 }' || true)
  [ -n "$leader" ] || leader=$(for i in $(seq 2 "$NODES"); do nd "$(node_name "$i")" node ls --format '{{.Hostname}} {{.ManagerStatus}}' 2>/dev/null | awk '$2 == "Leader" { print $1 }' && break; done | head -n1)
  for i in $(seq 1 "$NODES"); do
    n=$(node_name "$i"); ip=$(ip_of "$n")
    nodes+="${nodes:+,}{\"name\":\"$n\",\"ip\":\"$ip\",\"dockerHost\":\"tcp://$ip:2375\"}"
  done
  printf '{"prefix":"%s","network":"%s","registry":{"name":"%s","push":"127.0.0.1:%s","pull":"%s:5000"},"leader":"%s","dataNode":"%s","encryptedOverlays":%s,"nodes":[%s]}\n' \
    "$P" "$NET" "$REG" "$port" "$REG" "$leader" "$(node_name "$NODES")" "$(esp_works)" "$nodes"
}

up() {
  local t0=$SECONDS node_img reg_img i n ip
  node_img=$(image_for "$here/swarm/node" node)
  reg_img=$(image_for "$here/swarm/registry" registry)
  docker network inspect "$NET" >/dev/null 2>&1 || docker network create --label org.wharf.swarm.fixture=network "$NET" >/dev/null

  if exists "$REG" && [ "$(docker inspect -f '{{.Config.Image}}' "$REG")" != "$reg_img" ]; then docker rm -f -v "$REG" >/dev/null; fi
  if ! exists "$REG"; then
    docker run -d --name "$REG" --network "$NET" -p 127.0.0.1::5000 --restart unless-stopped \
      --label org.wharf.swarm.fixture=registry "$reg_img" >/dev/null
  elif ! running "$REG"; then docker start "$REG" >/dev/null; fi

  local daemon
  daemon=$(printf '{"hosts":["unix:///var/run/docker.sock","tcp://0.0.0.0:2375"],"tls":false,"insecure-registries":["%s:5000"],"storage-driver":"overlay2","log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"2"}}' "$REG")
  # A node made from another image or daemon config is stale, and so is the swarm it is in:
  # replace every node rather than mix old and new members.
  local want stale=0
  want=$(printf '%s %s' "$node_img" "$daemon" | sha256sum | cut -c1-12)
  for i in $(seq 1 9); do
    n=$(node_name "$i")
    if exists "$n" && { [ "$i" -gt "$NODES" ] || [ "$(docker inspect -f '{{index .Config.Labels "org.wharf.swarm.config"}}' "$n")" != "$want" ]; }; then stale=1; fi
  done
  if [ "$stale" = 1 ]; then
    log "nodes were made from another image, config or count: recreating the swarm"
    for i in $(seq 1 9); do n=$(node_name "$i"); if exists "$n"; then docker rm -f -v "$n" >/dev/null; fi; done
  fi
  for i in $(seq 1 "$NODES"); do
    n=$(node_name "$i")
    if ! exists "$n"; then
      docker create --name "$n" --hostname "$n" --network "$NET" \
        --cap-add ALL --cap-drop SYS_RESOURCE \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
        --device-cgroup-rule='a *:* rwm' -v /var/lib/docker \
        --label org.wharf.swarm.fixture=node --label "org.wharf.swarm.config=$want" "$node_img" >/dev/null
      docker cp - "$n:/etc/docker/" >/dev/null < <(tmp=$(mktemp -d); printf '%s\n' "$daemon" >"$tmp/daemon.json"; tar -C "$tmp" -c daemon.json; rm -rf "$tmp")
    fi
    running "$n" || docker start "$n" >/dev/null
  done
  for i in $(seq 1 "$NODES"); do
    n=$(node_name "$i")
    wait_for 90 "dockerd in $n" docker exec "$n" docker info
  done
  log "nodes answer after $((SECONDS - t0))s"

  local t1=$SECONDS first state token addr
  first=$(node_name 1)
  state=$(nd "$first" info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != active ]; then
    nd "$first" swarm init --advertise-addr "$(ip_of "$first")" >/dev/null
  fi
  token=$(nd "$first" swarm join-token -q manager)
  addr="$(ip_of "$first"):2377"
  for i in $(seq 2 "$NODES"); do
    n=$(node_name "$i")
    state=$(nd "$n" info --format '{{.Swarm.LocalNodeState}}')
    if [ "$state" != active ]; then
      # the leader may have moved: join through any manager that answers
      nd "$n" swarm join --token "$token" --advertise-addr "$(ip_of "$n")" "$addr" >/dev/null
    fi
  done
  wait_for 60 "$NODES ready managers" sh -c "[ \$(docker exec $first docker node ls --format '{{.Status}} {{.ManagerStatus}}' | grep -c '^Ready \\(Leader\\|Reachable\\)') -eq $NODES ]"
  # Databases and caches are pinned to the node labelled wharf.db=true (src/plan/placement.ts):
  # the last node, so the first one (the leader after init) can be lost without the data.
  local data
  data=$(node_name "$NODES")
  for i in $(seq 1 "$NODES"); do
    n=$(node_name "$i")
    if [ "$n" = "$data" ]; then nd "$first" node update --label-add wharf.db=true "$n" >/dev/null
    else nd "$first" node update --label-rm wharf.db "$n" >/dev/null 2>&1 || true; fi
  done
  wait_for 30 "the registry" sh -c "wget -q -O /dev/null http://127.0.0.1:$(registry_port)/v2/ 2>/dev/null || curl -fsS -o /dev/null http://127.0.0.1:$(registry_port)/v2/"
  log "swarm of $NODES managers ready in $((SECONDS - t1))s (total $((SECONDS - t0))s)"
  json_status
}

push() {
  local port t0=$SECONDS out="" ref repo tag target
  port=$(registry_port); [ -n "$port" ] || die "the registry is not up: run '$0 up' first"
  for ref in "$@"; do
    repo=${ref%:*}; tag=${ref##*:}
    target="127.0.0.1:$port/$ref"
    # the registry already has this tag: image refs are content-hashed, so it is the same image
    if ! curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://127.0.0.1:$port/v2/$repo/manifests/$tag" 2>/dev/null; then
      docker tag "$ref" "$target"
      docker push -q "$target" >/dev/null
      docker rmi "$target" >/dev/null
      log "pushed $ref"
    fi
    out+="${out:+,}\"$ref\":\"$REG:5000/$ref\""
  done
  log "push done in $((SECONDS - t0))s"
  printf '{%s}\n' "$out"
}

down() {
  local i n
  for i in $(seq 1 9); do
    n=$(node_name "$i")
    if exists "$n"; then docker rm -f -v "$n" >/dev/null; log "removed $n"; fi
  done
  if exists "$REG"; then docker rm -f -v "$REG" >/dev/null; log "removed $REG"; fi
  if docker network inspect "$NET" >/dev/null 2>&1; then docker network rm "$NET" >/dev/null; log "removed $NET"; fi
}

status() {
  for i in $(seq 1 "$NODES"); do running "$(node_name "$i")" || { log "$(node_name "$i") is not running"; exit 1; }; done
  running "$REG" || { log "$REG is not running"; exit 1; }
  json_status
}

cmd=${1:-}; shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=${2:?--nodes needs a number}; shift 2 ;;
    *) break ;;
  esac
done
case "$cmd" in
  up) up ;;
  push) push "$@" ;;
  status) status ;;
  down) down ;;
  node-image) image_for "$here/swarm/node" node; echo ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac

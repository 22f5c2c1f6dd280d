#!/bin/bash
# Inside the fresh-machine container: make the cgroup and /sys mounts writable for the inner
# dockerd (no --privileged here), clone the committed repository, run CI as CI would.
set -euo pipefail
mount -o remount,rw /sys 2>/dev/null || true
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [ -d "$d" ] && mountpoint -q "$d" && mount -o remount,rw,bind "$d" "$d" 2>/dev/null || true
done
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid
# The device nodes a machine of this kind has and a container's /dev lacks (the cgroup rule
# allows them): loop devices for the tests that mount a small ext4, TUN for wireguard-go.
[ -e /dev/loop-control ] || mknod -m 660 /dev/loop-control c 10 237
for i in $(seq 0 15); do [ -e "/dev/loop$i" ] || mknod -m 660 "/dev/loop$i" b 7 "$i"; done
mkdir -p /dev/net && { [ -e /dev/net/tun ] || mknod -m 666 /dev/net/tun c 10 200; }
# The kernel log, as a machine of this kind has it (the edge storm test reads its OOM records).
[ -e /dev/kmsg ] || mknod -m 644 /dev/kmsg c 1 11
mkdir -p /work/ci
git clone -q /src/repo.git /work/ci/main
git -C /work/ci/main checkout -q "$WHARF_FRESH_REF"
cp -a /src/shared /work/ci/shared && chmod -R a-w /work/ci/shared
cd /work/ci/main
echo "[fresh] $(git log --oneline -1) on $(node --version); docker client $(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"
CI=true bash .ci/run </dev/null

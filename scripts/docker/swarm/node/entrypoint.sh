#!/bin/sh
# Docker-in-Docker without --privileged: the node runs with every capability but
# SYS_RESOURCE, which still leaves /sys and the cgroup v1 hierarchies mounted read-only.
# dockerd needs them writable to create its containers' cgroups.
set -eu
mount -o remount,rw /sys 2>/dev/null || echo "wharf-node: cannot remount /sys rw" >&2
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts | while read -r dir; do
  mount -o remount,rw,bind "$dir" 2>/dev/null || echo "wharf-node: cannot remount $dir rw" >&2
done
# A stopped node keeps its pid files in the /var/run layer: dockerd and containerd
# refuse to start over them after `docker start`.
rm -f /var/run/docker.pid /run/docker.pid /var/run/docker/containerd/containerd.pid /run/docker/containerd/containerd.pid
exec dockerd "$@"

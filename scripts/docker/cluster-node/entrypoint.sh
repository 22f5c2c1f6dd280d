#!/bin/sh
# Like scripts/docker/swarm/node/entrypoint.sh: the node runs with every capability but
# SYS_RESOURCE, which still leaves /sys and the cgroup hierarchies read-only; dockerd (started
# later by the docker role) needs them writable. Then it starts syslog and idles until Ansible
# drives it.
set -eu
mount -o remount,rw /sys 2>/dev/null || echo "wharf-cluster-node: cannot remount /sys rw" >&2
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts | while read -r dir; do
  mount -o remount,rw,bind "$dir" 2>/dev/null || echo "wharf-cluster-node: cannot remount $dir rw" >&2
done
# what a sysvinit host's boot starts: a syslog daemon (sshd logs to it, fail2ban reads auth.log)
rsyslogd || echo "wharf-cluster-node: rsyslogd did not start" >&2
exec "$@"

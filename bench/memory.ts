// A container's memory as `docker stats` means it (usage less the inactive page cache), read from
// its cgroup when the engine reports none. On this machine dockerd runs in a nested cgroup v1
// namespace: containerd cannot map the container's cgroup to a mount ("cannot find cgroup mount
// destination"), so `docker stats` prints 0B / 0B for every container and the bench said 0.0 MiB.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MiB = 1024 * 1024;

/** `docker stats` MemUsage ("12.5MiB / 1GiB", "0B / 0B") -> MiB used; undefined when the engine read nothing. */
export function statsMiB(memUsage: string): number | undefined {
  const m = /^\s*([\d.]+)\s*([KMGT]?i?B)\b/.exec(memUsage);
  if (!m) return undefined;
  const unit = { B: 1, KiB: 1024, kB: 1000, MiB: MiB, MB: 1e6, GiB: 1024 * MiB, GB: 1e9, TiB: 1024 ** 2 * MiB, TB: 1e12 }[m[2]!];
  const bytes = Number(m[1]) * (unit ?? NaN);
  // a running container always uses some memory: 0 B is the engine reading nothing
  return bytes > 0 ? bytes / MiB : undefined;
}

/**
 * The same figure from the cgroup's files, as docker computes it: v1 memory.usage_in_bytes less
 * total_inactive_file; v2 memory.current less inactive_file.
 */
export function cgroupMiB(files: { usage?: string; current?: string; stat?: string }): number | undefined {
  const stat = Object.fromEntries((files.stat ?? '').split('\n').map((l) => l.split(' ') as [string, string]));
  const [used, inactive] =
    files.current !== undefined ? [files.current, stat.inactive_file] : [files.usage, stat.total_inactive_file ?? stat.inactive_file];
  if (used === undefined || !/^\d+$/.test(used.trim())) return undefined;
  const bytes = Number(used) - Number(inactive ?? 0);
  return Math.max(0, bytes) / MiB;
}

/** Where a process's memory cgroup is on this host: v1 /sys/fs/cgroup/memory/<path>, v2 /sys/fs/cgroup/<path>. */
export function cgroupDir(procCgroup: string): string | undefined {
  const lines = procCgroup.split('\n');
  const v1 = lines.map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('memory'));
  if (v1) return `/sys/fs/cgroup/memory${v1[2]}`;
  const v2 = lines.map((l) => l.split(':')).find((f) => f[0] === '0' && f[1] === '');
  return v2 ? `/sys/fs/cgroup${v2[2]}` : undefined;
}

/** A running container's memory in MiB: docker stats when it read something, else its cgroup; undefined when neither can. */
export function containerMiB(name: string, memUsage: string): number | undefined {
  const fromStats = statsMiB(memUsage);
  if (fromStats !== undefined) return fromStats;
  try {
    const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', name], { encoding: 'utf8' }).trim();
    const dir = cgroupDir(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    if (!dir) return undefined;
    const read = (f: string) => {
      try {
        return readFileSync(`${dir}/${f}`, 'utf8');
      } catch {
        return undefined;
      }
    };
    return cgroupMiB({ usage: read('memory.usage_in_bytes'), current: read('memory.current'), stat: read('memory.stat') });
  } catch {
    return undefined;
  }
}

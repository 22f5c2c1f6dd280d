// Host: node-exporter.
import { LEN, flat, ramp, sel, FS, pct, type Draft, type RuleContext } from './shared.js';

export function hostRules({ p, jobs }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  if (p.nodeExporter) {
    const job = jobs.find((j) => j.component === 'node-exporter')?.job ?? 'node-exporter';
    const lbl = { job, instance: '10.0.2.1:9100', component: 'node-exporter' };
    const out = { job, instance: lbl.instance, component: 'node-exporter' };
    drafts.push({
      alert: 'HighCPUUsage',
      group: 'host',
      severity: 'warning',
      for: '5m',
      component: 'host',
      down: false,
      threshold: 0.8,
      thresholdUnit: 'ratio',
      expr: (t) => `1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > ${t}`,
      summary: 'Host CPU usage is high on {{ $labels.instance }}',
      description: (t, f) => `The host's CPUs have been more than ${pct(t)} busy for ${f}.`,
      runbook: 'See the containers dashboard for the container using the CPU; lower its `resources.cpus` or add capacity.',
      fixture: {
        firing: [{ series: sel('node_cpu_seconds_total', { ...lbl, cpu: '0', mode: 'idle' }), values: ramp(0, 6) }],
        quiet: [{ series: sel('node_cpu_seconds_total', { ...lbl, cpu: '0', mode: 'idle' }), values: ramp(0, 54) }],
        labels: out,
      },
    });
    drafts.push({
      alert: 'HostOutOfMemory',
      group: 'host',
      severity: 'warning',
      for: '5m',
      component: 'host',
      down: false,
      threshold: 0.1,
      thresholdUnit: 'ratio of memory available',
      expr: (t) => `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < ${t}`,
      summary: 'Host memory is nearly exhausted on {{ $labels.instance }}',
      description: (t, f) => `Less than ${pct(t)} of the host's memory has been available for ${f}.`,
      runbook:
        'See the containers dashboard for the largest working sets; lower memory limits or add memory before the kernel OOM-kills containers.',
      fixture: {
        firing: [
          { series: sel('node_memory_MemAvailable_bytes', lbl), values: flat(5e7) },
          { series: sel('node_memory_MemTotal_bytes', lbl), values: flat(1e9) },
        ],
        quiet: [
          { series: sel('node_memory_MemAvailable_bytes', lbl), values: flat(5e8) },
          { series: sel('node_memory_MemTotal_bytes', lbl), values: flat(1e9) },
        ],
        labels: out,
      },
    });
    const fs = { ...lbl, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
    drafts.push({
      alert: 'HostDiskFull',
      group: 'host',
      severity: 'critical',
      for: '5m',
      component: 'host',
      down: false,
      threshold: 0.1,
      thresholdUnit: 'ratio of space available',
      expr: (t) => `node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}} < ${t} and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} is almost full on {{ $labels.instance }}',
      description: (t, f) => `Less than ${pct(t)} of {{ $labels.mountpoint }} ({{ $labels.device }}) has been free for ${f}.`,
      runbook:
        'Free space: `docker system df` then `docker image prune`; check Prometheus retention and backup destinations on the same disk.',
      fixture: {
        firing: [
          { series: sel('node_filesystem_avail_bytes', fs), values: flat(5e7) },
          { series: sel('node_filesystem_size_bytes', fs), values: flat(1e9) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        quiet: [
          { series: sel('node_filesystem_avail_bytes', fs), values: flat(5e8) },
          { series: sel('node_filesystem_size_bytes', fs), values: flat(1e9) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
      },
    });
    drafts.push({
      alert: 'HostDiskWillFillIn4Hours',
      group: 'host',
      severity: 'warning',
      for: '15m',
      component: 'host',
      down: false,
      threshold: 4,
      thresholdUnit: 'hours',
      expr: (t) =>
        `predict_linear(node_filesystem_avail_bytes{${FS}}[3h], ${t} * 3600) < 0` +
        ` and node_filesystem_avail_bytes{${FS}} > 0` +
        ` and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} will fill up soon on {{ $labels.instance }}',
      description: (t, f) =>
        `At the rate of the last 3 hours, {{ $labels.mountpoint }} ({{ $labels.device }}) fills up within ${t} hours; predicted for ${f}.`,
      runbook:
        'Find what grows (`du -xh --max-depth=2 /var/lib/docker`): logs, Prometheus TSDB, local backups; prune or move it before the disk is full.',
      fixture: {
        firing: [
          { series: sel('node_filesystem_avail_bytes', fs), values: ramp(6e8, -2e6) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        quiet: [
          { series: sel('node_filesystem_avail_bytes', fs), values: flat(6e8) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
        at: '200m',
      },
    });
    drafts.push({
      alert: 'HostOutOfInodes',
      group: 'host',
      severity: 'critical',
      for: '5m',
      component: 'host',
      down: false,
      threshold: 0.1,
      thresholdUnit: 'ratio of inodes free',
      // filesystems without an inode table (btrfs reports 0) divide by nothing and stay out
      expr: (t) => `node_filesystem_files_free{${FS}} / (node_filesystem_files{${FS}} > 0) < ${t} and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} is running out of inodes on {{ $labels.instance }}',
      description: (t, f) =>
        `Less than ${pct(t)} of the inodes of {{ $labels.mountpoint }} ({{ $labels.device }}) have been free for ${f}: ` +
        `new files fail with "No space left on device" while space remains.`,
      runbook:
        'Find the directory with millions of small files (`find / -xdev -type d -size +1M`): image layers (`docker image prune`), ' +
        'session or cache files, mail queues.',
      fixture: {
        firing: [
          { series: sel('node_filesystem_files_free', fs), values: flat(5e4) },
          { series: sel('node_filesystem_files', fs), values: flat(1e6) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        quiet: [
          { series: sel('node_filesystem_files_free', fs), values: flat(8e5) },
          { series: sel('node_filesystem_files', fs), values: flat(1e6) },
          { series: sel('node_filesystem_readonly', fs), values: flat(0) },
        ],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
      },
    });
    drafts.push({
      alert: 'HostOomKillDetected',
      group: 'host',
      severity: 'warning',
      for: '0m',
      component: 'host',
      down: false,
      // the kernel's own count (/proc/vmstat): it needs no /dev/kmsg, unlike cAdvisor's per-container one
      expr: () => 'increase(node_vmstat_oom_kill[15m]) > 0',
      summary: 'The kernel OOM-killed a process on {{ $labels.instance }}',
      description: () =>
        'The kernel killed a process for lack of memory in the last 15 minutes (a container over its memory limit, or the host out of memory).',
      runbook:
        '`docker ps -a --filter exited=137` (exit code 137) and `docker inspect <container>` (State.OOMKilled) name the container; ' +
        'raise its `resources.memory` or find the leak.',
      fixture: {
        firing: [{ series: sel('node_vmstat_oom_kill', lbl), values: `0x5 1x${LEN}` }],
        quiet: [{ series: sel('node_vmstat_oom_kill', lbl), values: flat(3) }],
        labels: out,
        at: '10m',
      },
    });
    drafts.push({
      alert: 'HostClockSkew',
      group: 'host',
      severity: 'warning',
      for: '10m',
      component: 'host',
      down: false,
      threshold: 0.05,
      thresholdUnit: 'seconds of offset',
      // only while the offset is not shrinking: NTP slewing back is not a problem
      expr: (t) =>
        `(node_timex_offset_seconds > ${t} and deriv(node_timex_offset_seconds[5m]) >= 0)` +
        ` or (node_timex_offset_seconds < -${t} and deriv(node_timex_offset_seconds[5m]) <= 0)`,
      summary: 'The clock of {{ $labels.instance }} is off',
      description: (t, f) =>
        `The kernel clock has been more than ${t}s off its time source, and not converging, for ${f}: TLS, tokens, ` +
        `backup schedules and metrics timestamps suffer.`,
      runbook: 'Check the time daemon (`timedatectl`, `chronyc tracking`); a VM paused or restored from a snapshot jumps.',
      fixture: {
        firing: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(0.2) }],
        quiet: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(0.001) }],
        labels: out,
        alsoFires: [{ name: 'behind', firing: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(-0.2) }], labels: out }],
      },
    });
    drafts.push({
      alert: 'NodeTextfileScrapeError',
      group: 'host',
      severity: 'warning',
      for: '5m',
      component: 'host',
      down: false,
      expr: () => 'node_textfile_scrape_error == 1',
      summary: 'node-exporter cannot read a textfile on {{ $labels.instance }}',
      description: (_t, f) =>
        `A file in node-exporter's textfile directory has been unreadable or unparsable for ${f}: ` +
        `the metrics it carries (the backups' among them) are missing.`,
      runbook:
        '`docker compose logs node-exporter` names the file and the parse error; a backup metrics file is rewritten by the next `wharf backup <job>`.',
      fixture: {
        firing: [{ series: sel('node_textfile_scrape_error', lbl), values: flat(1) }],
        quiet: [{ series: sel('node_textfile_scrape_error', lbl), values: flat(0) }],
        labels: out,
      },
    });
  }
  return drafts;
}

// The alert catalogue and the recording rules, decided from the plan: only the
// components present get their rules. Each alert carries its own example series
// (a firing and a quiet case) so `promtool test rules` can prove every rule.
import type { BackupJob, Plan } from '../../plan/model.js';
import { cronMaxIntervalSeconds } from '../../spec/cron.js';
import { promTemplateText, promqlRegex, promqlReplacement, promqlString as str } from '../../escape/promql.js';

/** Metrics the backup jobs export (the backup runner writes them; the rules read them). */
export const BACKUP_LAST_SUCCESS_METRIC = 'wharf_backup_last_success_timestamp_seconds';
/** 1 when the last backup run succeeded, 0 when it failed. */
export const BACKUP_LAST_STATUS_METRIC = 'wharf_backup_last_status';
/** 1 when the last verification (restic check / restore test) succeeded, 0 when it failed. */
export const BACKUP_VERIFY_LAST_STATUS_METRIC = 'wharf_backup_verify_last_status';
/** Labels every backup metric carries: `backup` is the BackupJob name, `target` the component backed up. */
export const BACKUP_METRIC_LABELS = ['backup', 'target'] as const;

/** The always-firing alert: its arrival at the heartbeat receiver proves the whole pipeline works. */
export const WATCHDOG_ALERT = 'Watchdog';

/** Recording rules the dashboards and alerts read (one series per app service). */
export const RECORDED = {
  requestRate: 'job:app_requests:rate5m',
  errorRatio: 'job:app_request_errors:ratio_rate5m',
  p50: 'job:app_request_latency_seconds:p50_rate5m',
  p95: 'job:app_request_latency_seconds:p95_rate5m',
  p99: 'job:app_request_latency_seconds:p99_rate5m',
  endpointRate: 'job_endpoint:app_requests:rate5m',
  endpointP95: 'job_endpoint:app_request_latency_seconds:p95_rate5m',
} as const;

/** One input series in promtool's notation. */
export interface PromSeries {
  series: string;
  values: string;
}

export interface AlertFixture {
  /** series under which the alert fires at `at` */
  firing: PromSeries[];
  /** series under which it stays silent at `at` */
  quiet: PromSeries[];
  /** labels the alert's expression yields on the firing series (before the rule's own labels) */
  labels: Record<string, string>;
  /** evaluation time (defaults to the rule's `for` + 10m) */
  at?: string;
  /** sample interval of the series (defaults to 1m) */
  interval?: string;
  /** fires on any input: there is no quiet case (the Watchdog) */
  always?: boolean;
  /** more ways the alert must fire (each its own promtool case, same interval) */
  alsoFires?: Array<{ name: string; firing: PromSeries[]; labels: Record<string, string>; at?: string }>;
}

/** `none` is for the Watchdog only: no human receiver matches it. */
export type Severity = 'critical' | 'warning' | 'none';

export interface AlertRule {
  alert: string;
  /** rule group, and the rule file it lands in: prometheus/rules/<group>.yml */
  group: string;
  expr: string;
  for: string;
  severity: Severity;
  /** the component the alert is about: a literal or `{{ $labels.component }}` */
  component: string;
  /** default threshold, after overrides; its unit is given by thresholdUnit */
  threshold?: number;
  thresholdUnit?: string;
  /** a `down` alert silences the other alerts of the same component (Alertmanager inhibition) */
  down: boolean;
  summary: string;
  description: string;
  runbook: string;
  fixture: AlertFixture;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup {
  name: string;
  rules: Array<{ record: string; expr: string } | Omit<AlertRule, 'group'>>;
}

/** Samples in every fixture series: 5 hours at the default 1m interval. */
const LEN = 300;
const flat = (v: number | string) => `${v}x${LEN}`;
const ramp = (start: number, step: number) => (step < 0 ? `${start}-${-step}x${LEN}` : `${start}+${step}x${LEN}`);
const sel = (metric: string, labels: Record<string, string>) =>
  `${metric}{${Object.entries(labels).map(([k, v]) => `${k}=${str(v)}`).join(',')}}`;

/** Filesystems that say nothing about the host's disks. */
const FS = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.*|nfs.*",mountpoint!~"/(dev|proc|sys|run)($|/).*"';

interface Draft extends Omit<AlertRule, 'threshold' | 'for' | 'expr' | 'description' | 'fixture'> {
  for: string;
  /** `for` is part of the rule (the threshold itself), not the alert's overridable `for` */
  fixedFor?: boolean;
  threshold?: number;
  thresholdUnit?: string;
  expr: (t: number) => string;
  description: (t: number, forText: string) => string;
  fixture: AlertFixture;
}

/** The component each scrape job watches: exporters stand for the database or cache they export. */
export function jobComponents(plan: Plan): Array<{ job: string; component: string; replicas: number; app: boolean }> {
  const byName = new Map(plan.components.map((c) => [c.name, c]));
  return plan.monitoring.scrapeJobs.map((j) => {
    const c = byName.get(j.component);
    const watched = c?.role === 'exporter' && c.dependsOn[0] ? c.dependsOn[0].name : j.component;
    return {
      job: j.job,
      component: watched,
      replicas: c?.replicas ?? 1,
      app: plan.monitoring.present.apps.includes(j.component),
    };
  });
}

function exporterJob(plan: Plan, component: string): string {
  return jobComponents(plan).find((j) => j.component === component && j.job !== component)?.job ?? `${component}-exporter`;
}

/** The longest time between two runs of a cron schedule, from the cron library (src/spec/cron.ts). */
export function schedulePeriodSeconds(schedule: string): number {
  return cronMaxIntervalSeconds(schedule);
}

/** A backup is stale when no run has succeeded for two of its longest gaps plus 15 minutes. */
export function backupStaleSeconds(schedule: string): number {
  return 2 * schedulePeriodSeconds(schedule) + 900;
}

function fmtDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export function parseDurationSeconds(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(d);
  if (!m) return 0;
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2] as 'ms'];
  return Number(m[1]) * mult;
}

const pct = (t: number) => `${Math.round(t * 1000) / 10}%`;

/** Every alert that applies to the plan, with overrides applied and disabled ones removed. */
export function alertCatalogue(plan: Plan): AlertRule[] {
  const m = plan.monitoring;
  if (!m.enabled) return [];
  const p = m.present;
  const jobs = jobComponents(plan);
  const appJobs = jobs.filter((j) => j.app);
  const otherJobs = jobs.filter((j) => !j.app && j.job !== 'prometheus');
  const drafts: Draft[] = [];
  const comp = '{{ $labels.component }}';

  // Platform: scrape targets.
  const notApps = appJobs.length ? `job!~${str(promqlRegex(appJobs.map((j) => j.job)))}` : '';
  const anyJob = otherJobs[0] ?? jobs[0];
  if (anyJob) {
    const base = { job: anyJob.job, component: anyJob.component };
    drafts.push({
      alert: 'TargetDown', group: 'platform', severity: 'warning', for: '2m', component: comp, down: true,
      expr: () => `${notApps ? `up{${notApps}}` : 'up'} == 0 unless on (job) (sum by (job) (up) == 0)`,
      summary: 'Scrape target {{ $labels.instance }} of {{ $labels.job }} is down',
      description: (_t, f) => `Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for ${f}, while other targets of the job answer.`,
      runbook: 'Check the container: `wharf status`, `docker compose logs <service>`; a failing healthcheck or a crash loop usually shows there.',
      fixture: {
        firing: [{ series: sel('up', { ...base, instance: '10.0.0.1:1' }), values: flat(0) }, { series: sel('up', { ...base, instance: '10.0.0.2:1' }), values: flat(1) }],
        quiet: [{ series: sel('up', { ...base, instance: '10.0.0.1:1' }), values: flat(1) }, { series: sel('up', { ...base, instance: '10.0.0.2:1' }), values: flat(1) }],
        labels: { ...base, instance: '10.0.0.1:1' },
      },
    });
  }
  if (otherJobs.length) {
    const j0 = otherJobs[0]!;
    drafts.push({
      alert: 'JobDown', group: 'platform', severity: 'critical', for: '2m', component: comp, down: true,
      // Docker DNS drops a dead container's address, so its `up` series vanishes instead of reading 0.
      expr: () => otherJobs
        .map((j) => `label_replace(label_replace(absent(up{job=${str(j.job)}} == 1), "job", ${promqlReplacement(j.job)}, "", ""), "component", ${promqlReplacement(j.component)}, "", "")`)
        .join('\nor\n'),
      summary: 'No target of {{ $labels.job }} is up',
      description: (_t, f) => `Every target of job {{ $labels.job }} ({{ $labels.component }}) has been down or missing from Docker DNS for ${f}.`,
      runbook: 'The container is stopped or crash-looping: `wharf status`, then `docker compose logs` for it; `wharf up` restarts what is missing.',
      fixture: {
        firing: otherJobs.map((j, i) => ({ series: sel('up', { job: j.job, component: j.component, instance: `10.0.0.${i + 1}:1` }), values: flat(i === 0 ? 0 : 1) })),
        quiet: otherJobs.map((j, i) => ({ series: sel('up', { job: j.job, component: j.component, instance: `10.0.0.${i + 1}:1` }), values: flat(1) })),
        labels: { job: j0.job, component: j0.component },
      },
    });
  }

  // Application services (the seeds' API alerts, for every instrumented service).
  if (appJobs.length) {
    const a = appJobs[0]!;
    const lbl = { job: a.job, component: a.component };
    const replicasUp = (n: number, down: number) => Array.from({ length: n }, (_, i) => ({
      series: sel('up', { ...lbl, instance: `10.0.1.${i + 1}:3000` }), values: flat(i >= n - down ? 0 : 1),
    }));
    drafts.push({
      alert: 'APIDown', group: 'services', severity: 'critical', for: '1m', component: comp, down: true,
      expr: () => appJobs.map((j) =>
        `(count by (job, component) (up{job=${str(j.job)}} == 1) < ${j.replicas})\nor\nlabel_replace(label_replace(absent(up{job=${str(j.job)}} == 1), "job", ${promqlReplacement(j.job)}, "", ""), "component", ${promqlReplacement(j.component)}, "", "")`)
        .join('\nor\n'),
      summary: 'Service {{ $labels.job }} has replicas down',
      description: (_t, f) => `Fewer replicas of {{ $labels.job }} answer on their metrics endpoint than the plan runs, for ${f}.`,
      runbook: 'Find the missing replica with `wharf status`; read its logs with `docker compose logs <service>`; `wharf up` recreates stopped replicas.',
      fixture: { firing: replicasUp(a.replicas, 1), quiet: replicasUp(a.replicas, 0), labels: lbl },
    });
    const bucket = (le: string, v: string) => ({ series: sel('app_request_latency_seconds_bucket', { ...lbl, instance: '10.0.1.1:3000', endpoint: '/items', method: 'GET', le }), values: v });
    drafts.push({
      alert: 'APIHighLatency', group: 'services', severity: 'warning', for: '2m', component: comp, down: false,
      threshold: 1, thresholdUnit: 'seconds',
      expr: (t) => `${RECORDED.p95} > ${t}`,
      summary: 'Service {{ $labels.job }} p95 latency is high',
      description: (t, f) => `The 95th percentile of request latency of {{ $labels.job }} has been above ${t}s for ${f}.`,
      runbook: 'Open the service dashboard: the per-endpoint panel shows which route is slow; check database and cache dashboards and CPU throttling of the replicas.',
      fixture: {
        firing: [bucket('0.05', flat(0)), bucket('0.1', flat(0)), bucket('1', flat(0)), bucket('2.5', ramp(0, 10)), bucket('+Inf', ramp(0, 10))],
        quiet: [bucket('0.05', flat(0)), bucket('0.1', ramp(0, 10)), bucket('1', ramp(0, 10)), bucket('2.5', ramp(0, 10)), bucket('+Inf', ramp(0, 10))],
        labels: lbl,
      },
    });
    const req = (code: string, v: string) => ({ series: sel('app_requests_total', { ...lbl, instance: '10.0.1.1:3000', endpoint: '/items', method: 'GET', status_code: code }), values: v });
    drafts.push({
      alert: 'APIHighErrorRatio', group: 'services', severity: 'warning', for: '5m', component: comp, down: false,
      threshold: 0.05, thresholdUnit: 'ratio',
      expr: (t) => `${RECORDED.errorRatio} > ${t}`,
      summary: 'Service {{ $labels.job }} answers with too many 5xx',
      description: (t, f) => `More than ${pct(t)} of the requests to {{ $labels.job }} have failed with a 5xx status for ${f}.`,
      runbook: 'Read the service logs (`docker compose logs <service>`); 5xx together with a database or cache alert points at the dependency.',
      fixture: { firing: [req('200', ramp(0, 60)), req('500', ramp(0, 20))], quiet: [req('200', ramp(0, 60)), req('500', flat(0))], labels: lbl },
    });
  }

  // Host (node-exporter).
  if (p.nodeExporter) {
    const job = jobs.find((j) => j.component === 'node-exporter')?.job ?? 'node-exporter';
    const lbl = { job, instance: '10.0.2.1:9100', component: 'node-exporter' };
    const out = { job, instance: lbl.instance, component: 'node-exporter' };
    drafts.push({
      alert: 'HighCPUUsage', group: 'host', severity: 'warning', for: '5m', component: 'host', down: false,
      threshold: 0.8, thresholdUnit: 'ratio',
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
      alert: 'HostOutOfMemory', group: 'host', severity: 'warning', for: '5m', component: 'host', down: false,
      threshold: 0.1, thresholdUnit: 'ratio of memory available',
      expr: (t) => `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < ${t}`,
      summary: 'Host memory is nearly exhausted on {{ $labels.instance }}',
      description: (t, f) => `Less than ${pct(t)} of the host's memory has been available for ${f}.`,
      runbook: 'See the containers dashboard for the largest working sets; lower memory limits or add memory before the kernel OOM-kills containers.',
      fixture: {
        firing: [{ series: sel('node_memory_MemAvailable_bytes', lbl), values: flat(5e7) }, { series: sel('node_memory_MemTotal_bytes', lbl), values: flat(1e9) }],
        quiet: [{ series: sel('node_memory_MemAvailable_bytes', lbl), values: flat(5e8) }, { series: sel('node_memory_MemTotal_bytes', lbl), values: flat(1e9) }],
        labels: out,
      },
    });
    const fs = { ...lbl, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
    drafts.push({
      alert: 'HostDiskFull', group: 'host', severity: 'critical', for: '5m', component: 'host', down: false,
      threshold: 0.1, thresholdUnit: 'ratio of space available',
      expr: (t) => `node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}} < ${t} and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} is almost full on {{ $labels.instance }}',
      description: (t, f) => `Less than ${pct(t)} of {{ $labels.mountpoint }} ({{ $labels.device }}) has been free for ${f}.`,
      runbook: 'Free space: `docker system df` then `docker image prune`; check Prometheus retention and backup destinations on the same disk.',
      fixture: {
        firing: [{ series: sel('node_filesystem_avail_bytes', fs), values: flat(5e7) }, { series: sel('node_filesystem_size_bytes', fs), values: flat(1e9) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        quiet: [{ series: sel('node_filesystem_avail_bytes', fs), values: flat(5e8) }, { series: sel('node_filesystem_size_bytes', fs), values: flat(1e9) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
      },
    });
    drafts.push({
      alert: 'HostDiskWillFillIn4Hours', group: 'host', severity: 'warning', for: '15m', component: 'host', down: false,
      threshold: 4, thresholdUnit: 'hours',
      expr: (t) => `predict_linear(node_filesystem_avail_bytes{${FS}}[3h], ${t} * 3600) < 0 and node_filesystem_avail_bytes{${FS}} > 0 and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} will fill up soon on {{ $labels.instance }}',
      description: (t, f) => `At the rate of the last 3 hours, {{ $labels.mountpoint }} ({{ $labels.device }}) fills up within ${t} hours; predicted for ${f}.`,
      runbook: 'Find what grows (`du -xh --max-depth=2 /var/lib/docker`): logs, Prometheus TSDB, local backups; prune or move it before the disk is full.',
      fixture: {
        firing: [{ series: sel('node_filesystem_avail_bytes', fs), values: ramp(6e8, -2e6) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        quiet: [{ series: sel('node_filesystem_avail_bytes', fs), values: flat(6e8) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
        at: '200m',
      },
    });
    drafts.push({
      alert: 'HostOutOfInodes', group: 'host', severity: 'critical', for: '5m', component: 'host', down: false,
      threshold: 0.1, thresholdUnit: 'ratio of inodes free',
      // filesystems without an inode table (btrfs reports 0) divide by nothing and stay out
      expr: (t) => `node_filesystem_files_free{${FS}} / (node_filesystem_files{${FS}} > 0) < ${t} and node_filesystem_readonly{${FS}} == 0`,
      summary: 'Disk {{ $labels.mountpoint }} is running out of inodes on {{ $labels.instance }}',
      description: (t, f) => `Less than ${pct(t)} of the inodes of {{ $labels.mountpoint }} ({{ $labels.device }}) have been free for ${f}: new files fail with "No space left on device" while space remains.`,
      runbook: 'Find the directory with millions of small files (`find / -xdev -type d -size +1M`): image layers (`docker image prune`), session or cache files, mail queues.',
      fixture: {
        firing: [{ series: sel('node_filesystem_files_free', fs), values: flat(5e4) }, { series: sel('node_filesystem_files', fs), values: flat(1e6) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        quiet: [{ series: sel('node_filesystem_files_free', fs), values: flat(8e5) }, { series: sel('node_filesystem_files', fs), values: flat(1e6) }, { series: sel('node_filesystem_readonly', fs), values: flat(0) }],
        labels: { ...out, device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint },
      },
    });
    drafts.push({
      alert: 'HostOomKillDetected', group: 'host', severity: 'warning', for: '0m', component: 'host', down: false,
      // the kernel's own count (/proc/vmstat): it needs no /dev/kmsg, unlike cAdvisor's per-container one
      expr: () => 'increase(node_vmstat_oom_kill[15m]) > 0',
      summary: 'The kernel OOM-killed a process on {{ $labels.instance }}',
      description: () => 'The kernel killed a process for lack of memory in the last 15 minutes (a container over its memory limit, or the host out of memory).',
      runbook: '`docker ps -a --filter exited=137` (exit code 137) and `docker inspect <container>` (State.OOMKilled) name the container; raise its `resources.memory` or find the leak.',
      fixture: {
        firing: [{ series: sel('node_vmstat_oom_kill', lbl), values: `0x5 1x${LEN}` }],
        quiet: [{ series: sel('node_vmstat_oom_kill', lbl), values: flat(3) }],
        labels: out, at: '10m',
      },
    });
    drafts.push({
      alert: 'HostClockSkew', group: 'host', severity: 'warning', for: '10m', component: 'host', down: false,
      threshold: 0.05, thresholdUnit: 'seconds of offset',
      // only while the offset is not shrinking: NTP slewing back is not a problem
      expr: (t) => `(node_timex_offset_seconds > ${t} and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -${t} and deriv(node_timex_offset_seconds[5m]) <= 0)`,
      summary: 'The clock of {{ $labels.instance }} is off',
      description: (t, f) => `The kernel clock has been more than ${t}s off its time source, and not converging, for ${f}: TLS, tokens, backup schedules and metrics timestamps suffer.`,
      runbook: 'Check the time daemon (`timedatectl`, `chronyc tracking`); a VM paused or restored from a snapshot jumps.',
      fixture: {
        firing: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(0.2) }],
        quiet: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(0.001) }],
        labels: out,
        alsoFires: [{ name: 'behind', firing: [{ series: sel('node_timex_offset_seconds', lbl), values: flat(-0.2) }], labels: out }],
      },
    });
    drafts.push({
      alert: 'NodeTextfileScrapeError', group: 'host', severity: 'warning', for: '5m', component: 'host', down: false,
      expr: () => 'node_textfile_scrape_error == 1',
      summary: 'node-exporter cannot read a textfile on {{ $labels.instance }}',
      description: (_t, f) => `A file in node-exporter's textfile directory has been unreadable or unparsable for ${f}: the metrics it carries (the backups' among them) are missing.`,
      runbook: '`docker compose logs node-exporter` names the file and the parse error; a backup metrics file is rewritten by the next `wharf backup <job>`.',
      fixture: {
        firing: [{ series: sel('node_textfile_scrape_error', lbl), values: flat(1) }],
        quiet: [{ series: sel('node_textfile_scrape_error', lbl), values: flat(0) }],
        labels: out,
      },
    });
  }

  // Containers (cAdvisor): Docker containers are labelled by name and compose service.
  if (p.cadvisor) {
    const job = jobs.find((j) => j.component === 'cadvisor')?.job ?? 'cadvisor';
    const svc = appJobs[0]?.component ?? 'prometheus';
    const c = { job, instance: '10.0.3.1:8080', component: 'cadvisor', name: `${plan.name}-${svc}-1`, container_label_com_docker_compose_service: svc };
    const out = { ...c, component: svc };
    const toComponent = (e: string) => `label_replace(${e}, "component", "$1", "container_label_com_docker_compose_service", "(.+)")`;
    drafts.push({
      alert: 'ContainerHighMemory', group: 'containers', severity: 'warning', for: '5m', component: comp, down: false,
      threshold: 0.8, thresholdUnit: 'ratio of the memory limit',
      expr: (t) => `${toComponent('container_memory_working_set_bytes{name!=""} / (container_spec_memory_limit_bytes{name!=""} > 0)')} > ${t}`,
      summary: 'Container {{ $labels.name }} is near its memory limit',
      description: (t, f) => `Container {{ $labels.name }} has used more than ${pct(t)} of its memory limit for ${f}; at 100% the kernel OOM-kills it.`,
      runbook: 'Raise `resources.memory` of the service in wharf.yaml, or look for a leak: the containers dashboard shows the trend.',
      fixture: {
        firing: [{ series: sel('container_memory_working_set_bytes', c), values: flat(9e8) }, { series: sel('container_spec_memory_limit_bytes', c), values: flat(1e9) }],
        quiet: [{ series: sel('container_memory_working_set_bytes', c), values: flat(2e8) }, { series: sel('container_spec_memory_limit_bytes', c), values: flat(1e9) }],
        labels: out,
      },
    });
    const L = 'name, instance, job, container_label_com_docker_compose_service';
    drafts.push({
      alert: 'ContainerHighCpu', group: 'containers', severity: 'warning', for: '5m', component: comp, down: false,
      threshold: 0.8, thresholdUnit: 'ratio of the CPU quota',
      expr: (t) => `${toComponent(`sum by (${L}) (rate(container_cpu_usage_seconds_total{name!=""}[5m])) * sum by (${L}) (container_spec_cpu_period{name!=""}) / sum by (${L}) (container_spec_cpu_quota{name!=""} > 0)`)} > ${t}`,
      summary: 'Container {{ $labels.name }} is near its CPU limit',
      description: (t, f) => `Container {{ $labels.name }} has used more than ${pct(t)} of its CPU quota for ${f}; beyond it, it is throttled.`,
      runbook: 'Raise `resources.cpus` or `replicas` of the service in wharf.yaml; the service dashboard shows whether latency suffers.',
      fixture: {
        firing: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 54) }, { series: sel('container_spec_cpu_period', c), values: flat(100000) }, { series: sel('container_spec_cpu_quota', c), values: flat(100000) }],
        quiet: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 6) }, { series: sel('container_spec_cpu_period', c), values: flat(100000) }, { series: sel('container_spec_cpu_quota', c), values: flat(100000) }],
        labels: { name: c.name, instance: c.instance, job, container_label_com_docker_compose_service: svc, component: svc },
      },
    });
    drafts.push({
      alert: 'ContainerRestarting', group: 'containers', severity: 'warning', for: '0m', component: comp, down: false,
      threshold: 2, thresholdUnit: 'restarts in 15 minutes',
      // cAdvisor's container_start_time_seconds is the creation time (a restart keeps it); a
      // restart recreates the cgroup, so the container's CPU counter resets.
      expr: (t) => `${toComponent('max without (cpu) (resets(container_cpu_usage_seconds_total{name!=""}[15m]))')} >= ${t}`,
      summary: 'Container {{ $labels.name }} keeps restarting',
      description: (t) => `Container {{ $labels.name }} has restarted at least ${t} times in 15 minutes.`,
      runbook: 'Read the logs of the previous runs (`docker logs <container>`); a failing healthcheck, a missing secret or an OOM kill are the usual causes.',
      fixture: {
        firing: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: '0+10x5 0+10x5 0+10x5 0+10x300' }],
        quiet: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 10) }],
        labels: out, at: '14m',
      },
    });
    // No ContainerOomKilled: cAdvisor counts OOM events from /dev/kmsg, a device the cAdvisor
    // service is not given (and Swarm services cannot be); HostOomKillDetected reads the kernel's
    // own counter through node-exporter instead.
  }

  // Databases and caches (through their exporters; `component` is the database itself).
  for (const [engine, names] of [['postgres', p.postgres], ['mysql', p.mysql]] as const) {
    const db = names[0];
    if (!db) continue;
    const lbl = { job: exporterJob(plan, db), instance: `10.0.4.1:${engine === 'postgres' ? 9187 : 9104}`, component: db };
    const Name = engine === 'postgres' ? 'Postgres' : 'Mysql';
    const upMetric = engine === 'postgres' ? 'pg_up' : 'mysql_up';
    const pretty = engine === 'postgres' ? 'PostgreSQL' : 'MySQL';
    drafts.push({
      alert: `${Name}Down`, group: 'databases', severity: 'critical', for: '1m', component: comp, down: true,
      // The exporter itself unreachable says nothing about the database, but nothing watches it
      // then: TargetDown ignores jobs whose every target is down, so this alert covers it.
      expr: () => `${upMetric} == 0 or up{job=~${str(promqlRegex(names.map((n) => exporterJob(plan, n))))}} == 0`,
      summary: `${pretty} {{ $labels.component }} is down`,
      description: (_t, f) => `${pretty} {{ $labels.component }} has not answered its exporter, or the exporter has not answered Prometheus, for ${f}.`,
      runbook: 'Check the database container (`docker compose logs <db>`), its volume and disk space, and its exporter (`docker compose logs <db>-exporter`); services using it answer 5xx until it is back.',
      fixture: {
        firing: [{ series: sel(upMetric, lbl), values: flat(0) }, { series: sel('up', lbl), values: flat(1) }],
        quiet: [{ series: sel(upMetric, lbl), values: flat(1) }, { series: sel('up', lbl), values: flat(1) }],
        labels: lbl,
        alsoFires: [{ name: 'exporter unreachable', firing: [{ series: sel('up', lbl), values: flat(0) }], labels: lbl }],
      },
    });
    if (engine === 'postgres') {
      const by = 'job, instance, component';
      drafts.push({
        alert: 'PostgresTooManyConnections', group: 'databases', severity: 'warning', for: '5m', component: comp, down: false,
        threshold: 0.8, thresholdUnit: 'ratio of usable connections',
        expr: (t) => `sum by (${by}) (pg_stat_activity_count) / max by (${by}) (pg_settings_max_connections - pg_settings_superuser_reserved_connections) > ${t}`,
        summary: 'PostgreSQL {{ $labels.component }} is running out of connections',
        description: (t, f) => `More than ${pct(t)} of the connections {{ $labels.component }} accepts (max_connections minus the superuser reserve) have been in use for ${f}.`,
        runbook: 'Look for connection leaks or too many replicas times pool size; raise `maxConnections` of the database in wharf.yaml if the load is real.',
        fixture: {
          firing: [{ series: sel('pg_stat_activity_count', { ...lbl, datname: 'app', state: 'active' }), values: flat(90) }, { series: sel('pg_settings_max_connections', lbl), values: flat(100) }, { series: sel('pg_settings_superuser_reserved_connections', lbl), values: flat(3) }],
          quiet: [{ series: sel('pg_stat_activity_count', { ...lbl, datname: 'app', state: 'active' }), values: flat(10) }, { series: sel('pg_settings_max_connections', lbl), values: flat(100) }, { series: sel('pg_settings_superuser_reserved_connections', lbl), values: flat(3) }],
          labels: lbl,
        },
      });
      const tx = (state: string, v: number) => ({ series: sel('pg_stat_activity_max_tx_duration', { ...lbl, datname: 'app', state }), values: flat(v) });
      drafts.push({
        alert: 'PostgresLongTransaction', group: 'databases', severity: 'warning', for: '5m', component: comp, down: false,
        threshold: 900, thresholdUnit: 'seconds',
        // idle in transaction counts most: it holds locks and stops vacuum while doing nothing
        expr: (t) => `max by (${by}, datname, state) (pg_stat_activity_max_tx_duration{state!="idle"}) > ${t}`,
        summary: 'PostgreSQL {{ $labels.component }} has a transaction open for long',
        description: (t, f) => `A transaction in database {{ $labels.datname }} ({{ $labels.state }}) has been open for more than ${fmtDuration(t)}, for ${f}: it holds locks and keeps vacuum from cleaning up. A very long pg_dump shows here too.`,
        runbook: '`SELECT pid, state, now() - xact_start, query FROM pg_stat_activity ORDER BY xact_start` finds it; `SELECT pg_terminate_backend(pid)` ends it; fix the code path that leaves transactions open.',
        fixture: {
          firing: [tx('idle in transaction', 1200), tx('active', 2), tx('idle', 0)],
          quiet: [tx('idle in transaction', 3), tx('active', 2), tx('idle', 0)],
          labels: { ...lbl, datname: 'app', state: 'idle in transaction' },
        },
      });
    } else {
      drafts.push({
        alert: 'MysqlTooManyConnections', group: 'databases', severity: 'warning', for: '5m', component: comp, down: false,
        threshold: 0.8, thresholdUnit: 'ratio of max_connections',
        expr: (t) => `max_over_time(mysql_global_status_threads_connected[1m]) / mysql_global_variables_max_connections > ${t}`,
        summary: 'MySQL {{ $labels.component }} is running out of connections',
        description: (t, f) => `More than ${pct(t)} of max_connections of {{ $labels.component }} have been in use for ${f}.`,
        runbook: 'Look for connection leaks or too many replicas times pool size; raise `maxConnections` of the database in wharf.yaml if the load is real.',
        fixture: {
          firing: [{ series: sel('mysql_global_status_threads_connected', lbl), values: flat(140) }, { series: sel('mysql_global_variables_max_connections', lbl), values: flat(151) }],
          quiet: [{ series: sel('mysql_global_status_threads_connected', lbl), values: flat(10) }, { series: sel('mysql_global_variables_max_connections', lbl), values: flat(151) }],
          labels: lbl,
        },
      });
    }
  }
  const cache = p.redis[0];
  if (cache) {
    const lbl = { job: exporterJob(plan, cache), instance: '10.0.5.1:9121', component: cache };
    drafts.push({
      alert: 'RedisDown', group: 'databases', severity: 'critical', for: '1m', component: comp, down: true,
      expr: () => 'redis_up == 0',
      summary: 'Redis {{ $labels.component }} is down',
      description: (_t, f) => `The exporter of {{ $labels.component }} has not been able to reach Redis for ${f}; services fall back to the database.`,
      runbook: 'Check the cache container (`docker compose logs <cache>`); the API keeps answering from the database, slower.',
      fixture: { firing: [{ series: sel('redis_up', lbl), values: flat(0) }], quiet: [{ series: sel('redis_up', lbl), values: flat(1) }], labels: lbl },
    });
    drafts.push({
      alert: 'RedisRejectedConnections', group: 'databases', severity: 'warning', for: '0m', component: comp, down: false,
      expr: () => 'increase(redis_rejected_connections_total[5m]) > 0',
      summary: 'Redis {{ $labels.component }} refuses connections',
      description: () => '{{ $labels.component }} has refused connections in the last 5 minutes: maxclients is reached, and the services that were refused fall back to the database or fail.',
      runbook: '`redis-cli INFO clients` shows connected_clients against maxclients; look for a connection leak (a client per request instead of a pool) in the services using the cache.',
      fixture: {
        firing: [{ series: sel('redis_rejected_connections_total', lbl), values: `0x5 3x${LEN}` }],
        quiet: [{ series: sel('redis_rejected_connections_total', lbl), values: flat(2) }],
        labels: lbl, at: '8m',
      },
    });
    drafts.push({
      alert: 'RedisMemoryHigh', group: 'databases', severity: 'warning', for: '10m', component: comp, down: false,
      threshold: 0.9, thresholdUnit: 'ratio of maxmemory',
      // An allkeys-lru cache sits at maxmemory by design: full only matters while it evicts
      // keys that are still read (hit ratio below a half).
      expr: (t) => `redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${t} and rate(redis_evicted_keys_total[5m]) > 0`
        + ' and rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m])) < 0.5',
      summary: 'Redis {{ $labels.component }} is too small for what is read from it',
      description: (t, f) => `{{ $labels.component }} has been above ${pct(t)} of maxmemory, evicting keys, with fewer than half of its reads hitting, for ${f}.`,
      runbook: 'The cache evicts keys that are still read (allkeys-lru); raise `maxmemory` of the cache in wharf.yaml, or shorten what the services cache.',
      fixture: {
        firing: [
          { series: sel('redis_memory_used_bytes', lbl), values: flat(1.3e8) }, { series: sel('redis_memory_max_bytes', lbl), values: flat(1.342e8) },
          { series: sel('redis_evicted_keys_total', lbl), values: ramp(0, 100) },
          { series: sel('redis_keyspace_hits_total', lbl), values: ramp(0, 10) }, { series: sel('redis_keyspace_misses_total', lbl), values: ramp(0, 100) },
        ],
        // full and evicting, but what is read is there: a healthy LRU cache
        quiet: [
          { series: sel('redis_memory_used_bytes', lbl), values: flat(1.3e8) }, { series: sel('redis_memory_max_bytes', lbl), values: flat(1.342e8) },
          { series: sel('redis_evicted_keys_total', lbl), values: ramp(0, 100) },
          { series: sel('redis_keyspace_hits_total', lbl), values: ramp(0, 100) }, { series: sel('redis_keyspace_misses_total', lbl), values: ramp(0, 10) },
        ],
        labels: lbl,
      },
    });
  }

  // Edge proxy.
  const proxyComp = plan.proxy.component;
  const proxyJob = jobs.find((j) => j.component === proxyComp)?.job;
  if (proxyJob) {
    const pl = { job: proxyJob, instance: '10.0.6.1:8082', component: proxyComp };
    if (p.proxy === 'traefik') {
      const up = (v: number) => [
        { series: sel('traefik_service_server_up', { ...pl, service: 'api@file', url: 'http://10.0.1.1:3000' }), values: flat(v) },
        { series: sel('traefik_service_server_up', { ...pl, service: 'api@file', url: 'http://10.0.1.2:3000' }), values: flat(v) },
      ];
      drafts.push({
        alert: 'TraefikBackendDown', group: 'proxy', severity: 'critical', for: '1m', component: promTemplateText(proxyComp), down: false,
        // max, not count: count ignores the values and never reaches 0.
        expr: () => 'max by (service) (traefik_service_server_up) == 0',
        summary: 'Traefik has no healthy server for {{ $labels.service }}',
        description: (_t, f) => `Every server behind Traefik service {{ $labels.service }} has failed its health check for ${f}; requests get 503.`,
        runbook: 'The replicas are down or failing /health: check the service alerts and `docker compose logs <service>`.',
        fixture: { firing: up(0), quiet: up(1), labels: { service: 'api@file' } },
      });
      const reqs = (c5: string) => [
        { series: sel('traefik_service_requests_total', { ...pl, service: 'api@file', code: '200', method: 'GET', protocol: 'http' }), values: ramp(0, 60) },
        { series: sel('traefik_service_requests_total', { ...pl, service: 'api@file', code: '502', method: 'GET', protocol: 'http' }), values: c5 },
      ];
      drafts.push({
        alert: 'TraefikHighErrorRatio', group: 'proxy', severity: 'warning', for: '5m', component: promTemplateText(proxyComp), down: false,
        threshold: 0.05, thresholdUnit: 'ratio',
        expr: (t) => `sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m])) > ${t}`,
        summary: 'Traefik service {{ $labels.service }} answers with too many 5xx',
        description: (t, f) => `More than ${pct(t)} of the requests Traefik routed to {{ $labels.service }} have ended in a 5xx for ${f}.`,
        runbook: '502/504 mean the backend is unreachable or slow, 500 comes from the service: compare with the service dashboard.',
        fixture: { firing: reqs(ramp(0, 20)), quiet: reqs(flat(0)), labels: { service: 'api@file' } },
      });
      const cert = (v: number) => [{ series: sel('traefik_tls_certs_not_after', { ...pl, cn: plan.domain, sans: plan.domain, serial: '1' }), values: flat(v) }];
      drafts.push({
        alert: 'CertificateExpiringSoon', group: 'proxy', severity: 'warning', for: '10m', component: promTemplateText(proxyComp), down: false,
        threshold: 14, thresholdUnit: 'days',
        expr: (t) => `(traefik_tls_certs_not_after - time()) / 86400 < ${t}`,
        summary: 'TLS certificate {{ $labels.cn }} expires soon',
        description: (t) => `The certificate for {{ $labels.sans }} served by Traefik expires in less than ${t} days.`,
        runbook: 'ACME: check the Traefik logs for renewal errors (rate limits, DNS, port 80 reachability). Files: replace tls.cert/tls.key and `wharf up`.',
        fixture: { firing: cert(10 * 86400), quiet: cert(60 * 86400), labels: { ...pl, cn: plan.domain, sans: plan.domain, serial: '1' } },
      });
    } else {
      const st = (v: number) => [
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'web', state: 'UP' }), values: flat(v) },
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'web', state: 'DOWN' }), values: flat(1 - v) },
        { series: sel('haproxy_server_status', { ...pl, proxy: 'web', server: 'web1', state: 'UP' }), values: flat(v) },
        // a backend without servers (a stats listener) is DOWN by nature and must not alert
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'stats', state: 'UP' }), values: flat(0) },
      ];
      drafts.push({
        alert: 'HAProxyBackendDown', group: 'proxy', severity: 'critical', for: '1m', component: promTemplateText(proxyComp), down: false,
        expr: () => 'max by (proxy) (haproxy_backend_status{state="UP"}) == 0 and on (proxy) count by (proxy) (haproxy_server_status) > 0',
        summary: 'HAProxy backend {{ $labels.proxy }} has no server up',
        description: (_t, f) => `Every server of HAProxy backend {{ $labels.proxy }} has failed its health check for ${f}; requests get 503.`,
        runbook: 'The replicas are down or failing /health: check the service alerts, the stats page, and `docker compose logs <service>`.',
        fixture: { firing: st(0), quiet: st(1), labels: { proxy: 'web' } },
      });
      const resp = (c5: string) => [
        { series: sel('haproxy_backend_http_responses_total', { ...pl, proxy: 'web', code: '2xx' }), values: ramp(0, 60) },
        { series: sel('haproxy_backend_http_responses_total', { ...pl, proxy: 'web', code: '5xx' }), values: c5 },
      ];
      drafts.push({
        alert: 'HAProxyHighErrorRatio', group: 'proxy', severity: 'warning', for: '5m', component: promTemplateText(proxyComp), down: false,
        threshold: 0.05, thresholdUnit: 'ratio',
        expr: (t) => `sum by (proxy) (rate(haproxy_backend_http_responses_total{code="5xx"}[5m])) / sum by (proxy) (rate(haproxy_backend_http_responses_total[5m])) > ${t}`,
        summary: 'HAProxy backend {{ $labels.proxy }} answers with too many 5xx',
        description: (t, f) => `More than ${pct(t)} of the responses of backend {{ $labels.proxy }} have been 5xx for ${f}.`,
        runbook: 'Compare with the service dashboard: 503 from HAProxy means no server was available, 500 comes from the service.',
        fixture: { firing: resp(ramp(0, 20)), quiet: resp(flat(0)), labels: { proxy: 'web' } },
      });
    }
  }

  // Self-monitoring.
  const prom = { job: 'prometheus', instance: 'localhost:9090', component: 'prometheus' };
  drafts.push({
    alert: 'PrometheusConfigReloadFailed', group: 'self', severity: 'warning', for: '5m', component: 'prometheus', down: false,
    expr: () => 'prometheus_config_last_reload_successful != 1',
    summary: 'Prometheus could not reload its configuration',
    description: (_t, f) => `The last configuration reload of {{ $labels.instance }} failed ${f} ago; it keeps running the previous configuration.`,
    runbook: 'Run `promtool check config` on the rendered prometheus.yml (`wharf render` then `wharf check`); read `docker compose logs prometheus`.',
    fixture: {
      firing: [{ series: sel('prometheus_config_last_reload_successful', prom), values: flat(0) }],
      quiet: [{ series: sel('prometheus_config_last_reload_successful', prom), values: flat(1) }],
      labels: prom,
    },
  });
  drafts.push({
    alert: 'PrometheusRuleEvaluationFailures', group: 'self', severity: 'critical', for: '5m', component: 'prometheus', down: false,
    expr: () => 'increase(prometheus_rule_evaluation_failures_total[5m]) > 0',
    summary: 'Prometheus fails to evaluate rules of {{ $labels.rule_group }}',
    description: (_t, f) => `Rules of group {{ $labels.rule_group }} have been failing to evaluate for ${f}: alerts of that group may not fire.`,
    runbook: 'Read `docker compose logs prometheus` for the failing expression (often many-to-many matching after a label change).',
    fixture: {
      firing: [{ series: sel('prometheus_rule_evaluation_failures_total', { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' }), values: ramp(0, 1) }],
      quiet: [{ series: sel('prometheus_rule_evaluation_failures_total', { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' }), values: flat(0) }],
      labels: { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' },
    },
  });
  const rg = { ...prom, rule_group: '/etc/prometheus/rules/alerts-host.yml;wharf-host' };
  drafts.push({
    alert: 'PrometheusMissedRuleEvaluations', group: 'self', severity: 'warning', for: '15m', component: 'prometheus', down: false,
    // a group whose evaluation outlasts its interval skips rounds: its alerts fire late or never
    expr: () => 'increase(prometheus_rule_group_iterations_missed_total[5m]) > 0',
    summary: 'Prometheus skips evaluations of {{ $labels.rule_group }}',
    description: (_t, f) => `Rule group {{ $labels.rule_group }} has missed evaluation rounds for ${f}: the host is too slow for it, and its alerts come late.`,
    runbook: 'The host is overloaded (see HighCPUUsage) or a rule is too expensive: the Prometheus /rules page shows each group\'s evaluation time; give the host more CPU or raise `monitoring.evaluationInterval`.',
    fixture: {
      firing: [{ series: sel('prometheus_rule_group_iterations_missed_total', rg), values: ramp(0, 1) }],
      quiet: [{ series: sel('prometheus_rule_group_iterations_missed_total', rg), values: flat(0) }],
      labels: rg,
    },
  });
  for (const [alert, metric, what] of [
    ['PrometheusTsdbCompactionsFailing', 'prometheus_tsdb_compactions_failed_total', 'compact its storage blocks'],
    ['PrometheusTsdbReloadsFailing', 'prometheus_tsdb_reloads_failures_total', 'reload its storage blocks from disk'],
  ] as const) {
    drafts.push({
      alert, group: 'self', severity: 'warning', for: '0m', component: 'prometheus', down: false,
      expr: () => `increase(${metric}[3h]) > 0`,
      summary: `Prometheus failed to ${what}`,
      description: () => `{{ $labels.instance }} failed to ${what} in the last 3 hours: the disk fills, queries slow down, or data is lost.`,
      runbook: '`docker compose logs prometheus` shows the failing block; a full disk or a corrupt block (move it out of the prometheus-data volume) are the usual causes.',
      fixture: {
        firing: [{ series: sel(metric, prom), values: `0x5 1x${LEN}` }],
        quiet: [{ series: sel(metric, prom), values: flat(0) }],
        labels: prom, at: '10m',
      },
    });
  }
  if (p.alertmanager) {
    drafts.push({
      alert: WATCHDOG_ALERT, group: 'self', severity: 'none', for: '0m', component: 'prometheus', down: false,
      expr: () => 'vector(1)',
      summary: 'The alerting pipeline is alive',
      description: () => 'This alert always fires. It is routed only to the heartbeat receiver (monitoring.alerts.heartbeat): when the heartbeat stops arriving, rule evaluation, Prometheus, Alertmanager or the route out is broken.',
      runbook: 'If the heartbeat service reports silence: `wharf status` (prometheus and alertmanager running?), then `docker compose logs alertmanager` for delivery errors to the heartbeat URL.',
      fixture: { firing: [{ series: 'up{job="prometheus"}', values: flat(1) }], quiet: [], labels: {}, always: true, at: '1m' },
    });
    drafts.push({
      alert: 'PrometheusNotConnectedToAlertmanager', group: 'self', severity: 'critical', for: '5m', component: 'prometheus', down: false,
      threshold: 0.03, thresholdUnit: 'ratio of alerts that failed to send',
      // The Alertmanager target is static: "discovered" stays 1 when it is unreachable, so the
      // send errors tell (Prometheus counts every attempt in _sent_total).
      expr: (t) => `prometheus_notifications_alertmanagers_discovered < 1 or min without (alertmanager) (rate(prometheus_notifications_errors_total[5m]) / rate(prometheus_notifications_sent_total[5m])) > ${t}`,
      summary: 'Prometheus cannot reach any Alertmanager',
      description: (t, f) => `Prometheus has failed to send more than ${pct(t)} of its alerts to Alertmanager for ${f}: no alert is delivered.`,
      runbook: 'Check the alertmanager container (`docker compose logs alertmanager`) and that it shares the monitoring network with Prometheus.',
      fixture: {
        firing: [
          { series: sel('prometheus_notifications_alertmanagers_discovered', prom), values: flat(1) },
          { series: sel('prometheus_notifications_errors_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }), values: ramp(0, 5) },
          { series: sel('prometheus_notifications_sent_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }), values: ramp(0, 5) },
        ],
        quiet: [
          { series: sel('prometheus_notifications_alertmanagers_discovered', prom), values: flat(1) },
          { series: sel('prometheus_notifications_errors_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }), values: flat(0) },
          { series: sel('prometheus_notifications_sent_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }), values: ramp(0, 5) },
        ],
        labels: prom,
      },
    });
    const amJob = jobs.find((j) => j.component === 'alertmanager')?.job ?? 'alertmanager';
    const am = { job: amJob, instance: '10.0.7.1:9093', component: 'alertmanager' };
    drafts.push({
      alert: 'AlertmanagerConfigReloadFailed', group: 'self', severity: 'warning', for: '5m', component: 'alertmanager', down: false,
      expr: () => 'alertmanager_config_last_reload_successful != 1',
      summary: 'Alertmanager could not reload its configuration',
      description: (_t, f) => `The last configuration reload of {{ $labels.instance }} failed ${f} ago; it keeps the previous routes.`,
      runbook: 'Run `amtool check-config` on the rendered alertmanager.yml; check that receiver secret files exist under .wharf/secrets.',
      fixture: {
        firing: [{ series: sel('alertmanager_config_last_reload_successful', am), values: flat(0) }],
        quiet: [{ series: sel('alertmanager_config_last_reload_successful', am), values: flat(1) }],
        labels: am,
      },
    });
    const by = 'integration, job, instance, component';
    drafts.push({
      alert: 'AlertmanagerNotificationsFailing', group: 'self', severity: 'critical', for: '5m', component: 'alertmanager', down: false,
      threshold: 0.01, thresholdUnit: 'ratio',
      expr: (t) => `sum by (${by}) (rate(alertmanager_notifications_failed_total[5m])) / sum by (${by}) (rate(alertmanager_notifications_total[5m])) > ${t}`,
      summary: 'Alertmanager fails to deliver {{ $labels.integration }} notifications',
      description: (t, f) => `More than ${pct(t)} of the {{ $labels.integration }} notifications have failed for ${f}: alerts may not reach anyone.`,
      runbook: 'Read `docker compose logs alertmanager` for the receiver error (URL, credentials, network route out); fix the receiver in wharf.yaml.',
      fixture: {
        firing: [{ series: sel('alertmanager_notifications_total', { ...am, integration: 'webhook' }), values: ramp(0, 10) }, { series: sel('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }), values: ramp(0, 5) }],
        quiet: [{ series: sel('alertmanager_notifications_total', { ...am, integration: 'webhook' }), values: ramp(0, 10) }, { series: sel('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }), values: flat(0) }],
        labels: { ...am, integration: 'webhook' },
      },
    });
  }

  // Backups (metrics written by the backup runner).
  if (p.backups && plan.backups.length) {
    const b0 = plan.backups[0]!;
    const bl = { job: 'backup', instance: '10.0.8.1:9000', backup: b0.name, target: b0.target };
    const bcomp = '{{ $labels.target }}';
    const ov = m.overrides.BackupStale?.threshold;
    const staleOf = (b: BackupJob) => ov ?? backupStaleSeconds(b.schedule);
    // a job whose last success is always "now"
    const healthy = (b: BackupJob, step: number) => ({ series: sel(BACKUP_LAST_SUCCESS_METRIC, { ...bl, backup: b.name, target: b.target }), values: ramp(0, step * 60) });
    drafts.push({
      alert: 'BackupFailed', group: 'backups', severity: 'critical', for: '0m', component: bcomp, down: false,
      // last_over_time: a failure keeps firing when the textfile then vanishes (the series would
      // go stale and the alert resolve as if fixed); BackupStale's absent() rule takes over after.
      expr: () => plan.backups
        .map((b) => `last_over_time(${BACKUP_LAST_STATUS_METRIC}{backup=${str(b.name)}}[${fmtDuration(staleOf(b))}]) == 0`)
        .join('\nor\n'),
      summary: 'Backup {{ $labels.backup }} failed',
      description: () => 'The last run of backup {{ $labels.backup }} (of {{ $labels.target }}) failed: no new restore point was written.',
      runbook: 'Run `wharf backup {{ $labels.backup }}` to see the error; a stale restic lock (`restic unlock`) or a full destination are common.',
      fixture: {
        firing: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: flat(0) }],
        quiet: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: flat(1) }],
        labels: bl, at: '5m',
        // failed, then the textfile is gone: 10 samples, nothing after
        alsoFires: [{ name: 'textfile gone after a failure', firing: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: '0x10' }], labels: bl, at: '30m' }],
      },
    });
    drafts.push({
      alert: 'BackupVerifyFailed', group: 'backups', severity: 'warning', for: '0m', component: bcomp, down: false,
      expr: () => `${BACKUP_VERIFY_LAST_STATUS_METRIC} == 0`,
      summary: 'Verification of backup {{ $labels.backup }} failed',
      description: () => 'The last integrity check or restore test of backup {{ $labels.backup }} (of {{ $labels.target }}) failed: restores may not work.',
      runbook: 'Run `restic check --read-data-subset` against the repository; if data is damaged, take a new full backup now.',
      fixture: {
        firing: [{ series: sel(BACKUP_VERIFY_LAST_STATUS_METRIC, bl), values: flat(0) }],
        quiet: [{ series: sel(BACKUP_VERIFY_LAST_STATUS_METRIC, bl), values: flat(1) }],
        labels: bl, at: '5m',
      },
    });
    const stale0 = staleOf(b0);
    const stepMin = Math.max(1, Math.ceil((stale0 + 3600) / 60 / 250));
    drafts.push({
      alert: 'BackupStale', group: 'backups', severity: 'warning', for: '0m', component: bcomp, down: false,
      thresholdUnit: 'seconds since the last success (default: twice the schedule period plus 15m)',
      expr: () => plan.backups
        .map((b) => `time() - ${BACKUP_LAST_SUCCESS_METRIC}{backup=${str(b.name)}} > ${ov ?? backupStaleSeconds(b.schedule)}`)
        .join('\nor\n'),
      summary: 'Backup {{ $labels.backup }} is stale',
      description: () => 'No run of backup {{ $labels.backup }} (of {{ $labels.target }}) has succeeded for more than two scheduled periods.',
      runbook: 'Check that the backup scheduler runs (`wharf status`) and run `wharf backup {{ $labels.backup }}` by hand to see why it fails.',
      fixture: {
        firing: [{ series: sel(BACKUP_LAST_SUCCESS_METRIC, bl), values: flat(0) }, ...plan.backups.slice(1).map((b) => healthy(b, stepMin))],
        quiet: plan.backups.map((b) => healthy(b, stepMin)),
        labels: bl,
        interval: `${stepMin}m`,
        at: `${Math.ceil((stale0 + 1800) / 60 / stepMin) * stepMin}m`,
      },
    });
    // A backup that never succeeded (or whose metrics vanished) has no series to be stale:
    // absent() per job, firing once it has lasted the job's stale threshold.
    for (const b of plan.backups) {
      const t = staleOf(b);
      const step = Math.max(1, Math.ceil((t + 3600) / 60 / 250));
      const others = plan.backups.filter((x) => x !== b).map((x) => healthy(x, step));
      drafts.push({
        alert: 'BackupStale', group: 'backups', severity: 'warning', for: fmtDuration(t), fixedFor: true, component: bcomp, down: false,
        expr: () => `absent(${BACKUP_LAST_SUCCESS_METRIC}{backup=${str(b.name)},target=${str(b.target)}})`,
        summary: 'Backup {{ $labels.backup }} is stale',
        description: () => 'Backup {{ $labels.backup }} (of {{ $labels.target }}) has no successful run on record: it never ran, or its metrics are gone.',
        runbook: 'Check that the backup service runs (`wharf status`) and that node-exporter reads its textfiles; run `wharf backup {{ $labels.backup }}` by hand.',
        fixture: {
          firing: others.length ? others : [{ series: sel('up', { job: 'backup-never-ran' }), values: flat(1) }],
          quiet: [healthy(b, step), ...others],
          labels: { backup: b.name, target: b.target },
          interval: `${step}m`,
          at: `${Math.ceil((t + 1800) / 60 / step) * step}m`,
        },
      });
    }
  }

  return drafts
    .filter((d) => !m.overrides[d.alert]?.disabled)
    .map((d) => {
      const o = m.overrides[d.alert] ?? {};
      const threshold = d.threshold === undefined ? undefined : o.threshold ?? d.threshold;
      const forDur = d.fixedFor ? d.for : o.for ?? d.for;
      const forText = forDur === '0m' || forDur === '0s' ? 'now' : fmtDuration(parseDurationSeconds(forDur));
      const rule: AlertRule = {
        alert: d.alert, group: d.group, severity: d.severity, component: d.component, down: d.down,
        expr: d.expr(threshold ?? 0),
        for: forDur,
        threshold,
        thresholdUnit: d.thresholdUnit,
        summary: d.summary,
        description: d.description(threshold ?? 0, forText),
        runbook: d.runbook,
        fixture: d.fixture,
      };
      return rule;
    });
}

/** Recording rules for every instrumented service: request rate, error ratio, latency percentiles. */
export function recordingRules(plan: Plan): RecordingRule[] {
  const apps = jobComponents(plan).filter((j) => j.app).map((j) => j.job);
  if (!plan.monitoring.enabled || apps.length === 0) return [];
  const f = `job=~${str(promqlRegex(apps))}`;
  const q = (x: number) => `histogram_quantile(${x}, sum by (job, component, le) (rate(app_request_latency_seconds_bucket{${f}}[5m])))`;
  return [
    { record: RECORDED.requestRate, expr: `sum by (job, component) (rate(app_requests_total{${f}}[5m]))` },
    {
      record: RECORDED.errorRatio,
      expr: `(sum by (job, component) (rate(app_requests_total{${f},status_code=~"5.."}[5m])) or 0 * sum by (job, component) (rate(app_requests_total{${f}}[5m]))) / sum by (job, component) (rate(app_requests_total{${f}}[5m]))`,
    },
    { record: RECORDED.p50, expr: q(0.5) },
    { record: RECORDED.p95, expr: q(0.95) },
    { record: RECORDED.p99, expr: q(0.99) },
    { record: RECORDED.endpointRate, expr: `sum by (job, component, endpoint) (rate(app_requests_total{${f}}[5m]))` },
    {
      record: RECORDED.endpointP95,
      expr: `histogram_quantile(0.95, sum by (job, component, endpoint, le) (rate(app_request_latency_seconds_bucket{${f}}[5m])))`,
    },
  ];
}

/** Names of every alert the plan's components call for, disabled ones included: for linting
 *  `monitoring.alerts.overrides` keys (an unknown name there is a typo that silently does nothing). */
export function knownAlertNames(plan: Plan): string[] {
  const all = alertCatalogue({ ...plan, monitoring: { ...plan.monitoring, overrides: {} } });
  return [...new Set(all.map((a) => a.alert))].sort();
}

// Types, fixture helpers and plan lookups shared by the rule groups (./rules/*.ts).
import type { Plan } from '../../../plan/model.js';
import { cronMaxIntervalSeconds } from '../../../spec/cron.js';
import { promqlString as str } from '../../../escape/promql.js';

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
export const LEN = 300;
export const flat = (v: number | string) => `${v}x${LEN}`;
export const ramp = (start: number, step: number) => (step < 0 ? `${start}-${-step}x${LEN}` : `${start}+${step}x${LEN}`);
export const sel = (metric: string, labels: Record<string, string>) =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${str(v)}`)
    .join(',')}}`;

/** Filesystems that say nothing about the host's disks. */
export const FS = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.*|nfs.*",mountpoint!~"/(dev|proc|sys|run)($|/).*"';

export interface Draft extends Omit<AlertRule, 'threshold' | 'for' | 'expr' | 'description' | 'fixture'> {
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

export function exporterJob(plan: Plan, component: string): string {
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

export function fmtDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export const pct = (t: number) => `${Math.round(t * 1000) / 10}%`;

/** What every rule group reads from the plan. */
export interface RuleContext {
  plan: Plan;
  m: Plan['monitoring'];
  p: Plan['monitoring']['present'];
  jobs: ReturnType<typeof jobComponents>;
  appJobs: ReturnType<typeof jobComponents>;
  otherJobs: ReturnType<typeof jobComponents>;
  /** the component label, templated from the series */
  comp: string;
}

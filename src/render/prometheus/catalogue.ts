// The alert catalogue and the recording rules, decided from the plan: only the
// components present get their rules, one rule group per file under ./rules. Each alert carries
// its own example series (a firing and a quiet case) so `promtool test rules` can prove every rule.
import type { Plan } from '../../plan/model.js';
import { promqlRegex, promqlString as str } from '../../escape/promql.js';
import { Duration } from '../../spec/units.js';
import { fmtDuration, jobComponents, RECORDED, type AlertRule, type RecordingRule, type RuleContext } from './rules/shared.js';
import { platformRules } from './rules/platform.js';
import { servicesRules } from './rules/services.js';
import { hostRules } from './rules/host.js';
import { containersRules } from './rules/containers.js';
import { databasesRules } from './rules/databases.js';
import { proxyRules } from './rules/proxy.js';
import { acmeRules } from './rules/acme.js';
import { selfRules } from './rules/self.js';
import { backupsRules } from './rules/backups.js';
import { pitrRules } from './rules/pitr.js';
import { driftRules } from './rules/drift.js';

export {
  BACKUP_LAST_SUCCESS_METRIC,
  BACKUP_LAST_STATUS_METRIC,
  BACKUP_VERIFY_LAST_STATUS_METRIC,
  BACKUP_METRIC_LABELS,
  WATCHDOG_ALERT,
  RECORDED,
  backupStaleSeconds,
  jobComponents,
  schedulePeriodSeconds,
} from './rules/shared.js';
export type { AlertFixture, AlertRule, PromSeries, RecordingRule, RuleGroup, Severity } from './rules/shared.js';

/** Every alert that applies to the plan, with overrides applied and disabled ones removed. */
export function alertCatalogue(plan: Plan): AlertRule[] {
  const m = plan.monitoring;
  if (!m.enabled) return [];
  const jobs = jobComponents(plan);
  const c: RuleContext = {
    plan,
    m,
    p: m.present,
    jobs,
    appJobs: jobs.filter((j) => j.app),
    otherJobs: jobs.filter((j) => !j.app && j.job !== 'prometheus'),
    comp: '{{ $labels.component }}',
  };
  const drafts = [
    platformRules,
    servicesRules,
    hostRules,
    containersRules,
    databasesRules,
    proxyRules,
    acmeRules,
    selfRules,
    backupsRules,
    pitrRules,
    driftRules,
  ].flatMap((group) => group(c));
  return drafts
    .filter((d) => !m.overrides[d.alert]?.disabled)
    .map((d) => {
      const o = m.overrides[d.alert] ?? {};
      const threshold = d.threshold === undefined ? undefined : (o.threshold ?? d.threshold);
      const forDur = d.fixedFor ? d.for : (o.for?.toString() ?? d.for);
      const forText = forDur === '0m' || forDur === '0s' ? 'now' : fmtDuration(Duration.parse(forDur).toSeconds());
      const rule: AlertRule = {
        alert: d.alert,
        group: d.group,
        severity: d.severity,
        component: d.component,
        down: d.down,
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
  const apps = jobComponents(plan)
    .filter((j) => j.app)
    .map((j) => j.job);
  if (!plan.monitoring.enabled || apps.length === 0) return [];
  const f = `job=~${str(promqlRegex(apps))}`;
  const q = (x: number) => `histogram_quantile(${x}, sum by (job, component, le) (rate(app_request_latency_seconds_bucket{${f}}[5m])))`;
  return [
    { record: RECORDED.requestRate, expr: `sum by (job, component) (rate(app_requests_total{${f}}[5m]))` },
    {
      record: RECORDED.errorRatio,
      expr:
        `(sum by (job, component) (rate(app_requests_total{${f},status_code=~"5.."}[5m]))` +
        ` or 0 * sum by (job, component) (rate(app_requests_total{${f}}[5m])))` +
        ` / sum by (job, component) (rate(app_requests_total{${f}}[5m]))`,
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

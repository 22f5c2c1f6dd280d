// plan -> prometheus/prometheus.yml and prometheus/rules/*.yml.
// Retention is not here: it is a command-line flag (--storage.tsdb.retention.time), set by the plan.
import type { Plan } from '../../plan/model.js';
import type { Duration } from '../../spec/units.js';
import { composeAddressing, type Addressing } from '../addressing.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { alertCatalogue, jobComponents, recordingRules, type AlertRule } from './catalogue.js';
import { byCodeUnit } from '../../plan/sort.js';

export {
  alertCatalogue,
  knownAlertNames,
  recordingRules,
  jobComponents,
  backupStaleSeconds,
  schedulePeriodSeconds,
  BACKUP_LAST_SUCCESS_METRIC,
  BACKUP_LAST_STATUS_METRIC,
  BACKUP_VERIFY_LAST_STATUS_METRIC,
  BACKUP_METRIC_LABELS,
  RECORDED,
  WATCHDOG_ALERT,
} from './catalogue.js';
export type { AlertRule, AlertFixture, PromSeries, RecordingRule, Severity } from './catalogue.js';

/** Where the rendered rule files are mounted inside the Prometheus container. */
export const RULES_DIR = '/etc/prometheus/rules';
export const ALERTMANAGER_TARGET = 'alertmanager:9093';

export interface PrometheusOptions {
  /** how the target names every replica of a service (see ../addressing.ts) */
  addressing?: Addressing;
}

export function renderPrometheus(plan: Plan, opts: PrometheusOptions = {}): RenderedFile[] {
  const m = plan.monitoring;
  if (!m.enabled) return [];
  return [{ path: 'prometheus/prometheus.yml', contents: toYaml(prometheusConfig(plan, opts), generatedHeader) }, ...renderRuleFiles(plan)];
}

export function prometheusConfig(plan: Plan, opts: PrometheusOptions = {}): Record<string, unknown> {
  const m = plan.monitoring;
  const addressing = opts.addressing ?? composeAddressing;
  const components = new Map(jobComponents(plan).map((j) => [j.job, j.component]));
  const doc: Record<string, unknown> = {
    global: {
      scrape_interval: m.scrapeInterval,
      evaluation_interval: m.evaluationInterval,
      scrape_timeout: scrapeTimeout(m.scrapeInterval),
      external_labels: { stack: plan.name },
    },
  };
  if (m.present.alertmanager) {
    doc.alerting = { alertmanagers: [{ static_configs: [{ targets: [ALERTMANAGER_TARGET] }] }] };
  }
  doc.rule_files = [`${RULES_DIR}/*.yml`];
  doc.scrape_configs = m.scrapeJobs.map((j) => {
    const component = components.get(j.job) ?? j.component;
    const job: Record<string, unknown> = { job_name: j.job, metrics_path: j.path };
    if (j.discovery === 'static') {
      job.static_configs = [{ targets: [`${j.host}:${j.port}`], labels: { component } }];
    } else {
      // The target's replica name resolves to the addresses of all replicas.
      job.dns_sd_configs = [{ names: [addressing.replicas(j.host)], type: 'A', port: j.port, refresh_interval: m.scrapeInterval }];
      job.relabel_configs = [{ target_label: 'component', replacement: component }];
    }
    return job;
  });
  return doc;
}

/** Scrape timeout: 10s (Prometheus' default) unless the interval is shorter. */
function scrapeTimeout(interval: Duration): string {
  return interval.toSeconds() < 10 ? interval.toString() : '10s';
}

export function ruleGroups(plan: Plan): Array<{ file: string; group: Record<string, unknown> }> {
  const out: Array<{ file: string; group: Record<string, unknown> }> = [];
  const rec = recordingRules(plan);
  if (rec.length) {
    out.push({ file: 'recording', group: { name: 'wharf-recording', rules: rec.map((r) => ({ record: r.record, expr: r.expr })) } });
  }
  const byGroup = new Map<string, AlertRule[]>();
  for (const a of alertCatalogue(plan)) {
    const list = byGroup.get(a.group) ?? [];
    list.push(a);
    byGroup.set(a.group, list);
  }
  for (const [g, rules] of [...byGroup].sort(([a], [b]) => byCodeUnit(a, b))) {
    out.push({ file: `alerts-${g}`, group: { name: `wharf-${g}`, rules: rules.map(ruleYaml) } });
  }
  return out;
}

function ruleYaml(a: AlertRule): Record<string, unknown> {
  return {
    alert: a.alert,
    expr: a.expr,
    for: a.for,
    labels: { severity: a.severity, component: a.component },
    annotations: { summary: a.summary, description: a.description, runbook: a.runbook },
  };
}

export function renderRuleFiles(plan: Plan): RenderedFile[] {
  return ruleGroups(plan).map(({ file, group }) => ({
    path: `prometheus/rules/${file}.yml`,
    contents: toYaml({ groups: [group] }, generatedHeader),
  }));
}

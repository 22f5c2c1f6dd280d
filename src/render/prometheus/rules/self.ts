// Self-monitoring: Prometheus and Alertmanager, and the Watchdog.
import { WATCHDOG_ALERT, LEN, flat, ramp, sel, pct, type Draft, type RuleContext } from './shared.js';

export function selfRules({ p, jobs }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  const prom = { job: 'prometheus', instance: 'localhost:9090', component: 'prometheus' };
  drafts.push({
    alert: 'PrometheusConfigReloadFailed',
    group: 'self',
    severity: 'warning',
    for: '5m',
    component: 'prometheus',
    down: false,
    expr: () => 'prometheus_config_last_reload_successful != 1',
    summary: 'Prometheus could not reload its configuration',
    description: (_t, f) =>
      `The last configuration reload of {{ $labels.instance }} failed ${f} ago; it keeps running the previous configuration.`,
    runbook:
      'Run `promtool check config` on the rendered prometheus.yml (`wharf render` then `wharf check`); read `docker compose logs prometheus`.',
    fixture: {
      firing: [{ series: sel('prometheus_config_last_reload_successful', prom), values: flat(0) }],
      quiet: [{ series: sel('prometheus_config_last_reload_successful', prom), values: flat(1) }],
      labels: prom,
    },
  });
  drafts.push({
    alert: 'PrometheusRuleEvaluationFailures',
    group: 'self',
    severity: 'critical',
    for: '5m',
    component: 'prometheus',
    down: false,
    expr: () => 'increase(prometheus_rule_evaluation_failures_total[5m]) > 0',
    summary: 'Prometheus fails to evaluate rules of {{ $labels.rule_group }}',
    description: (_t, f) =>
      `Rules of group {{ $labels.rule_group }} have been failing to evaluate for ${f}: alerts of that group may not fire.`,
    runbook: 'Read `docker compose logs prometheus` for the failing expression (often many-to-many matching after a label change).',
    fixture: {
      firing: [
        {
          series: sel('prometheus_rule_evaluation_failures_total', { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' }),
          values: ramp(0, 1),
        },
      ],
      quiet: [
        {
          series: sel('prometheus_rule_evaluation_failures_total', { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' }),
          values: flat(0),
        },
      ],
      labels: { ...prom, rule_group: '/etc/prometheus/rules/host.yml;host' },
    },
  });
  const rg = { ...prom, rule_group: '/etc/prometheus/rules/alerts-host.yml;wharf-host' };
  drafts.push({
    alert: 'PrometheusMissedRuleEvaluations',
    group: 'self',
    severity: 'warning',
    for: '15m',
    component: 'prometheus',
    down: false,
    // a group whose evaluation outlasts its interval skips rounds: its alerts fire late or never
    expr: () => 'increase(prometheus_rule_group_iterations_missed_total[5m]) > 0',
    summary: 'Prometheus skips evaluations of {{ $labels.rule_group }}',
    description: (_t, f) =>
      `Rule group {{ $labels.rule_group }} has missed evaluation rounds for ${f}: the host is too slow for it, and its alerts come late.`,
    runbook:
      'The host is overloaded (see HighCPUUsage) or a rule is too expensive: ' +
      "the Prometheus /rules page shows each group's evaluation time; " +
      'give the host more CPU or raise `monitoring.evaluationInterval`.',
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
      alert,
      group: 'self',
      severity: 'warning',
      for: '0m',
      component: 'prometheus',
      down: false,
      expr: () => `increase(${metric}[3h]) > 0`,
      summary: `Prometheus failed to ${what}`,
      description: () =>
        `{{ $labels.instance }} failed to ${what} in the last 3 hours: the disk fills, queries slow down, or data is lost.`,
      runbook:
        '`docker compose logs prometheus` shows the failing block; ' +
        'a full disk or a corrupt block (move it out of the prometheus-data volume) are the usual causes.',
      fixture: {
        firing: [{ series: sel(metric, prom), values: `0x5 1x${LEN}` }],
        quiet: [{ series: sel(metric, prom), values: flat(0) }],
        labels: prom,
        at: '10m',
      },
    });
  }
  if (p.alertmanager) {
    drafts.push({
      alert: WATCHDOG_ALERT,
      group: 'self',
      severity: 'none',
      for: '0m',
      component: 'prometheus',
      down: false,
      expr: () => 'vector(1)',
      summary: 'The alerting pipeline is alive',
      description: () =>
        'This alert always fires. It is routed only to the heartbeat receiver (monitoring.alerts.heartbeat): ' +
        'when the heartbeat stops arriving, rule evaluation, Prometheus, Alertmanager or the route out is broken.',
      runbook:
        'If the heartbeat service reports silence: `wharf status` (prometheus and alertmanager running?), ' +
        'then `docker compose logs alertmanager` for delivery errors to the heartbeat URL.',
      fixture: { firing: [{ series: 'up{job="prometheus"}', values: flat(1) }], quiet: [], labels: {}, always: true, at: '1m' },
    });
    drafts.push({
      alert: 'PrometheusNotConnectedToAlertmanager',
      group: 'self',
      severity: 'critical',
      for: '5m',
      component: 'prometheus',
      down: false,
      threshold: 0.03,
      thresholdUnit: 'ratio of alerts that failed to send',
      // The Alertmanager target is static: "discovered" stays 1 when it is unreachable, so the
      // send errors tell (Prometheus counts every attempt in _sent_total).
      expr: (t) =>
        `prometheus_notifications_alertmanagers_discovered < 1` +
        ` or min without (alertmanager) (rate(prometheus_notifications_errors_total[5m]) / rate(prometheus_notifications_sent_total[5m])) > ${t}`,
      summary: 'Prometheus cannot reach any Alertmanager',
      description: (t, f) =>
        `Prometheus has failed to send more than ${pct(t)} of its alerts to Alertmanager for ${f}: no alert is delivered.`,
      runbook:
        'Check the alertmanager container (`docker compose logs alertmanager`) and that it shares the monitoring network with Prometheus.',
      fixture: {
        firing: [
          { series: sel('prometheus_notifications_alertmanagers_discovered', prom), values: flat(1) },
          {
            series: sel('prometheus_notifications_errors_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }),
            values: ramp(0, 5),
          },
          {
            series: sel('prometheus_notifications_sent_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }),
            values: ramp(0, 5),
          },
        ],
        quiet: [
          { series: sel('prometheus_notifications_alertmanagers_discovered', prom), values: flat(1) },
          {
            series: sel('prometheus_notifications_errors_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }),
            values: flat(0),
          },
          {
            series: sel('prometheus_notifications_sent_total', { ...prom, alertmanager: 'http://alertmanager:9093/api/v2/alerts' }),
            values: ramp(0, 5),
          },
        ],
        labels: prom,
      },
    });
    const amJob = jobs.find((j) => j.component === 'alertmanager')?.job ?? 'alertmanager';
    const am = { job: amJob, instance: '10.0.7.1:9093', component: 'alertmanager' };
    drafts.push({
      alert: 'AlertmanagerConfigReloadFailed',
      group: 'self',
      severity: 'warning',
      for: '5m',
      component: 'alertmanager',
      down: false,
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
      alert: 'AlertmanagerNotificationsFailing',
      group: 'self',
      severity: 'critical',
      for: '5m',
      component: 'alertmanager',
      down: false,
      threshold: 0.01,
      thresholdUnit: 'ratio',
      expr: (t) =>
        `sum by (${by}) (rate(alertmanager_notifications_failed_total[5m])) / sum by (${by}) (rate(alertmanager_notifications_total[5m])) > ${t}`,
      summary: 'Alertmanager fails to deliver {{ $labels.integration }} notifications',
      description: (t, f) =>
        `More than ${pct(t)} of the {{ $labels.integration }} notifications have failed for ${f}: alerts may not reach anyone.`,
      runbook:
        'Read `docker compose logs alertmanager` for the receiver error (URL, credentials, network route out); fix the receiver in wharf.yaml.',
      fixture: {
        firing: [
          { series: sel('alertmanager_notifications_total', { ...am, integration: 'webhook' }), values: ramp(0, 10) },
          {
            series: sel('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }),
            values: ramp(0, 5),
          },
        ],
        quiet: [
          { series: sel('alertmanager_notifications_total', { ...am, integration: 'webhook' }), values: ramp(0, 10) },
          { series: sel('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }), values: flat(0) },
        ],
        labels: { ...am, integration: 'webhook' },
      },
    });
  }
  return drafts;
}

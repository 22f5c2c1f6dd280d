// promtool unit tests generated from the alert catalogue: each alert's own example series
// (firing and quiet), shared by the Compose and the k8s rule tests.
import assert from 'node:assert/strict';
import type { AlertRule } from '../../src/render/prometheus/index.js';

/** Renders the alert's annotations/labels the way Prometheus would for the fixture's labels. */
function expand(s: string, labels: Record<string, string>): string {
  return s.replace(/\{\{ \$labels\.([a-zA-Z_][a-zA-Z0-9_]*) \}\}/g, (_, k: string) => labels[k] ?? '');
}

function durationMinutes(d: string): number {
  const m = /^(\d+)([smh])$/.exec(d);
  assert.ok(m, `duration ${d}`);
  return Number(m[1]) * ({ s: 1 / 60, m: 1, h: 60 } as const)[m[2] as 's'];
}

/** promtool unit tests generated from the catalogue: one firing and one quiet case per alert. */
export function ruleTests(rules: AlertRule[]): unknown[] {
  const tests = rules.flatMap((a) => {
    const at = a.fixture.at ?? `${Math.ceil(durationMinutes(a.for)) + 10}m`;
    const interval = a.fixture.interval ?? '1m';
    const expected = (fl: Record<string, string>) => {
      const labels = { ...fl, severity: a.severity, component: expand(a.component, fl) };
      return {
        exp_labels: labels,
        exp_annotations: {
          summary: expand(a.summary, labels),
          description: expand(a.description, labels),
          runbook: expand(a.runbook, labels),
        },
      };
    };
    return [
      {
        name: `${a.alert} fires`,
        interval,
        input_series: a.fixture.firing,
        alert_rule_test: [{ eval_time: at, alertname: a.alert, exp_alerts: [expected(a.fixture.labels)] }],
      },
      ...(a.fixture.alsoFires ?? []).map((x) => ({
        name: `${a.alert} fires: ${x.name}`,
        interval,
        input_series: x.firing,
        alert_rule_test: [{ eval_time: x.at ?? at, alertname: a.alert, exp_alerts: [expected(x.labels)] }],
      })),
      ...(a.fixture.always
        ? []
        : [
            {
              name: `${a.alert} stays quiet`,
              interval,
              input_series: a.fixture.quiet,
              alert_rule_test: [{ eval_time: at, alertname: a.alert, exp_alerts: [] }],
            },
          ]),
    ];
  });
  // promtool evaluates every rule at every step up to eval_time: slow fixtures (days of backup
  // history) get their own file with a coarser evaluation interval.
  // Files are split in chunks so promtool runs in parallel.
  const byInterval = new Map<string, unknown[]>();
  for (const t of tests) byInterval.set(t.interval, [...(byInterval.get(t.interval) ?? []), t]);
  return [...byInterval].flatMap(([interval, ts]) => {
    const chunk = Math.ceil(ts.length / 4);
    return Array.from({ length: Math.ceil(ts.length / chunk) }, (_, i) => ({
      rule_files: ['rules/*.yml'],
      evaluation_interval: interval,
      tests: ts.slice(i * chunk, (i + 1) * chunk),
    }));
  });
}

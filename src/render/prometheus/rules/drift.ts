// Drift: what changed by hand since the last `wharf up`, counted per service by `wharf doctor`
// (ops/doctor/drift.ts) into the stack's textfiles, which node-exporter publishes.
import { flat, sel, type Draft, type RuleContext } from './shared.js';

export const DRIFT_METRIC = 'wharf_drift';

export function driftRules({ m, p, jobs }: RuleContext): Draft[] {
  if (!m.textfiles || !p.nodeExporter) return [];
  const job = jobs.find((j) => j.component === 'node-exporter')?.job ?? 'node-exporter';
  const l = { job, instance: '10.0.2.1:9100', component: 'node-exporter', stack: 'shop', service: 'api' };
  return [
    {
      alert: 'StackDrift',
      group: 'drift',
      severity: 'warning',
      for: '15m',
      component: '{{ $labels.service }}',
      down: false,
      threshold: 0,
      thresholdUnit: 'differences',
      expr: (t) => `${DRIFT_METRIC} > ${t}`,
      summary: 'The stack drifted from its last wharf up',
      description: () =>
        'Service {{ $labels.service }} differs from what the last `wharf up` applied, changed by hand: ' +
        'a replica stopped or scaled, env or image changed, a foreign container, a rendered file edited.',
      runbook: '`wharf plan` lists each difference and what `wharf up` will do about it; `wharf up` converges.',
      fixture: {
        firing: [{ series: sel(DRIFT_METRIC, l), values: flat(2) }],
        quiet: [{ series: sel(DRIFT_METRIC, l), values: flat(0) }],
        labels: l,
      },
    },
  ];
}

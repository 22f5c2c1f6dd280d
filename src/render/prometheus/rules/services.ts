// Application services: the seeds' API alerts, for every instrumented service.
import { promqlReplacement, promqlString as str } from '../../../escape/promql.js';
import { flat, ramp, sel, pct, RECORDED, type Draft, type RuleContext } from './shared.js';

export function servicesRules({ appJobs, comp }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  if (appJobs.length) {
    const a = appJobs[0]!;
    const lbl = { job: a.job, component: a.component };
    const replicasUp = (n: number, down: number) =>
      Array.from({ length: n }, (_, i) => ({
        series: sel('up', { ...lbl, instance: `10.0.1.${i + 1}:3000` }),
        values: flat(i >= n - down ? 0 : 1),
      }));
    drafts.push({
      alert: 'APIDown',
      group: 'services',
      severity: 'critical',
      for: '1m',
      component: comp,
      down: true,
      expr: () =>
        appJobs
          .map(
            (j) =>
              `(count by (job, component) (up{job=${str(j.job)}} == 1) < ${j.replicas})\nor\n` +
              `label_replace(label_replace(absent(up{job=${str(j.job)}} == 1), "job", ${promqlReplacement(j.job)}, "", ""),` +
              ` "component", ${promqlReplacement(j.component)}, "", "")`,
          )
          .join('\nor\n'),
      summary: 'Service {{ $labels.job }} has replicas down',
      description: (_t, f) => `Fewer replicas of {{ $labels.job }} answer on their metrics endpoint than the plan runs, for ${f}.`,
      runbook:
        'Find the missing replica with `wharf status`; read its logs with `docker compose logs <service>`; `wharf up` recreates stopped replicas.',
      fixture: { firing: replicasUp(a.replicas, 1), quiet: replicasUp(a.replicas, 0), labels: lbl },
    });
    const bucket = (le: string, v: string) => ({
      series: sel('app_request_latency_seconds_bucket', { ...lbl, instance: '10.0.1.1:3000', endpoint: '/items', method: 'GET', le }),
      values: v,
    });
    drafts.push({
      alert: 'APIHighLatency',
      group: 'services',
      severity: 'warning',
      for: '2m',
      component: comp,
      down: false,
      threshold: 1,
      thresholdUnit: 'seconds',
      expr: (t) => `${RECORDED.p95} > ${t}`,
      summary: 'Service {{ $labels.job }} p95 latency is high',
      description: (t, f) => `The 95th percentile of request latency of {{ $labels.job }} has been above ${t}s for ${f}.`,
      runbook:
        'Open the service dashboard: the per-endpoint panel shows which route is slow; check database and cache dashboards and CPU throttling of the replicas.',
      fixture: {
        firing: [
          bucket('0.05', flat(0)),
          bucket('0.1', flat(0)),
          bucket('1', flat(0)),
          bucket('2.5', ramp(0, 10)),
          bucket('+Inf', ramp(0, 10)),
        ],
        quiet: [
          bucket('0.05', flat(0)),
          bucket('0.1', ramp(0, 10)),
          bucket('1', ramp(0, 10)),
          bucket('2.5', ramp(0, 10)),
          bucket('+Inf', ramp(0, 10)),
        ],
        labels: lbl,
      },
    });
    const req = (code: string, v: string) => ({
      series: sel('app_requests_total', { ...lbl, instance: '10.0.1.1:3000', endpoint: '/items', method: 'GET', status_code: code }),
      values: v,
    });
    drafts.push({
      alert: 'APIHighErrorRatio',
      group: 'services',
      severity: 'warning',
      for: '5m',
      component: comp,
      down: false,
      threshold: 0.05,
      thresholdUnit: 'ratio',
      expr: (t) => `${RECORDED.errorRatio} > ${t}`,
      summary: 'Service {{ $labels.job }} answers with too many 5xx',
      description: (t, f) => `More than ${pct(t)} of the requests to {{ $labels.job }} have failed with a 5xx status for ${f}.`,
      runbook:
        'Read the service logs (`docker compose logs <service>`); 5xx together with a database or cache alert points at the dependency.',
      fixture: {
        firing: [req('200', ramp(0, 60)), req('500', ramp(0, 20))],
        quiet: [req('200', ramp(0, 60)), req('500', flat(0))],
        labels: lbl,
      },
    });
  }
  return drafts;
}

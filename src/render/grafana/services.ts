// One dashboard per application service: its RED metrics (rate, errors, duration) by status, endpoint, replica.
import type { DashboardContext, DashboardSpec } from './types.js';
import { promqlString } from '../../escape/promql.js';
import { RECORDED } from '../prometheus/catalogue.js';

/** A dashboard per application service that exposes metrics. */
export function serviceDashboards(ctx: DashboardContext): DashboardSpec[] {
  const { plan, apps } = ctx;
  const out: DashboardSpec[] = [];
  // Per-service RED (seed 002 §5.6 panels plus error ratio).
  for (const a of apps) {
    const j = `job=${promqlString(a.job)}`;
    out.push({
      slug: `service-${a.job}`,
      title: `${plan.name} / Service ${a.job}`,
      tags: ['wharf', 'service'],
      panels: [
        { title: 'Replicas up', kind: 'stat', unit: 'short', source: a.job, width: 6, queries: [{ expr: `sum(up{${j}})` }] },
        {
          title: 'Requests/s',
          kind: 'stat',
          unit: 'reqps',
          source: a.job,
          width: 6,
          queries: [{ expr: `sum(${RECORDED.requestRate}{${j}})` }],
        },
        { title: 'p95 latency', kind: 'stat', unit: 's', source: a.job, width: 6, queries: [{ expr: `max(${RECORDED.p95}{${j}})` }] },
        {
          title: 'Error ratio',
          kind: 'stat',
          unit: 'percentunit',
          source: a.job,
          width: 6,
          queries: [{ expr: `max(${RECORDED.errorRatio}{${j}})` }],
        },
        {
          title: 'Requests/s by status code',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (status_code) (rate(app_requests_total{${j}}[5m]))`, legend: '{{status_code}}' }],
        },
        {
          title: 'Latency percentiles',
          kind: 'timeseries',
          unit: 's',
          source: a.job,
          queries: [
            { expr: `max(${RECORDED.p50}{${j}})`, legend: 'p50' },
            { expr: `max(${RECORDED.p95}{${j}})`, legend: 'p95' },
            { expr: `max(${RECORDED.p99}{${j}})`, legend: 'p99' },
          ],
        },
        {
          title: 'Requests/s by endpoint',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (endpoint) (${RECORDED.endpointRate}{${j}})`, legend: '{{endpoint}}' }],
        },
        {
          title: 'p95 latency by endpoint',
          kind: 'timeseries',
          unit: 's',
          source: a.job,
          queries: [{ expr: `max by (endpoint) (${RECORDED.endpointP95}{${j}})`, legend: '{{endpoint}}' }],
        },
        {
          title: 'Error ratio',
          kind: 'timeseries',
          unit: 'percentunit',
          source: a.job,
          queries: [{ expr: `max(${RECORDED.errorRatio}{${j}})`, legend: 'error ratio' }],
        },
        {
          title: 'Requests/s by replica',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (instance) (rate(app_requests_total{${j}}[5m]))`, legend: '{{instance}}' }],
        },
      ],
    });
  }
  return out;
}

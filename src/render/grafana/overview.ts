// The platform overview dashboard: targets, alerts, the services' RED at a glance, host CPU.
import type { DashboardContext, DashboardSpec, PanelSpec } from './types.js';
import { promqlRegex, promqlString } from '../../escape/promql.js';
import { RECORDED } from '../prometheus/catalogue.js';

/** The one overview dashboard. */
export function overviewDashboards(ctx: DashboardContext): DashboardSpec[] {
  const { plan, jobOf, apps } = ctx;
  const p = plan.monitoring.present;
  const out: DashboardSpec[] = [];
  // Platform overview.
  const overview: PanelSpec[] = [
    { title: 'Targets up', kind: 'stat', unit: 'short', source: 'prometheus', width: 6, queries: [{ expr: 'sum(up)' }] },
    {
      title: 'Targets down',
      kind: 'stat',
      unit: 'short',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'count(up == 0) or vector(0)' }],
    },
    {
      title: 'Alerts firing',
      kind: 'stat',
      unit: 'short',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }],
    },
    {
      title: 'Scrape duration (max)',
      kind: 'stat',
      unit: 's',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'max(scrape_duration_seconds)' }],
    },
    {
      title: 'Targets up by job',
      kind: 'timeseries',
      unit: 'short',
      source: 'prometheus',
      queries: [{ expr: 'sum by (job) (up)', legend: '{{job}}' }],
    },
  ];
  if (apps.length) {
    const a = promqlString(promqlRegex(apps.map((j) => j.job)));
    overview.push(
      {
        title: 'Requests/s by service',
        kind: 'timeseries',
        unit: 'reqps',
        source: apps[0]!.job,
        queries: [{ expr: `sum by (job) (${RECORDED.requestRate}{job=~${a}})`, legend: '{{job}}' }],
      },
      {
        title: 'p95 latency by service',
        kind: 'timeseries',
        unit: 's',
        source: apps[0]!.job,
        queries: [{ expr: `max by (job) (${RECORDED.p95}{job=~${a}})`, legend: '{{job}}' }],
      },
      {
        title: 'Error ratio by service',
        kind: 'timeseries',
        unit: 'percentunit',
        source: apps[0]!.job,
        queries: [{ expr: `max by (job) (${RECORDED.errorRatio}{job=~${a}})`, legend: '{{job}}' }],
      },
    );
  }
  if (p.nodeExporter) {
    overview.push({
      title: 'Host CPU busy',
      kind: 'timeseries',
      unit: 'percentunit',
      source: jobOf('node-exporter'),
      max: 1,
      queries: [{ expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: '{{instance}}' }],
    });
  }
  out.push({ slug: 'overview', title: `${plan.name} / Platform overview`, tags: ['wharf', 'overview'], panels: overview });
  return out;
}

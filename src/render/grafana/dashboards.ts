// The dashboards as data first (title, panels, PromQL, which scrape job feeds each query),
// so the same model builds the Grafana JSON and lists every query for the live e2e check.
// Each group of dashboards is its own module (overview.ts, services.ts, host.ts, ...).
import type { Plan } from '../../plan/model.js';
import { jobComponents, BACKUP_LAST_SUCCESS_METRIC, BACKUP_LAST_STATUS_METRIC } from '../prometheus/catalogue.js';
import { databaseDashboards } from './databases.js';
import { hostDashboards } from './host.js';
import { overviewDashboards } from './overview.js';
import { proxyDashboards } from './proxy.js';
import { serviceDashboards } from './services.js';
import type { DashboardContext, DashboardSpec } from './types.js';

export type { DashboardSpec, PanelSpec, QuerySpec } from './types.js';

/** Every dashboard the plan's components call for, in a stable order. */
export function dashboardSpecs(plan: Plan): DashboardSpec[] {
  const m = plan.monitoring;
  if (!m.enabled) return [];
  const p = m.present;
  const jobs = jobComponents(plan);
  const jobOf = (component: string) =>
    jobs.find((j) => j.component === component && j.job !== component)?.job ??
    jobs.find((j) => j.component === component)?.job ??
    component;
  const apps = jobs.filter((j) => j.app);
  const ctx: DashboardContext = { plan, jobs, jobOf, apps };
  const out: DashboardSpec[] = [
    ...overviewDashboards(ctx),
    ...serviceDashboards(ctx),
    ...hostDashboards(ctx),
    ...databaseDashboards(ctx),
    ...proxyDashboards(ctx),
  ];

  // Backups (metrics written by the backup runner).
  if (p.backups && plan.backups.length) {
    out.push({
      slug: 'backups',
      title: `${plan.name} / Backups`,
      tags: ['wharf', 'backups'],
      panels: [
        {
          title: 'Time since last successful backup',
          kind: 'timeseries',
          unit: 's',
          source: 'backup',
          queries: [{ expr: `time() - max by (backup) (${BACKUP_LAST_SUCCESS_METRIC})`, legend: '{{backup}}' }],
        },
        {
          title: 'Last run succeeded',
          kind: 'timeseries',
          unit: 'short',
          source: 'backup',
          max: 1,
          queries: [{ expr: `min by (backup) (${BACKUP_LAST_STATUS_METRIC})`, legend: '{{backup}}' }],
        },
      ],
    });
  }
  return out;
}

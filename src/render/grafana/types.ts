// The dashboards as data: what each module under grafana/ builds, and what they share.
import type { Plan } from '../../plan/model.js';
import type { jobComponents } from '../prometheus/catalogue.js';

export interface QuerySpec {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  kind: 'timeseries' | 'stat';
  unit: string;
  description?: string;
  queries: QuerySpec[];
  /** the scrape job whose metrics the panel reads (`prometheus` for its own series) */
  source: string;
  /** width on Grafana's 24-column grid */
  width?: number;
  max?: number;
}

export interface DashboardSpec {
  slug: string;
  title: string;
  tags: string[];
  panels: PanelSpec[];
}

/** A scrape job and the component it reads (prometheus/catalogue.ts). */
export type ScrapeJobOf = ReturnType<typeof jobComponents>[number];

/** What every dashboard module reads: the plan and its scrape jobs, computed once. */
export interface DashboardContext {
  plan: Plan;
  jobs: ScrapeJobOf[];
  /** the job that scrapes a component (its exporter's job when it has one) */
  jobOf: (component: string) => string;
  /** the jobs of application services */
  apps: ScrapeJobOf[];
}

// plan -> grafana/provisioning/{datasources,dashboards}/*.yml and grafana/dashboards/*.json.
// Dashboards are built with @grafana/grafana-foundation-sdk from the specs in dashboards.ts.
import { DashboardBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import {
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
  LegendDisplayMode,
  LegendPlacement,
} from '@grafana/grafana-foundation-sdk/common';
import type { Plan } from '../../plan/model.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { dashboardSpecs, type DashboardSpec, type PanelSpec } from './dashboards.js';

export { dashboardSpecs } from './dashboards.js';
export type { DashboardSpec, PanelSpec, QuerySpec } from './dashboards.js';

export const DATASOURCE_UID = 'prometheus';
export const PROMETHEUS_URL = 'http://prometheus:9090';
/** Where the dashboard JSON files are mounted in the Grafana container (see the plan's mounts). */
export const DASHBOARDS_DIR = '/var/lib/grafana/dashboards';

// fresh per panel: the builders keep the object they are given
const ds = () => ({ type: 'prometheus', uid: DATASOURCE_UID });

export interface DashboardQuery {
  dashboard: string;
  /** the dashboard's uid, as Grafana knows it */
  uid: string;
  panel: string;
  expr: string;
  /** the scrape job the query reads (e2e lists panels whose source cannot run here) */
  source: string;
}

export function renderGrafana(plan: Plan): RenderedFile[] {
  if (!plan.monitoring.enabled || !plan.components.some((c) => c.role === 'grafana')) return [];
  const files: RenderedFile[] = [
    { path: 'grafana/provisioning/datasources/prometheus.yml', contents: toYaml(datasourceProvisioning(plan), generatedHeader) },
    { path: 'grafana/provisioning/dashboards/wharf.yml', contents: toYaml(dashboardProvisioning(), generatedHeader) },
  ];
  for (const spec of dashboardSpecs(plan)) {
    files.push({ path: `grafana/dashboards/${spec.slug}.json`, contents: `${stableJson(buildDashboard(plan, spec))}\n` });
  }
  return files;
}

/** Every panel query of every dashboard, for the live check against Prometheus. */
export function dashboardQueries(plan: Plan): DashboardQuery[] {
  return dashboardSpecs(plan).flatMap((d) =>
    d.panels.flatMap((p) =>
      p.queries.map((q) => ({
        dashboard: d.title,
        uid: dashboardUid(plan, d.slug),
        panel: p.title,
        expr: q.expr,
        source: p.source,
      })),
    ),
  );
}

export function datasourceProvisioning(plan: Plan): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        uid: DATASOURCE_UID,
        type: 'prometheus',
        access: 'proxy',
        url: PROMETHEUS_URL,
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: plan.monitoring.scrapeInterval, httpMethod: 'POST' },
      },
    ],
  };
}

export function dashboardProvisioning(): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'wharf',
        orgId: 1,
        folder: 'wharf',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: false },
      },
    ],
  };
}

/** Deterministic, at most 40 characters (Grafana's limit), derived from the stack and dashboard names. */
export function dashboardUid(plan: Plan, slug: string): string {
  const uid = `${plan.name}-${slug}`.replace(/[^a-zA-Z0-9-_]/g, '-');
  if (uid.length <= 40) return uid;
  return `${uid.slice(0, 31)}-${fnv1a(uid)}`;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function buildDashboard(plan: Plan, spec: DashboardSpec): Dashboard {
  const b = new DashboardBuilder(spec.title)
    .uid(dashboardUid(plan, spec.slug))
    .tags(spec.tags)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .readonly();
  spec.panels.forEach((p, i) => b.withPanel(panel(p, i + 1)));
  const d = b.build();
  // Grafana reads `list` inside these; the SDK leaves them empty objects.
  const out = d as Dashboard & Record<string, unknown>;
  out.templating = { list: [] };
  out.annotations = { list: [] };
  return out;
}

function panel(p: PanelSpec, id: number) {
  const targets = p.queries.map((q, i) => {
    const t = new DataqueryBuilder()
      .datasource(ds())
      .refId(String.fromCharCode(65 + i))
      .expr(q.expr);
    if (q.legend) t.legendFormat(q.legend);
    return p.kind === 'stat' ? t.instant() : t.range();
  });
  const width = p.width ?? 12;
  const height = p.kind === 'stat' ? 4 : 8;
  if (p.kind === 'stat') {
    const s = new StatPanel()
      .id(id)
      .title(p.title)
      .datasource(ds())
      .unit(p.unit)
      .span(width)
      .height(height)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
    if (p.description) s.description(p.description);
    if (p.max !== undefined) s.max(p.max);
    for (const t of targets) s.withTarget(t);
    return s;
  }
  const ts = new TimeseriesPanel()
    .id(id)
    .title(p.title)
    .datasource(ds())
    .unit(p.unit)
    .span(width)
    .height(height)
    .min(0)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]));
  if (p.description) ts.description(p.description);
  if (p.max !== undefined) ts.max(p.max);
  for (const t of targets) ts.withTarget(t);
  return ts;
}

/** JSON with object keys sorted at every level, so output is byte-stable. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

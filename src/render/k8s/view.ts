// The plan as K3s runs it. Everything the k8s renderer derives (alert catalogue, dashboards,
// scrape jobs, network policies) reads this view, so nothing names a component that is not
// there:
//   - K3s's bundled Traefik is the edge: no proxy component, no proxy scrape job (and so no
//     proxy alerts: the edge lives in kube-system, outside the stack's namespace);
//   - the kubelet's built-in cAdvisor stands in for the cAdvisor container: the `cadvisor`
//     job scrapes every node's kubelet (/metrics/cadvisor), relabelled to the labels the
//     Compose cAdvisor has (prometheus.ts), so the same container rules and dashboards apply;
//   - node-exporter runs as a DaemonSet in the host namespace; the textfile metrics the plan
//     names (Plan.monitoring.textfiles: the backup CronJobs') are published by a textfile-only
//     node-exporter, `backup-metrics`, beside their volume (a node-local PVC);
//   - the backup's volumes are PVCs: a local repository its own claim, another component's
//     volume that StatefulSet's claim.
import { BACKUP_COMPONENT } from '../../plan/backup.js';
import { defaultImages } from '../../plan/images.js';
import type { Component, Mount, Plan, Role } from '../../plan/model.js';
import { byCodeUnit } from '../../plan/sort.js';
import { deepCopy } from '../../plan/copy.js';
import { TEXTFILE_DIR } from '../textfiles.js';
import { Duration, Size } from '../../spec/units.js';

export const RENDERED_ROLES: ReadonlySet<Role> = new Set<Role>([
  'app',
  'database',
  'cache',
  'exporter',
  'prometheus',
  'alertmanager',
  'notify-relay',
  'grafana',
  'node-exporter',
  'backup',
]);
/** The textfile exporter of the backup metrics, and its scrape job. */
export const BACKUP_METRICS = 'backup-metrics';
/** The kubelet's cAdvisor keeps the Compose job name, so rules and dashboards read one job. */
export const KUBELET_JOB = 'cadvisor';

/** A StatefulSet's PVC for ordinal 0: `<template>-<statefulset>-0`. */
export const statefulClaim = (volume: string, owner: string) => `${volume}-${owner}-0`;

/** Idempotent: the view of a view is itself. */
export function k8sView(plan: Plan): Plan {
  const components: Component[] = plan.components.filter((c) => RENDERED_ROLES.has(c.role)).map((c) => deepCopy(c));
  const backup = components.find((c) => c.role === 'backup');
  if (backup) backup.mounts = backup.mounts.map((m) => backupMount(m, backup, plan.components, plan.monitoring.textfiles?.volume));
  const textfiles = plan.monitoring.textfiles;
  const monitored = plan.monitoring.enabled && components.some((c) => c.role === 'prometheus');
  const exporter = textfiles && monitored && !components.some((c) => c.name === BACKUP_METRICS);
  if (exporter) components.push(textfileExporter(plan, textfiles));
  components.sort((a, b) => byCodeUnit(a.name, b.name));
  const here = new Set(components.map((c) => c.name));
  const scrapeJobs = plan.monitoring.scrapeJobs.filter((j) => here.has(j.component) || j.job === KUBELET_JOB);
  if (exporter)
    scrapeJobs.push({
      job: BACKUP_METRICS,
      discovery: 'dns',
      host: BACKUP_METRICS,
      port: 9100,
      path: '/metrics',
      component: BACKUP_METRICS,
    });
  return { ...plan, components, monitoring: { ...plan.monitoring, scrapeJobs } };
}

/** `own`: the backup's own volume (its textfiles), which the view's exporter also mounts. */
function backupMount(m: Mount, backup: Component, all: Component[], own: string | undefined): Mount {
  if (m.type === 'bind' && !m.source.startsWith('/')) {
    return {
      type: 'volume',
      source: `${backup.name}${m.target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`.toLowerCase(),
      target: m.target,
      readOnly: m.readOnly,
    };
  }
  if (m.type !== 'volume' || m.source === own) return m;
  const owner = all.find((c) => c.name !== BACKUP_COMPONENT && c.mounts.some((x) => x.type === 'volume' && x.source === m.source));
  return owner ? { ...m, source: statefulClaim(m.source, owner.name) } : m;
}

/** The PVCs the backup CronJobs mount (`all`) and those created beside them (`own`; the rest are StatefulSet claims). */
export function backupClaims(view: Plan): { own: string[]; all: string[] } {
  const backup = view.components.find((c) => c.role === 'backup');
  if (!backup) return { own: [], all: [] };
  const volumes = (c: Component) => c.mounts.flatMap((m) => (m.type === 'volume' ? [m.source] : []));
  const all = [...new Set(volumes(backup))].sort(byCodeUnit);
  const stateful = new Set(
    view.components.filter((c) => c.role !== 'backup').flatMap((c) => volumes(c).map((s) => statefulClaim(s, c.name))),
  );
  return { own: all.filter((s) => !stateful.has(s)), all };
}

function textfileExporter(plan: Plan, textfiles: NonNullable<Plan['monitoring']['textfiles']>): Component {
  const writer = plan.components.find((c) => c.name === textfiles.writer);
  const nodeExporter = plan.components.find((c) => c.role === 'node-exporter');
  return {
    name: BACKUP_METRICS,
    role: 'exporter',
    image: nodeExporter?.image ?? defaultImages['node-exporter'],
    imageKey: 'node-exporter',
    user: '65534:65534',
    command: ['--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${TEXTFILE_DIR}`],
    env: {},
    secrets: [],
    networks: ['monitoring'],
    ports: [],
    mounts: [{ type: 'volume', source: textfiles.volume, target: TEXTFILE_DIR, readOnly: true }],
    replicas: 1,
    port: 9100,
    healthcheck: {
      probe: { kind: 'http', port: 9100, path: '/metrics', client: 'wget' },
      interval: Duration.parse('10s'),
      timeout: Duration.parse('3s'),
      retries: 3,
      startPeriod: Duration.parse('10s'),
    },
    dependsOn: [],
    resources: { cpus: 0.05, memory: Size.parse('32M'), reserveCpus: 0.01, reserveMemory: Size.parse('16M') },
    // beside the writer's volume: a node-local PVC is readable only on its node
    placement: writer?.placement,
    update: { order: 'stop-first', monitor: Duration.parse('20s'), parallelism: 1 },
    init: false,
    hardening: { noNewPrivileges: true, readOnlyRoot: true, dropAllCaps: true, addCaps: [] },
    metrics: { job: BACKUP_METRICS, port: 9100, path: '/metrics' },
    stopGracePeriod: Duration.parse('10s'),
    labels: {},
  };
}

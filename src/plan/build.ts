// spec -> plan. Pure: no fs, env, clock or randomness. Each concern is built in plan/build/.
import { planMessaging } from './messaging.js';
import type { Stack } from '../spec/schema.js';
import { planBackupService } from './backup.js';
import { planPitr } from './pitr.js';
import { byCodeUnit } from './sort.js';
import { placeComponents, placementFor } from './placement.js';
import { planMinio } from './minio.js';
import type { Component, Plan, Route, Secret, Volume } from './model.js';
import { planBackups } from './build/backups.js';
import { componentDefaults } from './build/common.js';
import { planCache, planCacheExporter, planDatabase, planDatabaseExporter } from './build/datastores.js';
import { planEdge } from './build/edge.js';
import { acmeBackupJob, planAcmeClient, publishAcmeMetrics } from './acme.js';
import { monitoringOf, planMonitoring, scrapeJobsFor } from './build/monitoring.js';
import { networksOf, planPortainer } from './build/extras.js';
import { planService, serviceRoutes } from './build/services.js';

export { ENV_WRAPPER } from './build/services.js';

export interface PlanOptions {
  /** secrets directory as the rendered files reference it (relative to the output dir) */
  secretsDir?: string;
  /** project directory (where wharf.yaml lives) relative to the output dir */
  projectDir?: string;
}

export function buildPlan(stack: Stack, opts: PlanOptions = {}): Plan {
  const components: Component[] = [];
  const secrets: Secret[] = [];
  const volumes: Volume[] = [];
  const routes: Route[] = [];
  const monitoringOn = stack.monitoring.enabled;
  const addSecret = (s: Secret) => {
    if (!secrets.some((x) => x.name === s.name)) secrets.push(s);
  };

  for (const [n, s] of Object.entries(stack.secrets)) {
    addSecret({
      name: n,
      purpose: 'user secret',
      source: 'file' in s ? { kind: 'file', path: s.file, specPath: `secrets.${n}.file` } : { kind: 'random', length: s.length },
    });
  }
  for (const [n, db] of Object.entries(stack.databases)) {
    components.push(planDatabase(n, db, stack, addSecret, volumes));
    if (monitoringOn) components.push(planDatabaseExporter(n, db, stack, addSecret));
  }
  for (const [n, c] of Object.entries(stack.caches)) {
    components.push(planCache(n, c, stack, addSecret, volumes));
    if (monitoringOn) components.push(planCacheExporter(n, stack, addSecret));
  }
  for (const [n, svc] of Object.entries(stack.services)) {
    components.push(planService(n, svc, stack, monitoringOn));
    for (const v of svc.volumes) volumes.push({ name: v.name, component: n, purpose: `${n} data at ${v.target}` });
    routes.push(...serviceRoutes(n, svc));
  }
  if (monitoringOn) components.push(...planMonitoring(stack, addSecret, volumes, routes));
  const portainer = planPortainer(stack, volumes, routes);
  if (portainer) components.push(portainer);
  // MinIO: object storage for backups, on the backend network only
  const minio = planMinio(stack, componentDefaults());
  if (minio) {
    components.push(minio.component);
    minio.secrets.forEach(addSecret);
    volumes.push(minio.volume);
  }

  const edge = planEdge(stack, routes, addSecret, volumes);
  components.push(edge.component);
  const acmeClient = edge.tls.acme ? planAcmeClient(stack, edge.tls.acme, edge.component.name, addSecret, volumes) : undefined;
  if (acmeClient) components.push(acmeClient);

  const monitoring = monitoringOf(stack, monitoringOn ? scrapeJobsFor(components) : []);
  const backups = planBackups(stack);
  const acmeJob = acmeClient && acmeBackupJob(backups);
  if (acmeJob) backups.push(acmeJob);
  backups.sort((a, b) => byCodeUnit(a.name, b.name));
  const backupPart = planBackupService(stack, backups, components, opts.projectDir);
  const pitrPart = planPitr(stack, backups, components, opts.projectDir);
  components.push(...backupPart.components, ...pitrPart.components);
  volumes.push(...pitrPart.volumes);
  pitrPart.secrets.forEach(addSecret);
  volumes.push(...backupPart.volumes);
  backupPart.secrets.forEach(addSecret);
  monitoring.present.backups = backups.length > 0;
  if (backupPart.textfiles && monitoringOn) monitoring.textfiles = backupPart.textfiles;
  if (acmeClient && monitoringOn) monitoring.textfiles = publishAcmeMetrics(acmeClient, monitoring.textfiles, volumes);

  for (const c of components) c.secrets.sort((a, b) => byCodeUnit(a.secret, b.secret));
  placeComponents(components, stack.services);
  if (minio && stack.storage.minio && stack.storage.minio.placement)
    minio.component.placement = placementFor(minio.component, stack.storage.minio.placement);
  components.sort((a, b) => byCodeUnit(a.name, b.name));
  return {
    name: stack.name,
    domain: stack.domain,
    tls: edge.tls,
    proxy: edge.proxy,
    components,
    routes: routes.sort((a, b) => byCodeUnit(a.name, b.name)),
    networks: networksOf(stack, components),
    volumes: volumes.sort((a, b) => byCodeUnit(a.name, b.name)),
    secrets: secrets.sort((a, b) => byCodeUnit(a.name, b.name)),
    monitoring,
    backups,
    ...(stack.messaging ? { messaging: planMessaging(stack) } : {}),
    paths: { secretsDir: opts.secretsDir ?? '../secrets', projectDir: opts.projectDir ?? '../..' },
  };
}

// spec -> plan. Pure: no fs, env, clock or randomness. Each concern is built in plan/build/.
import { planMessaging } from './messaging.js';
import type { Stack } from '../spec/schema.js';
import { planBackupService } from './backup.js';
import { pickImage } from './images.js';
import { byCodeUnit } from './sort.js';
import { placeComponents, placementFor } from './placement.js';
import { planMinio } from './minio.js';
import { mtus } from './cluster.js';
import { sizeEdge } from './edge.js';
import { deepCopy } from './copy.js';
import type { Component, Monitoring, Network, Plan, Route, Secret, Volume } from './model.js';
import { planBackups } from './build/backups.js';
import { componentDefaults, copy, unique } from './build/common.js';
import { planCache, planCacheExporter, planDatabase, planDatabaseExporter } from './build/datastores.js';
import { planProxy, planTls } from './build/edge.js';
import { planMonitoring, planReceiver, scrapeJobsFor } from './build/monitoring.js';
import { planService, serviceRoutes } from './build/services.js';
import { Size } from '../spec/units.js';

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
  const addSecret = (s: Secret) => { if (!secrets.some((x) => x.name === s.name)) secrets.push(s); };

  for (const [n, s] of Object.entries(stack.secrets)) {
    addSecret({ name: n, purpose: 'user secret', source: 'file' in s ? { kind: 'file', path: s.file } : { kind: 'random', length: s.length } });
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

  // Edge proxy, TLS and the credentials protecting dashboards
  const proxyName = 'proxy';
  const authSecret = stack.proxy.kind === 'traefik' ? 'edge-htpasswd' : 'edge-userlist';
  addSecret({ name: 'edge-admin-password', purpose: 'edge dashboard / stats basic auth', source: { kind: 'random', length: 32 } });
  addSecret(stack.proxy.kind === 'traefik'
    ? { name: authSecret, purpose: 'htpasswd users file for basic auth', source: { kind: 'htpasswd', user: 'admin', from: 'edge-admin-password' } }
    : { name: authSecret, purpose: 'HAProxy userlist for basic auth', source: { kind: 'haproxy-userlist', list: 'admins', user: 'admin', from: 'edge-admin-password' } });
  const dashboard = stack.proxy.dashboard;
  const dashboardHost = dashboard === false ? undefined : dashboard.host ?? `${stack.proxy.kind}.${stack.domain}`;
  if (dashboardHost) {
    const [name, port] = stack.proxy.kind === 'traefik' ? ['dashboard', 8080] : ['stats', stack.proxy.stats.port];
    routes.push({ name, service: proxyName, host: dashboardHost, path: '/', port, replicas: 1, denyPaths: [], auth: true, allow: dashboard ? copy(dashboard.allow) : undefined, internal: true });
  }
  const tls = planTls(stack, unique([stack.domain, `*.${stack.domain}`, ...routes.map((r) => r.host)]), addSecret);
  const sizing = stack.proxy.kind === 'haproxy'
    ? sizeEdge({ memoryBytes: stack.proxy.memory?.toBytes(), maxconn: stack.proxy.maxconn, metrics: stack.monitoring.enabled })
    : undefined;
  components.push(planProxy(stack, proxyName, tls, authSecret, volumes, sizing));

  const monitoring = monitoringOf(stack, monitoringOn ? scrapeJobsFor(components) : []);
  const backups = planBackups(stack);
  const backupPart = planBackupService(stack, backups, components, opts.projectDir);
  components.push(...backupPart.components);
  volumes.push(...backupPart.volumes);
  backupPart.secrets.forEach(addSecret);
  monitoring.present.backups = backups.length > 0;
  if (backupPart.textfiles && monitoringOn) monitoring.textfiles = backupPart.textfiles;

  for (const c of components) c.secrets.sort((a, b) => byCodeUnit(a.secret, b.secret));
  placeComponents(components, stack.services);
  if (minio && stack.storage.minio && stack.storage.minio.placement) minio.component.placement = placementFor(minio.component, stack.storage.minio.placement);
  components.sort((a, b) => byCodeUnit(a.name, b.name));
  return {
    name: stack.name,
    domain: stack.domain,
    tls,
    proxy: {
      kind: stack.proxy.kind, component: proxyName, bind: stack.proxy.bind,
      httpPort: stack.proxy.httpPort, httpsPort: stack.proxy.httpsPort, statsPort: stack.proxy.stats.port,
      dashboardHost, dashboardAllow: dashboard ? copy(dashboard.allow) : undefined,
      authSecret, authUser: 'admin',
      serverHeader: stack.proxy.kind === 'haproxy' ? { request: 'X-Wharf-Trace', response: 'X-Wharf-Server' } : undefined,
      sizing,
    },
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

function planPortainer(stack: Stack, volumes: Volume[], routes: Route[]): Component | undefined {
  if (!stack.extras.portainer) return undefined;
  const host = stack.extras.portainer.host ?? `portainer.${stack.domain}`;
  volumes.push({ name: 'portainer-data', component: 'portainer', purpose: 'Portainer database' });
  // Behind basic auth too: whoever reaches a fresh Portainer first becomes its administrator.
  routes.push({ name: 'portainer', service: 'portainer', host, path: '/', port: 9000, replicas: 1, denyPaths: [], auth: true, internal: true, healthPath: '/api/system/status' });
  return {
    ...componentDefaults(), name: 'portainer', role: 'portainer', image: pickImage('portainer', stack.images), imageKey: 'portainer',
    networks: ['edge'], port: 9000,
    mounts: [
      { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
      { type: 'volume', source: 'portainer-data', target: '/data', readOnly: false },
    ],
    resources: { cpus: 0.25, memory: Size.parse('128M') },
    healthWaiver: 'the Portainer image has no shell or HTTP client to probe with; the edge health-checks it',
  };
}

function networksOf(stack: Stack, components: Component[]): Network[] {
  const used = new Set(components.flatMap((c) => c.networks));
  // The edge carries what the proxy already decrypted for the public; the internal networks
  // carry data and credentials, so they are the ones encrypted between nodes.
  const encrypt = stack.cluster.encryptNetworks;
  return ([
    { name: 'edge', internal: false, encrypted: false, purpose: 'edge proxy and the services it routes to' },
    { name: 'backend', internal: true, encrypted: encrypt, purpose: 'services and the databases and caches they use; no outside access' },
    { name: 'monitoring', internal: true, encrypted: encrypt, purpose: 'Prometheus, exporters and scraped services; no outside access' },
  ] satisfies Network[]).filter((n) => used.has(n.name))
    // nodes declared: they may run over wharf's WireGuard mesh, where a 1500-byte overlay would
    // fragment every full-size VXLAN packet; a smaller MTU costs little on any other network
    .map((n) => stack.cluster.nodes.length ? { ...n, mtu: mtus(stack.cluster.wireguard.underlayMtu).overlayMtu } : n);
}

function monitoringOf(stack: Stack, scrapeJobs: Monitoring['scrapeJobs']): Monitoring {
  const m = stack.monitoring;
  return {
    enabled: m.enabled,
    scrapeInterval: m.scrapeInterval,
    evaluationInterval: m.evaluationInterval ?? m.scrapeInterval,
    retention: m.retention,
    scrapeJobs,
    receivers: m.alerts.receivers.map(planReceiver),
    groupWait: m.alerts.groupWait,
    groupInterval: m.alerts.groupInterval,
    repeatInterval: m.alerts.repeatInterval,
    heartbeat: m.alerts.heartbeat ? { ...m.alerts.heartbeat } : undefined,
    overrides: deepCopy(m.alerts.overrides),
    present: {
      apps: Object.entries(stack.services).filter(([, s]) => s.metrics).map(([n]) => n).sort(),
      postgres: Object.entries(stack.databases).filter(([, d]) => d.engine === 'postgres').map(([n]) => n).sort(),
      mysql: Object.entries(stack.databases).filter(([, d]) => d.engine !== 'postgres').map(([n]) => n).sort(),
      redis: Object.keys(stack.caches).sort(),
      proxy: stack.proxy.kind,
      nodeExporter: m.enabled && m.nodeExporter,
      cadvisor: m.enabled && m.cadvisor,
      alertmanager: m.enabled,
      backups: false,
    },
  };
}

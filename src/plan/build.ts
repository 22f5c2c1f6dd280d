// spec -> plan. Pure: no fs, env, clock or randomness.
import { planMessaging } from './messaging.js';
import type { Stack, Service, Database, Cache, Backup } from '../spec/schema.js';
import { planBackupService } from './backup.js';
import { envSecretMode } from '../spec/rules.js';
import { pickImage } from './images.js';
import { byCodeUnit } from './sort.js';
import { placeComponents, placementFor } from './placement.js';
import { minioDestination, planMinio } from './minio.js';
import { mtus } from './cluster.js';
import { defaultEdgeMemory, haproxyConfigDir, haproxyReload, sizeEdge, traefikReload } from './edge.js';
import type {
  BackupJob, Component, Dependency, EdgeSizing, Healthcheck, Monitoring, Network, NetworkName, Plan,
  Receiver, Route, ScrapeJob, Secret, Volume,
} from './model.js';

// A function, not a shared object: every component gets its own arrays and maps to change.
const hardening = () => ({
  restart: 'unless-stopped' as const,
  securityOpt: ['no-new-privileges:true'],
  capDrop: [] as string[],
  capAdd: [] as string[],
  readOnlyRootfs: false,
  labels: {} as Record<string, string>,
  ports: [],
  dependsOn: [] as Dependency[],
  mounts: [],
  secrets: [],
  env: {} as Record<string, string>,
  replicas: 1,
  init: false,
  stopGracePeriod: '10s',
});

/** a copy of a spec array: the plan never hands out the spec's own objects */
const copy = <T>(a: readonly T[] | undefined): T[] | undefined => (a ? [...a] : undefined);

const enginePort = { postgres: 5432, mysql: 3306, mariadb: 3306, redis: 6379 } as const;

export interface PlanOptions {
  /** secrets directory as the rendered files reference it (relative to the output dir) */
  secretsDir?: string;
  /** project directory (where wharf.yaml lives) relative to the output dir */
  projectDir?: string;
}

export function buildPlan(stack: Stack, opts: PlanOptions = {}): Plan {
  const img = stack.images;
  const components: Component[] = [];
  const secrets: Secret[] = [];
  const volumes: Volume[] = [];
  const scrapeJobs: ScrapeJob[] = [];
  const monitoringOn = stack.monitoring.enabled;
  const addSecret = (s: Secret) => { if (!secrets.some((x) => x.name === s.name)) secrets.push(s); };

  // User secrets
  for (const [n, s] of Object.entries(stack.secrets)) {
    addSecret({ name: n, purpose: 'user secret', source: 'file' in s ? { kind: 'file', path: s.file } : { kind: 'random', length: s.length } });
  }

  // Databases
  for (const [n, db] of Object.entries(stack.databases)) {
    components.push(planDatabase(n, db, stack, addSecret, volumes));
    if (monitoringOn) components.push(planDatabaseExporter(n, db, stack, addSecret));
  }
  for (const [n, c] of Object.entries(stack.caches)) {
    components.push(planCache(n, c, stack, addSecret, volumes));
    if (monitoringOn) components.push(planCacheExporter(n, stack, addSecret));
  }

  // Application services
  const routes: Route[] = [];
  for (const [n, svc] of Object.entries(stack.services)) {
    const c = planService(n, svc, stack, monitoringOn);
    components.push(c);
    for (const v of svc.volumes) volumes.push({ name: v.name, component: n, purpose: `${n} data at ${v.target}` });
    svc.routes.forEach((r, i) => {
      routes.push({
        name: svc.routes.length > 1 ? `${n}-${i}` : n,
        service: n, host: r.host, path: r.path, port: svc.port, replicas: svc.replicas,
        denyPaths: svc.metrics ? [svc.metrics.path] : [],
        auth: r.auth, allow: copy(r.allow),
        ...edgeHealth(svc),
        internal: false,
      });
    });
  }

  // Monitoring
  if (monitoringOn) {
    components.push(...planMonitoring(stack, addSecret, volumes, routes));
  }
  if (stack.extras.portainer) {
    const host = stack.extras.portainer.host ?? `portainer.${stack.domain}`;
    volumes.push({ name: 'portainer-data', component: 'portainer', purpose: 'Portainer database' });
    components.push({
      ...hardening(), name: 'portainer', role: 'portainer', image: pickImage('portainer', img), imageKey: 'portainer',
      networks: ['edge'], port: 9000,
      mounts: [
        { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
        { type: 'volume', source: 'portainer-data', target: '/data', readOnly: false },
      ],
      resources: { cpus: 0.25, memory: '128M' },
      healthWaiver: 'the Portainer image has no shell or HTTP client to probe with; the edge health-checks it',
    });
    // Behind basic auth too: whoever reaches a fresh Portainer first becomes its administrator.
    routes.push({ name: 'portainer', service: 'portainer', host, path: '/', port: 9000, replicas: 1, denyPaths: [], auth: true, internal: true, healthPath: '/api/system/status' });
  }

  // MinIO: object storage for backups, on the backend network only
  const minio = planMinio(stack, hardening());
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
  if (dashboardHost && stack.proxy.kind === 'traefik') {
    routes.push({ name: 'dashboard', service: proxyName, host: dashboardHost, path: '/', port: 8080, replicas: 1, denyPaths: [], auth: true, allow: dashboard ? copy(dashboard.allow) : undefined, internal: true });
  }
  if (dashboardHost && stack.proxy.kind === 'haproxy') {
    routes.push({ name: 'stats', service: proxyName, host: dashboardHost, path: '/', port: stack.proxy.stats.port, replicas: 1, denyPaths: [], auth: true, allow: dashboard ? copy(dashboard.allow) : undefined, internal: true });
  }
  const tlsHosts = unique([stack.domain, `*.${stack.domain}`, ...routes.map((r) => r.host)]);
  const tls = planTls(stack, tlsHosts, addSecret);
  const sizing = stack.proxy.kind === 'haproxy'
    ? sizeEdge({ memoryBytes: stack.proxy.memory ? parseMemory(stack.proxy.memory) : undefined, maxconn: stack.proxy.maxconn, metrics: stack.monitoring.enabled })
    : undefined;
  components.push(planProxy(stack, proxyName, tls, authSecret, volumes, sizing));
  if (monitoringOn) {
    scrapeJobs.push(...scrapeJobsFor(components, stack));
  }

  const usedNetworks = new Set(components.flatMap((c) => c.networks));
  // The edge carries what the proxy already decrypted for the public; the internal networks
  // carry data and credentials, so they are the ones encrypted between nodes.
  const encrypt = stack.cluster.encryptNetworks;
  const networks: Network[] = ([
    { name: 'edge', internal: false, encrypted: false, purpose: 'edge proxy and the services it routes to' },
    { name: 'backend', internal: true, encrypted: encrypt, purpose: 'services and the databases and caches they use; no outside access' },
    { name: 'monitoring', internal: true, encrypted: encrypt, purpose: 'Prometheus, exporters and scraped services; no outside access' },
  ] satisfies Network[]).filter((n) => usedNetworks.has(n.name))
    // nodes declared: they may run over wharf's WireGuard mesh, where a 1500-byte overlay would
    // fragment every full-size VXLAN packet; a smaller MTU costs little on any other network
    .map((n) => stack.cluster.nodes.length ? { ...n, mtu: mtus(stack.cluster.wireguard.underlayMtu).overlayMtu } : n);

  const monitoring: Monitoring = {
    enabled: monitoringOn,
    scrapeInterval: stack.monitoring.scrapeInterval,
    evaluationInterval: stack.monitoring.evaluationInterval ?? stack.monitoring.scrapeInterval,
    retention: stack.monitoring.retention,
    scrapeJobs,
    receivers: stack.monitoring.alerts.receivers.map(planReceiver),
    groupWait: stack.monitoring.alerts.groupWait,
    groupInterval: stack.monitoring.alerts.groupInterval,
    repeatInterval: stack.monitoring.alerts.repeatInterval,
    heartbeat: stack.monitoring.alerts.heartbeat ? { ...stack.monitoring.alerts.heartbeat } : undefined,
    overrides: structuredClone(stack.monitoring.alerts.overrides),
    present: {
      apps: Object.entries(stack.services).filter(([, s]) => s.metrics).map(([n]) => n).sort(),
      postgres: Object.entries(stack.databases).filter(([, d]) => d.engine === 'postgres').map(([n]) => n).sort(),
      mysql: Object.entries(stack.databases).filter(([, d]) => d.engine !== 'postgres').map(([n]) => n).sort(),
      redis: Object.keys(stack.caches).sort(),
      proxy: stack.proxy.kind,
      nodeExporter: monitoringOn && stack.monitoring.nodeExporter,
      cadvisor: monitoringOn && stack.monitoring.cadvisor,
      alertmanager: monitoringOn,
      backups: false,
    },
  };

  const backups = planBackups(stack);
  const backupPart = planBackupService(stack, backups, components, opts.projectDir);
  components.push(...backupPart.components);
  volumes.push(...backupPart.volumes);
  backupPart.secrets.forEach(addSecret);
  monitoring.present.backups = backups.length > 0;

  for (const c of components) {
    c.secrets.sort((a, b) => byCodeUnit(a.secret, b.secret));
  }
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
    networks,
    volumes: volumes.sort((a, b) => byCodeUnit(a.name, b.name)),
    secrets: secrets.sort((a, b) => byCodeUnit(a.name, b.name)),
    monitoring,
    backups,
    ...(stack.messaging ? { messaging: planMessaging(stack) } : {}),
    paths: { secretsDir: opts.secretsDir ?? '../secrets', projectDir: opts.projectDir ?? '../..' },
  };

}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

// 5 s: dependants wait for `healthy`, and the first probe only runs one interval after start,
// so each level of the dependency chain (db -> api -> proxy) costs up to one interval.
function health(test: string[], h: Partial<Healthcheck> = {}): Healthcheck {
  return { test, interval: '5s', timeout: '3s', retries: 5, startPeriod: '30s', ...h };
}

/** wget, curl or node: whichever the image has (the slim images of each ecosystem carry one).
 *  The URL travels as an argument ($1, process.argv[1]) of a fixed script, never as shell text. */
export function httpProbe(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  return ['CMD', 'sh', '-c',
    'wget -q -O /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || node -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$1"',
    'probe', url];
}

/** Listening on the port, read from the kernel's socket table: no client needed, only sh and grep. */
export function tcpProbe(port: number): string[] {
  return ['CMD', 'sh', '-c', 'grep -qE "^ *[0-9]+: [0-9A-F]+:$(printf %04X "$1") [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6', 'probe', String(port)];
}

/** An app's healthcheck, or why it has none, and the probe in words for `wharf check`. */
function serviceHealth(svc: Service): Pick<Component, 'healthcheck' | 'healthWaiver' | 'healthProbe'> {
  const h = svc.health;
  if (!h) return { healthWaiver: 'health: false in the spec', healthProbe: 'none (health: false)' };
  const timing = { interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.startPeriod };
  if (h.from === 'edge') {
    const what = h.tcp ? `TCP connect to port ${svc.port}` : `HTTP GET ${h.path ?? '/health'}`;
    return { healthWaiver: 'health.from: edge (the image has no shell or HTTP client); the edge probes every replica', healthProbe: `from the edge: ${what}` };
  }
  if (h.command) return { healthcheck: health(['CMD', ...h.command], timing), healthProbe: `in the container: ${h.command.join(' ')}` };
  if (h.tcp) return { healthcheck: health(tcpProbe(svc.port), timing), healthProbe: `in the container: port ${svc.port} listening (/proc/net/tcp)` };
  const path = h.path ?? '/health';
  return { healthcheck: health(httpProbe(svc.port, path), timing), healthProbe: `in the container: HTTP GET ${path} (wget, curl or node)` };
}

/** What the edge probes: the HTTP health path, a bare connect for tcp, else / answering 2xx-3xx. */
function edgeHealth(svc: Service): Pick<Route, 'healthPath' | 'healthTcp'> {
  const h = svc.health;
  if (!h || h.command) return {};
  if (h.tcp) return { healthTcp: true };
  return { healthPath: h.path ?? '/health' };
}

function dbUser(n: string, db: Database, stack: Stack) {
  return { user: db.user ?? 'app', database: db.database ?? stack.name.replace(/-/g, '_') };
}

function planDatabase(n: string, db: Database, stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[]): Component {
  const { user, database } = dbUser(n, db, stack);
  const pw = `${n}-password`;
  addSecret({ name: pw, purpose: `${n} password for user ${user}`, source: { kind: 'random', length: 32 } });
  addSecret({ name: `${n}-url`, purpose: `${n} connection URL for user ${user}`, source: {
    kind: 'connection-url', scheme: db.engine === 'postgres' ? 'postgres' : 'mysql', user, host: n, port: enginePort[db.engine], database,
    // the backend network is internal and the server has no certificate: say so, or libpq tries TLS first
    options: db.engine === 'postgres' ? { sslmode: 'disable' } : undefined, from: pw,
  } });
  volumes.push({ name: `${n}-data`, component: n, purpose: `${db.engine} data for ${n}` });
  const base = { ...hardening(), name: n, role: 'database' as const, engine: db.engine, networks: ['backend'] as NetworkName[], port: enginePort[db.engine], stopGracePeriod: '30s' };
  if (db.engine === 'postgres') {
    return {
      ...base,
      image: pickImage('postgres', stack.images, db.version), imageKey: 'postgres',
      env: { POSTGRES_USER: user, POSTGRES_DB: database, POSTGRES_PASSWORD_FILE: `/run/secrets/${pw}`, POSTGRES_INITDB_ARGS: '--auth-host=scram-sha-256' },
      secrets: [{ secret: pw, target: `/run/secrets/${pw}` }],
      mounts: [{ type: 'volume', source: `${n}-data`, target: '/var/lib/postgresql/data', readOnly: false }],
      command: db.maxConnections ? ['postgres', '-c', `max_connections=${db.maxConnections}`] : undefined,
      healthcheck: health(['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', user, '-d', database]),
      resources: { cpus: db.resources.cpus ?? 1, memory: db.resources.memory ?? '512M' },
    };
  }
  const root = `${n}-root-password`;
  addSecret({ name: root, purpose: `${n} root password`, source: { kind: 'random', length: 32 } });
  const isMaria = db.engine === 'mariadb';
  const P = isMaria ? 'MARIADB' : 'MYSQL';
  return {
    ...base,
    image: pickImage(db.engine, stack.images, db.version), imageKey: db.engine,
    env: { [`${P}_USER`]: user, [`${P}_DATABASE`]: database, [`${P}_PASSWORD_FILE`]: `/run/secrets/${pw}`, [`${P}_ROOT_PASSWORD_FILE`]: `/run/secrets/${root}` },
    secrets: [{ secret: pw, target: `/run/secrets/${pw}` }, { secret: root, target: `/run/secrets/${root}` }],
    mounts: [{ type: 'volume', source: `${n}-data`, target: '/var/lib/mysql', readOnly: false }],
    command: db.maxConnections ? [`--max-connections=${db.maxConnections}`] : undefined,
    healthcheck: health(['CMD', isMaria ? 'mariadb-admin' : 'mysqladmin', 'ping', '-h', '127.0.0.1', '--silent'], { startPeriod: '60s' }),
    resources: { cpus: db.resources.cpus ?? 1, memory: db.resources.memory ?? '768M' },
  };
}

function planCache(n: string, c: Cache, stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[]): Component {
  const pw = `${n}-password`;
  const acl = `${n}-acl`;
  addSecret({ name: pw, purpose: `${n} password (Redis ACL default user)`, source: { kind: 'random', length: 32 } });
  addSecret({ name: acl, purpose: `${n} ACL file`, source: { kind: 'redis-acl', from: pw } });
  // Redis 6+ ACL user `default` named: redis-cli 7.0 ignores a password with an empty user name.
  addSecret({ name: `${n}-url`, purpose: `${n} connection URL`, source: { kind: 'connection-url', scheme: 'redis', user: 'default', host: n, port: 6379, database: '0', from: pw } });
  const mounts = c.persistence ? [{ type: 'volume' as const, source: `${n}-data`, target: '/data', readOnly: false }] : [];
  if (c.persistence) volumes.push({ name: `${n}-data`, component: n, purpose: `Redis snapshots for ${n}` });
  const mem = parseMemory(c.maxmemory);
  return {
    ...hardening(), name: n, role: 'cache', engine: 'redis', networks: ['backend'], port: 6379,
    image: pickImage('redis', stack.images, c.version), imageKey: 'redis',
    command: ['redis-server', '--aclfile', `/run/secrets/${acl}`, '--maxmemory', c.maxmemory.toLowerCase().replace(/([kmg])$/, '$1b'),
      '--maxmemory-policy', 'allkeys-lru', ...(c.persistence ? ['--save', '300 1', '--dir', '/data'] : ['--save', '', '--appendonly', 'no'])],
    secrets: [{ secret: acl, target: `/run/secrets/${acl}` }, { secret: pw, target: `/run/secrets/${pw}` }],
    mounts,
    healthcheck: health(['CMD', 'sh', '-c', 'REDISCLI_AUTH="$(cat "$1")" redis-cli -h 127.0.0.1 ping | grep -q PONG', 'probe', `/run/secrets/${pw}`]),
    resources: { cpus: c.resources.cpus ?? 0.25, memory: c.resources.memory ?? formatMemory(mem + 64 * 1024 * 1024) },
  };
}

function planDatabaseExporter(n: string, db: Database, stack: Stack, addSecret: (s: Secret) => void): Component {
  const { user, database } = dbUser(n, db, stack);
  const pw = `${n}-password`;
  const common = { ...hardening(), role: 'exporter' as const, networks: ['backend', 'monitoring'] as NetworkName[], dependsOn: [{ name: n, condition: 'service_healthy' as const }], resources: { cpus: 0.1, memory: '64M' } };
  if (db.engine === 'postgres') {
    return {
      ...common, name: `${n}-exporter`, image: pickImage('postgres-exporter', stack.images), imageKey: 'postgres-exporter', port: 9187,
      env: { DATA_SOURCE_URI: `${n}:5432/${database}?sslmode=disable`, DATA_SOURCE_USER: user, DATA_SOURCE_PASS_FILE: `/run/secrets/${pw}` },
      secrets: [{ secret: pw, target: `/run/secrets/${pw}` }],
      healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9187/']),
      metrics: { job: `${n}-exporter`, port: 9187, path: '/metrics' },
    };
  }
  const cnf = `${n}-exporter-cnf`;
  addSecret({ name: cnf, purpose: `${n} client config for mysqld-exporter`, source: { kind: 'my-cnf', user, host: n, port: 3306, from: pw } });
  return {
    ...common, name: `${n}-exporter`, image: pickImage('mysqld-exporter', stack.images), imageKey: 'mysqld-exporter', port: 9104,
    command: [`--config.my-cnf=/run/secrets/${cnf}`],
    secrets: [{ secret: cnf, target: `/run/secrets/${cnf}` }],
    healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9104/']),
    metrics: { job: `${n}-exporter`, port: 9104, path: '/metrics' },
  };
}

function planCacheExporter(n: string, stack: Stack, addSecret: (s: Secret) => void): Component {
  const map = `${n}-exporter-passwords`;
  addSecret({ name: map, purpose: `${n} password map for redis_exporter`, source: { kind: 'redis-exporter-passwords', address: `redis://${n}:6379`, from: `${n}-password` } });
  return {
    ...hardening(), name: `${n}-exporter`, role: 'exporter', networks: ['backend', 'monitoring'], port: 9121,
    image: pickImage('redis-exporter', stack.images), imageKey: 'redis-exporter',
    env: { REDIS_ADDR: `redis://${n}:6379`, REDIS_PASSWORD_FILE: `/run/secrets/${map}` },
    secrets: [{ secret: map, target: `/run/secrets/${map}` }],
    dependsOn: [{ name: n, condition: 'service_healthy' }],
    resources: { cpus: 0.1, memory: '64M' },
    metrics: { job: `${n}-exporter`, port: 9121, path: '/metrics' },
    healthWaiver: 'redis_exporter is a scratch image with no probe; Prometheus alerts when its target is down',
  };
}

/** Starts the image's command with the named variables read from secret files: names and
 *  paths arrive as NAME=PATH arguments, so the values never exist outside the process. */
export const ENV_WRAPPER = 'while [ "$1" != -- ]; do v=$(cat -- "${1#*=}") || exit 70; export "${1%%=*}=$v"; shift; done; shift; exec "$@"';

function planService(n: string, svc: Service, stack: Stack, monitoringOn: boolean): Component {
  const env: Record<string, string> = {};
  const secretMounts = svc.secrets.map((s) => ({ secret: s, target: `/run/secrets/${s}` }));
  const mount = (secret: string) => {
    const target = `/run/secrets/${secret}`;
    if (!secretMounts.some((m) => m.secret === secret)) secretMounts.push({ secret, target });
    return target;
  };
  const injected: string[] = [];
  for (const [k, v] of Object.entries(svc.env)) {
    if (typeof v === 'string') { env[k] = v; continue; }
    const [ref, part] = v.secret.split('.');
    const path = mount(part ? `${ref}-${part}` : ref!);
    if (envSecretMode(k, v.as) === 'file') env[k] = path;
    else injected.push(`${k}=${path}`);
  }
  const dependsOn: Dependency[] = [];
  const usedDbs = svc.uses.filter((u) => stack.databases[u]);
  const usedCaches = svc.uses.filter((u) => stack.caches[u]);
  for (const u of usedDbs) {
    const db = stack.databases[u]!;
    const { user, database } = dbUser(u, db, stack);
    const P = usedDbs.length > 1 ? `${u.toUpperCase().replace(/-/g, '_')}_DB` : 'DB';
    Object.assign(env, {
      [`${P}_DRIVER`]: db.engine, [`${P}_HOST`]: u, [`${P}_PORT`]: String(enginePort[db.engine]),
      [`${P}_NAME`]: database, [`${P}_USER`]: user, [`${P}_PASSWORD_FILE`]: mount(`${u}-password`), [`${P}_URL_FILE`]: mount(`${u}-url`),
      ...env,
    });
    dependsOn.push({ name: u, condition: 'service_healthy' });
  }
  for (const u of usedCaches) {
    const P = usedCaches.length > 1 ? `${u.toUpperCase().replace(/-/g, '_')}_REDIS` : 'REDIS';
    Object.assign(env, { [`${P}_HOST`]: u, [`${P}_PORT`]: '6379', [`${P}_PASSWORD_FILE`]: mount(`${u}-password`), [`${P}_URL_FILE`]: mount(`${u}-url`), ...env });
    dependsOn.push({ name: u, condition: 'service_healthy' });
  }
  if (!('PORT' in env)) env.PORT = String(svc.port);
  const networks: NetworkName[] = [];
  if (svc.routes.length) networks.push('edge');
  if (svc.uses.length) networks.push('backend');
  if (svc.metrics && monitoringOn) networks.push('monitoring');
  if (networks.length === 0) networks.push('edge');
  const build = svc.build
    ? { context: svc.build.context, dockerfile: svc.build.dockerfile, args: { ...svc.build.args } }
    : undefined;
  if (build && !('NODE_IMAGE' in build.args) && stack.images.node) build.args.NODE_IMAGE = stack.images.node;
  return {
    ...hardening(),
    name: n, role: 'app',
    image: svc.image ?? `${stack.name}/${n}:local`,
    build,
    ...(injected.length
      ? { entrypoint: ['/bin/sh', '-c', ENV_WRAPPER, 'wharf-env'], command: [...injected, '--', ...svc.command!] }
      : { command: copy(svc.command) }),
    user: svc.user,
    env, secrets: secretMounts, networks, port: svc.port, replicas: svc.replicas,
    mounts: [
      ...svc.volumes.map((v) => ({ type: 'volume' as const, source: v.name, target: v.target, readOnly: false })),
      ...(svc.dockerSocket === 'read-only' ? [{ type: 'bind' as const, source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true }] : []),
    ],
    ...serviceHealth(svc),
    ...(svc.health && svc.health.ready ? { readyPath: svc.health.ready } : {}),
    ...(svc.autoscale ? { autoscale: { ...svc.autoscale } } : {}),
    dependsOn,
    resources: { cpus: svc.resources.cpus ?? 0.5, memory: svc.resources.memory ?? '256M' },
    init: svc.init,
    metrics: svc.metrics && monitoringOn ? { job: n, port: svc.metrics.port ?? svc.port, path: svc.metrics.path } : undefined,
  };
}

function planMonitoring(stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[], routes: Route[]): Component[] {
  const m = stack.monitoring;
  const img = stack.images;
  const out: Component[] = [];
  volumes.push({ name: 'prometheus-data', component: 'prometheus', purpose: 'Prometheus TSDB' });
  out.push({
    ...hardening(), name: 'prometheus', role: 'prometheus', image: pickImage('prometheus', img), imageKey: 'prometheus', port: 9090,
    networks: ['monitoring'], user: '65534:65534',
    command: [
      '--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus',
      `--storage.tsdb.retention.time=${m.retention}`, '--web.enable-lifecycle', '--web.console.libraries=/usr/share/prometheus/console_libraries',
      '--web.console.templates=/usr/share/prometheus/consoles',
    ],
    mounts: [
      { type: 'config', source: 'prometheus/prometheus.yml', target: '/etc/prometheus/prometheus.yml', readOnly: true },
      { type: 'config', source: 'prometheus/rules', target: '/etc/prometheus/rules', readOnly: true },
      { type: 'volume', source: 'prometheus-data', target: '/prometheus', readOnly: false },
    ],
    healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9090/-/ready']),
    resources: { cpus: 0.5, memory: '512M' },
    metrics: { job: 'prometheus', port: 9090, path: '/metrics' },
  });
  volumes.push({ name: 'alertmanager-data', component: 'alertmanager', purpose: 'Alertmanager silences and notification log' });
  const receiverSecrets = m.alerts.receivers.flatMap((r) =>
    r.type === 'slack' ? [r.webhookSecret] : r.type === 'email' && r.passwordSecret ? [r.passwordSecret] : []);
  const inStack = (url: string) => /^https?:\/\/[a-z0-9-]+(:\d+)?\//.test(url);
  const externalReceivers = m.alerts.receivers.some((r) => r.type !== 'webhook' || !inStack(r.url))
    || (m.alerts.heartbeat !== undefined && !inStack(m.alerts.heartbeat.url));
  out.push({
    ...hardening(), name: 'alertmanager', role: 'alertmanager', image: pickImage('alertmanager', img), imageKey: 'alertmanager', port: 9093,
    // Receivers outside the stack need a route out; in-stack webhooks do not.
    networks: externalReceivers ? ['edge', 'monitoring'] : ['monitoring'],
    user: '65534:65534',
    command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager'],
    mounts: [
      { type: 'config', source: 'alertmanager/alertmanager.yml', target: '/etc/alertmanager/alertmanager.yml', readOnly: true },
      { type: 'volume', source: 'alertmanager-data', target: '/alertmanager', readOnly: false },
    ],
    secrets: receiverSecrets.map((s) => ({ secret: s, target: `/run/secrets/${s}` })),
    healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9093/-/ready']),
    resources: { cpus: 0.1, memory: '64M' },
    metrics: { job: 'alertmanager', port: 9093, path: '/metrics' },
  });
  if (m.grafana !== false) {
    addSecret({ name: 'grafana-admin-password', purpose: 'Grafana admin password', source: { kind: 'random', length: 32 } });
    volumes.push({ name: 'grafana-data', component: 'grafana', purpose: 'Grafana database' });
    const host = m.grafana.host ?? `grafana.${stack.domain}`;
    out.push({
      ...hardening(), name: 'grafana', role: 'grafana', image: pickImage('grafana', img), imageKey: 'grafana', port: 3000,
      networks: ['edge', 'monitoring'],
      env: {
        GF_SECURITY_ADMIN_USER: 'admin',
        GF_SECURITY_ADMIN_PASSWORD__FILE: '/run/secrets/grafana-admin-password',
        GF_USERS_ALLOW_SIGN_UP: 'false',
        GF_AUTH_ANONYMOUS_ENABLED: 'false',
        GF_SERVER_ROOT_URL: `https://${host}/`,
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
        GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
        GF_SECURITY_COOKIE_SECURE: 'true',
      },
      secrets: [{ secret: 'grafana-admin-password', target: '/run/secrets/grafana-admin-password' }],
      mounts: [
        { type: 'config', source: 'grafana/provisioning', target: '/etc/grafana/provisioning', readOnly: true },
        { type: 'config', source: 'grafana/dashboards', target: '/var/lib/grafana/dashboards', readOnly: true },
        { type: 'volume', source: 'grafana-data', target: '/var/lib/grafana', readOnly: false },
      ],
      dependsOn: [{ name: 'prometheus', condition: 'service_healthy' }],
      healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:3000/api/health']),
      resources: { cpus: 0.5, memory: '256M' },
      metrics: { job: 'grafana', port: 3000, path: '/metrics' },
    });
    routes.push({ name: 'grafana', service: 'grafana', host, path: '/', port: 3000, replicas: 1, denyPaths: ['/metrics'], auth: false, allow: copy(m.grafana.allow), healthPath: '/api/health', internal: true });
  }
  if (m.nodeExporter) {
    out.push({
      ...hardening(), name: 'node-exporter', role: 'node-exporter', image: pickImage('node-exporter', img), imageKey: 'node-exporter', port: 9100,
      networks: ['monitoring'], user: '65534:65534',
      command: ['--path.procfs=/host/proc', '--path.sysfs=/host/sys', '--path.rootfs=/host/root',
        '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)'],
      mounts: [
        { type: 'bind', source: '/proc', target: '/host/proc', readOnly: true },
        { type: 'bind', source: '/sys', target: '/host/sys', readOnly: true },
        { type: 'bind', source: '/', target: '/host/root', readOnly: true },
      ],
      healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9100/metrics']),
      resources: { cpus: 0.1, memory: '64M' },
      metrics: { job: 'node-exporter', port: 9100, path: '/metrics' },
    });
  }
  if (m.cadvisor) {
    out.push({
      ...hardening(), name: 'cadvisor', role: 'cadvisor', image: pickImage('cadvisor', img), imageKey: 'cadvisor', port: 8080,
      networks: ['monitoring'],
      command: ['--docker_only=true', '--housekeeping_interval=15s', '--store_container_labels=false',
        '--whitelisted_container_labels=dev.wharf.service,dev.wharf.stack'],
      mounts: [
        { type: 'bind', source: '/', target: '/rootfs', readOnly: true },
        { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
        { type: 'bind', source: '/sys', target: '/sys', readOnly: true },
        { type: 'bind', source: '/var/lib/docker', target: '/var/lib/docker', readOnly: true },
      ],
      healthcheck: health(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz']),
      resources: { cpus: 0.3, memory: '256M' },
      metrics: { job: 'cadvisor', port: 8080, path: '/metrics' },
    });
  }
  return out;
}

function planTls(stack: Stack, hosts: string[], addSecret: (s: Secret) => void) {
  if (stack.tls.mode === 'acme') {
    return { mode: 'acme' as const, email: stack.tls.email, staging: stack.tls.staging, hosts };
  }
  addSecret(stack.tls.mode === 'files'
    ? { name: 'edge-tls-key', purpose: 'edge TLS private key', source: { kind: 'file', path: stack.tls.key } }
    : { name: 'edge-tls-key', purpose: 'edge TLS private key (self-signed)', source: { kind: 'tls-key' } });
  addSecret(stack.tls.mode === 'files'
    ? { name: 'edge-tls-cert', purpose: 'edge TLS certificate', source: { kind: 'file', path: stack.tls.cert } }
    : { name: 'edge-tls-cert', purpose: 'edge TLS certificate (self-signed)', source: { kind: 'tls-cert', hosts, key: 'edge-tls-key' } });
  if (stack.proxy.kind === 'haproxy') {
    addSecret({ name: 'edge-tls-pem', purpose: 'edge certificate and key for HAProxy', source: { kind: 'tls-pem', cert: 'edge-tls-cert', key: 'edge-tls-key' } });
  }
  return {
    mode: stack.tls.mode, hosts,
    certSecret: 'edge-tls-cert', keySecret: 'edge-tls-key',
    pemSecret: stack.proxy.kind === 'haproxy' ? 'edge-tls-pem' : undefined,
  };
}

function planProxy(stack: Stack, name: string, tls: Plan['tls'], authSecret: string, volumes: Volume[], sizing: EdgeSizing | undefined): Component {
  const p = stack.proxy;
  const ports = [
    { hostIp: p.bind, host: p.httpPort, container: 80 },
    { hostIp: p.bind, host: p.httpsPort, container: 443 },
    ...(p.stats.publish ? [{ hostIp: '127.0.0.1', host: p.stats.port, container: p.stats.port }] : []),
  ];
  // No depends_on on the routed services: the edge finds their replicas by DNS when they come
  // (HAProxy init-addr none, Traefik at request time), and Compose v2 recreates every dependant
  // of a recreated service (measured with 2.26: an env change of one service recreated the edge).
  const dependsOn: Dependency[] = [];
  const tlsSecrets = [tls.certSecret, tls.keySecret, tls.pemSecret].filter((s): s is string => !!s);
  const secrets = [...tlsSecrets, authSecret].map((s) => ({ secret: s, target: `/run/secrets/${s}` }));
  const networks: NetworkName[] = stack.monitoring.enabled ? ['edge', 'monitoring'] : ['edge'];
  if (p.kind === 'traefik') {
    const mounts = [
      { type: 'config' as const, source: 'traefik/traefik.yml', target: '/etc/traefik/traefik.yml', readOnly: true },
      { type: 'config' as const, source: 'traefik/dynamic', target: '/etc/traefik/dynamic', readOnly: true },
    ];
    if (tls.mode === 'acme') {
      volumes.push({ name: 'traefik-acme', component: name, purpose: 'ACME account and certificates' });
      mounts.push({ type: 'volume' as const, source: 'traefik-acme', target: '/acme', readOnly: false } as never);
    }
    return {
      ...hardening(), name, role: 'proxy', engine: 'traefik', image: pickImage('traefik', stack.images), imageKey: 'traefik',
      networks, ports, mounts, secrets, dependsOn,
      command: ['--configFile=/etc/traefik/traefik.yml'],
      reload: traefikReload(),
      capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'],
      healthcheck: health(['CMD', 'traefik', 'healthcheck', '--ping']),
      resources: { cpus: 0.5, memory: formatMemory(p.memory ? parseMemory(p.memory) : defaultEdgeMemory) },
      metrics: stack.monitoring.enabled ? { job: 'proxy', port: 8082, path: '/metrics' } : undefined,
    };
  }
  const command = ['haproxy', '-f', `${haproxyConfigDir}/haproxy.cfg`, '-f', `/run/secrets/${authSecret}`];
  return {
    ...hardening(), name, role: 'proxy', engine: 'haproxy', image: pickImage('haproxy', stack.images), imageKey: 'haproxy',
    networks, ports, secrets, dependsOn,
    // The directory, not the file: a file replaced by rename is never seen through a file mount.
    mounts: [{ type: 'config', source: 'haproxy', target: haproxyConfigDir, readOnly: true }],
    // The image's entrypoint adds -W -db (master-worker, foreground) to a command starting with haproxy.
    command,
    reload: haproxyReload(command),
    capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'],
    healthcheck: health(['CMD', 'bash', '-c', '</dev/tcp/127.0.0.1/"$1"', 'probe', String(p.stats.port)]),
    resources: { cpus: 0.5, memory: formatMemory(sizing!.memoryBytes) },
    // The exporter has its own unauthenticated port on the monitoring side; the stats page keeps its password.
    metrics: stack.monitoring.enabled ? { job: 'proxy', port: 8405, path: '/metrics' } : undefined,
  };
}

function scrapeJobsFor(components: Component[], stack: Stack): ScrapeJob[] {
  void stack;
  return components
    .filter((c) => c.metrics)
    .map((c) => ({
      job: c.metrics!.job,
      // Replicated services are discovered through Docker DNS so every replica is scraped.
      discovery: c.name === 'prometheus' ? 'static' as const : 'dns' as const,
      host: c.name === 'prometheus' ? 'localhost' : c.name,
      port: c.metrics!.port,
      path: c.metrics!.path,
      component: c.name,
    }))
    .sort((a, b) => byCodeUnit(a.job, b.job));
}

function planReceiver(r: Stack['monitoring']['alerts']['receivers'][number]): Receiver {
  const severities = [...(r.severity ?? ['critical', 'warning'])];
  if (r.type === 'webhook') return { name: r.name, type: 'webhook', severities, url: r.url };
  if (r.type === 'email') {
    return { name: r.name, type: 'email', severities, to: r.to, from: r.from, smarthost: r.smarthost, username: r.username, secretFile: r.passwordSecret ? `/run/secrets/${r.passwordSecret}` : undefined };
  }
  return { name: r.name, type: 'slack', severities, channel: r.channel, secretFile: `/run/secrets/${r.webhookSecret}` };
}

function planBackups(stack: Stack): BackupJob[] {
  const jobs: BackupJob[] = [];
  const add = (name: string, target: string, kind: BackupJob['kind'], b: Backup) => {
    if (!b.enabled) return;
    jobs.push({
      // a minio destination is the stack's own MinIO as S3 (rules.ts refuses it without storage.minio)
      name, target, kind, schedule: b.schedule, retention: { ...b.retention }, destination: b.destination.type === 'minio' ? minioDestination(stack)! : { ...b.destination },
      encrypt: b.encrypt, verifySchedule: b.verify.schedule, restoreTest: b.verify.restoreTest,
    });
  };
  for (const [n, d] of Object.entries(stack.databases)) if (d.backup) add(n, n, d.engine === 'postgres' ? 'postgres' : 'mysql', d.backup);
  for (const [n, c] of Object.entries(stack.caches)) if (c.backup) add(n, n, 'redis', c.backup);
  for (const [n, s] of Object.entries(stack.services)) for (const v of s.volumes) if (v.backup) add(v.name, n, 'volume', v.backup);
  return jobs.sort((a, b) => byCodeUnit(a.name, b.name));
}

export function parseMemory(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgKMG]?)$/.exec(s);
  if (!m) return 0;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

function formatMemory(bytes: number): string {
  return `${Math.ceil(bytes / 1024 ** 2)}M`;
}


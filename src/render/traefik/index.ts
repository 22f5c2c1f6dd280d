// plan -> Traefik v3 static config (traefik/traefik.yml) and file-provider dynamic
// config (traefik/dynamic/*.yml). Pure: no fs, env, clock or randomness.
//
// Decisions, in one place:
// - Compose: only the file provider: routes come from the plan, not from Docker labels, so
//   the proxy needs no Docker socket and the output is deterministic and checkable.
// - Replicas: a service with one replica is reached through its Compose network alias
//   (`http://<service>:<port>`, valid for Compose v1 and v2). A replicated service
//   lists one server per container name (`<project>-<service>-<n>`, Compose v2 naming),
//   because Traefik resolves a host name once per connection and pools keep-alive
//   connections per host: with the bare alias, Docker DNS round-robin decides which
//   replica gets a whole connection pool and the health check only ever sees one
//   replica. Per-container servers give real weighted round-robin and per-replica health
//   checks. Compose v1 names containers `<project>_<service>_<n>`: pass
//   `{ replicaNaming: 'compose-v1' }`.
//   Scaling past plan.replicas at runtime needs a re-render (HAProxy picks it up by DNS).
// - Swarm (`discovery: 'swarm'`): routers and services of the routed components come from
//   `providers.swarm` reading their service labels (./swarm-labels.ts); the file provider
//   keeps what labels are bad at (TLS, middlewares, the dashboard) and the deny routers, so a
//   metrics path is refused whether or not discovery has seen the service yet.
// - Metrics paths are never routed: for every denied path a router with a higher
//   priority than any route on that host matches it case-insensitively (Express routes
//   are case-insensitive) and answers 404 through an allow-list that admits nobody.
import type { Plan, Route } from '../../plan/model.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { traefikRuleValue } from '../../escape/traefik.js';
import { DOCKER_SOCKET, stackNetworkName } from '../swarm/index.js';

export type ReplicaNaming = 'compose-v2' | 'compose-v1';

export interface TraefikOptions {
  /** how replicated services are addressed (see the header comment); default compose-v2 */
  replicaNaming?: ReplicaNaming;
  /** where routed services come from: this file provider (default), or Swarm service labels */
  discovery?: 'file' | 'swarm';
}

export const traefikPaths = {
  staticFile: 'traefik/traefik.yml',
  dynamicDir: 'traefik/dynamic',
  /** inside the container */
  dynamicMount: '/etc/traefik/dynamic',
  acmeStorage: '/acme/acme.json',
  secrets: '/run/secrets',
} as const;

export const traefikEntryPoints = { web: 'web', websecure: 'websecure', metrics: 'metrics' } as const;
export const traefikDefaultMetricsPort = 8082;
export const certResolverName = 'le';
/** Higher than any default (rule-length) priority of a user router. */
export const denyRouterPriority = 100000;

export const mw = {
  headers: 'security-headers',
  auth: 'edge-auth',
  deny: 'deny-all',
  retry: 'retry',
} as const;

/** Swarm: the Engine API on the node, the label Docker puts on a stack's services, the edge overlay. */
export const swarmProvider = {
  endpoint: `unix://${DOCKER_SOCKET}`,
  stackLabel: 'com.docker.stack.namespace',
  network: (plan: Plan) => stackNetworkName(plan, 'edge'),
} as const;

export function renderTraefik(plan: Plan, opts: TraefikOptions = {}): RenderedFile[] {
  return [
    { path: traefikPaths.staticFile, contents: toYaml(traefikStatic(plan, opts), generatedHeader) },
    { path: `${traefikPaths.dynamicDir}/middlewares.yml`, contents: toYaml(traefikMiddlewares(plan, opts), generatedHeader) },
    { path: `${traefikPaths.dynamicDir}/routes.yml`, contents: toYaml(traefikRoutes(plan, opts), generatedHeader) },
    { path: `${traefikPaths.dynamicDir}/tls.yml`, contents: toYaml(traefikTls(plan), generatedHeader) },
  ];
}

function metricsPort(plan: Plan): number {
  const proxy = plan.components.find((c) => c.name === plan.proxy.component);
  return proxy?.metrics?.port ?? traefikDefaultMetricsPort;
}

/** The container port the plan publishes a host port to (the plan decides, e.g. 80/443). */
export function edgeContainerPort(plan: Plan, hostPort: number, fallback: number): number {
  const proxy = plan.components.find((c) => c.name === plan.proxy.component);
  return proxy?.ports.find((p) => p.host === hostPort)?.container ?? fallback;
}

export function traefikStatic(plan: Plan, opts: TraefikOptions = {}): Record<string, unknown> {
  const httpPort = edgeContainerPort(plan, plan.proxy.httpPort, 80);
  const httpsPort = edgeContainerPort(plan, plan.proxy.httpsPort, 443);
  const websecure: Record<string, unknown> = {
    address: `:${httpsPort}`,
    asDefault: true,
    http: { tls: plan.tls.mode === 'acme' ? { certResolver: certResolverName } : {} },
  };
  // The redirect must name the port clients reach HTTPS on, which is the published one.
  const to = plan.proxy.httpsPort === httpsPort ? traefikEntryPoints.websecure : `:${plan.proxy.httpsPort}`;
  const doc: Record<string, unknown> = {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    log: { level: 'INFO', format: 'json' },
    // Request headers (Authorization, cookies) are dropped from the access log.
    accessLog: { format: 'json', fields: { defaultMode: 'keep', headers: { defaultMode: 'drop', names: { 'User-Agent': 'keep' } } } },
    api: { dashboard: true, insecure: false, disableDashboardAd: true },
    // `traefik healthcheck --ping` (the container healthcheck) reads this file from its
    // default location and probes ping on the metrics entry point: nothing published.
    ping: { entryPoint: traefikEntryPoints.metrics },
    entryPoints: {
      [traefikEntryPoints.web]: {
        address: `:${httpPort}`,
        http: { redirections: { entryPoint: { to, scheme: 'https', permanent: true } } },
      },
      [traefikEntryPoints.websecure]: websecure,
      [traefikEntryPoints.metrics]: { address: `:${metricsPort(plan)}` },
    },
    metrics: {
      prometheus: { entryPoint: traefikEntryPoints.metrics, addEntryPointsLabels: true, addRoutersLabels: true, addServicesLabels: true },
    },
    providers: { file: { directory: traefikPaths.dynamicMount, watch: true } },
  };
  if (opts.discovery === 'swarm') {
    doc.providers = {
      swarm: {
        endpoint: swarmProvider.endpoint,
        exposedByDefault: false,
        // Only this stack's services: other stacks on the swarm may run their own edge.
        constraints: `Label(${lit(swarmProvider.stackLabel)}, ${lit(plan.name)})`,
        network: swarmProvider.network(plan),
        // The swarm provider polls; 5 s instead of 15 s to see a new or gone task sooner.
        refreshSeconds: '5s',
        // A service with no running task keeps its router and answers 503, not 404.
        allowEmptyServices: true,
      },
      ...(doc.providers as Record<string, unknown>),
    };
    // A task on a dead node does not refuse: its connect hangs until this timeout
    // (default 30 s) before the retry middleware can try another task.
    doc.serversTransport = { forwardingTimeouts: { dialTimeout: '1s' } };
  }
  if (plan.tls.mode === 'acme') {
    const acme: Record<string, unknown> = {
      email: plan.tls.email,
      storage: traefikPaths.acmeStorage,
      httpChallenge: { entryPoint: traefikEntryPoints.web },
    };
    // Let's Encrypt production is Traefik's own default; anything else (staging, Pebble, a company CA) is named.
    if (plan.tls.caServer) acme.caServer = plan.tls.caServer;
    doc.certificatesResolvers = { [certResolverName]: { acme } };
  }
  return doc;
}

export function traefikMiddlewares(plan: Plan, opts: TraefikOptions = {}): Record<string, unknown> {
  const middlewares: Record<string, unknown> = {
    [mw.headers]: {
      headers: {
        stsSeconds: 31536000,
        stsIncludeSubdomains: true,
        forceSTSHeader: true,
        contentTypeNosniff: true,
        frameDeny: true,
        referrerPolicy: 'strict-origin-when-cross-origin',
        // An empty value removes the header: no framework fingerprint.
        customResponseHeaders: { 'X-Powered-By': '' },
      },
    },
    [mw.auth]: { basicAuth: { usersFile: `${traefikPaths.secrets}/${plan.proxy.authSecret}`, realm: plan.name, removeHeader: true } },
    // 255.255.255.255 is never a TCP source: nobody passes, and the answer is a plain 404.
    [mw.deny]: { ipAllowList: { sourceRange: ['255.255.255.255/32'], rejectStatusCode: 404 } },
  };
  for (const r of plan.routes) {
    if (r.allow?.length) middlewares[allowName(r)] = { ipAllowList: { sourceRange: [...r.allow] } };
  }
  // Swarm tasks vanish (rolling updates, lost nodes): a request whose connection to one
  // fails is sent to another. Traefik retries only before the server answered.
  if (opts.discovery === 'swarm') middlewares[mw.retry] = { retry: { attempts: 3, initialInterval: '100ms' } };
  return { http: { middlewares } };
}

export function allowName(r: Route): string {
  return `${r.name}-allow`;
}

export function isProxyRoute(plan: Plan, r: Route): boolean {
  return r.service === plan.proxy.component;
}

/** A Traefik rule string literal (src/escape/traefik.ts). */
const lit = traefikRuleValue;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function hostMatcher(host: string): string {
  if (host.startsWith('*.')) {
    const base = escapeRegExp(host.slice(2));
    return `HostRegexp(${lit(`(?i)^[a-z0-9-]+\\.${base}$`)})`;
  }
  return `Host(${lit(host)})`;
}

export function routeRule(r: Route): string {
  const host = hostMatcher(r.host);
  return r.path === '/' ? host : `${host} && PathPrefix(${lit(r.path)})`;
}

/** Matches the path and anything below it, in any letter case. */
export function denyRule(r: Route, path: string): string {
  const p = path.replace(/\/+$/, '');
  return `${hostMatcher(r.host)} && PathRegexp(${lit(`(?i)^${escapeRegExp(p)}(/|$)`)})`;
}

export function replicaUrls(plan: Plan, r: Route, naming: ReplicaNaming = 'compose-v2'): string[] {
  if (r.replicas <= 1) return [`http://${r.service}:${r.port}`];
  const sep = naming === 'compose-v2' ? '-' : '_';
  return Array.from({ length: r.replicas }, (_, i) => `http://${plan.name}${sep}${r.service}${sep}${i + 1}:${r.port}`);
}

/** The path the edge probes: the service's health path, else `/` (2xx-3xx is healthy). */
export function edgeHealthPath(r: Route): string {
  return r.healthPath ?? '/';
}

/** The middlewares of a route, in order, by their names in the file provider. */
export function routeMiddlewares(r: Route): string[] {
  return [mw.headers, ...(r.allow?.length ? [allowName(r)] : []), ...(r.auth ? [mw.auth] : [])];
}

/** Exact hosts win over wildcards (whose longer HostRegexp rule would otherwise outrank
 *  them); among wildcards, the longer path wins. */
export function routePriority(r: Route): number | undefined {
  return r.host.startsWith('*.') ? Math.max(1, r.path.length) : undefined;
}

/** The edge's health check of a routed service: its path, and the service's own cadence. */
export function edgeHealthCheck(plan: Plan, r: Route): { path: string; interval: string; timeout: string } {
  const hc = plan.components.find((c) => c.name === r.service)?.healthcheck;
  return { path: edgeHealthPath(r), interval: hc?.interval.toString() ?? '10s', timeout: hc?.timeout.toString() ?? '3s' };
}

export function traefikRoutes(plan: Plan, opts: TraefikOptions = {}): Record<string, unknown> {
  const routers: Record<string, unknown> = {};
  const services: Record<string, unknown> = {};
  const tls = plan.tls.mode === 'acme' ? { certResolver: certResolverName } : {};
  const entryPoints = [traefikEntryPoints.websecure];
  const labelled = opts.discovery === 'swarm';
  for (const r of plan.routes) {
    const proxyRoute = isProxyRoute(plan, r);
    const middlewares = routeMiddlewares(r);
    const priority = routePriority(r);
    if (!(labelled && !proxyRoute))
      routers[r.name] = {
        entryPoints,
        rule: routeRule(r),
        ...(priority !== undefined ? { priority } : {}),
        service: proxyRoute ? 'api@internal' : r.name,
        middlewares,
        tls,
      };
    r.denyPaths.forEach((p, i) => {
      routers[`${r.name}-deny-${i}`] = {
        entryPoints,
        rule: denyRule(r, p),
        priority: denyRouterPriority,
        service: 'noop@internal',
        middlewares: [mw.headers, mw.deny],
        tls,
      };
    });
    if (proxyRoute || labelled) continue;
    services[r.name] = {
      loadBalancer: {
        servers: replicaUrls(plan, r, opts.replicaNaming).map((url) => ({ url })),
        passHostHeader: true,
        healthCheck: edgeHealthCheck(plan, r),
      },
    };
  }
  return { http: { routers, ...(labelled ? {} : { services }) } };
}

export function traefikTls(plan: Plan): Record<string, unknown> {
  const tls: Record<string, unknown> = {
    options: { default: { minVersion: 'VersionTLS12', sniStrict: false } },
  };
  if (plan.tls.mode !== 'acme') {
    if (!plan.tls.certSecret || !plan.tls.keySecret)
      throw new Error(`bug: tls mode ${plan.tls.mode} without certSecret/keySecret in the plan`);
    const cert = { certFile: `${traefikPaths.secrets}/${plan.tls.certSecret}`, keyFile: `${traefikPaths.secrets}/${plan.tls.keySecret}` };
    tls.certificates = [cert];
    tls.stores = { default: { defaultCertificate: cert } };
  }
  return { tls };
}

// Application services: their component (env, secrets, health) and their routes.
import type { Stack, Service } from '../../spec/schema.js';
import { envSecretMode } from '../../spec/rules.js';
import type { Component, Dependency, NetworkName, Route } from '../model.js';
import { componentDefaults, copy, dbUser, enginePort, health } from './common.js';
import { Size } from '../../spec/units.js';

/** An app's healthcheck, or why it has none, and the probe in words for `wharf check`. */
export function serviceHealth(svc: Service): Pick<Component, 'healthcheck' | 'healthWaiver' | 'healthProbe'> {
  const h = svc.health;
  if (!h) return { healthWaiver: 'health: false in the spec', healthProbe: 'none (health: false)' };
  const timing = { interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.startPeriod };
  if (h.from === 'edge') {
    const what = h.tcp ? `TCP connect to port ${svc.port}` : `HTTP GET ${h.path ?? '/health'}`;
    return {
      healthWaiver: 'health.from: edge (the image has no shell or HTTP client); the edge probes every replica',
      healthProbe: `from the edge: ${what}`,
    };
  }
  if (h.command)
    return {
      healthcheck: health({ kind: 'exec', command: [...h.command] }, timing),
      healthProbe: `in the container: ${h.command.join(' ')}`,
    };
  if (h.tcp)
    return {
      healthcheck: health({ kind: 'tcp', port: svc.port, client: 'proc' }, timing),
      healthProbe: `in the container: port ${svc.port} listening (/proc/net/tcp)`,
    };
  const path = h.path ?? '/health';
  return {
    healthcheck: health({ kind: 'http', port: svc.port, path, client: 'any' }, timing),
    healthProbe: `in the container: HTTP GET ${path} (wget, curl or node)`,
  };
}

/** What the edge probes: the HTTP health path, a bare connect for tcp, else / answering 2xx-3xx. */
export function edgeHealth(svc: Service): Pick<Route, 'healthPath' | 'healthTcp'> {
  const h = svc.health;
  if (!h || h.command) return {};
  if (h.tcp) return { healthTcp: true };
  return { healthPath: h.path ?? '/health' };
}

/** A service's routes: one per spec route, named after the service (and its index when several). */
export function serviceRoutes(n: string, svc: Service): Route[] {
  return svc.routes.map((r, i) => ({
    name: svc.routes.length > 1 ? `${n}-${i}` : n,
    service: n,
    host: r.host,
    path: r.path,
    port: svc.port,
    replicas: svc.replicas,
    denyPaths: svc.metrics ? [svc.metrics.path] : [],
    auth: r.auth,
    allow: copy(r.allow),
    ...edgeHealth(svc),
    internal: false,
  }));
}

/** Starts the image's command with the named variables read from secret files: names and
 *  paths arrive as NAME=PATH arguments, so the values never exist outside the process. */
export const ENV_WRAPPER = 'while [ "$1" != -- ]; do v=$(cat -- "${1#*=}") || exit 70; export "${1%%=*}=$v"; shift; done; shift; exec "$@"';

/** What a one-off command of the service needs before its argv so it gets the same env from secret
 *  files as the service's own command (the NAME=PATH arguments of ENV_WRAPPER and --); [] when none. */
export function secretEnvArgs(c: Pick<Component, 'entrypoint' | 'command'>): string[] {
  if (c.entrypoint?.[2] !== ENV_WRAPPER || !c.command) return [];
  return c.command.slice(0, c.command.indexOf('--') + 1);
}

export function planService(n: string, svc: Service, stack: Stack, monitoringOn: boolean): Component {
  const env: Record<string, string> = {};
  const secretMounts = svc.secrets.map((s) => ({ secret: s, target: `/run/secrets/${s}` }));
  const mount = (secret: string) => {
    const target = `/run/secrets/${secret}`;
    if (!secretMounts.some((m) => m.secret === secret)) secretMounts.push({ secret, target });
    return target;
  };
  const injected: string[] = [];
  for (const [k, v] of Object.entries(svc.env)) {
    if (typeof v === 'string') {
      env[k] = v;
      continue;
    }
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
      [`${P}_DRIVER`]: db.engine,
      [`${P}_HOST`]: u,
      [`${P}_PORT`]: String(enginePort[db.engine]),
      [`${P}_NAME`]: database,
      [`${P}_USER`]: user,
      [`${P}_PASSWORD_FILE`]: mount(`${u}-password`),
      [`${P}_URL_FILE`]: mount(`${u}-url`),
      ...env,
    });
    dependsOn.push({ name: u, on: 'ready' });
  }
  for (const u of usedCaches) {
    const P = usedCaches.length > 1 ? `${u.toUpperCase().replace(/-/g, '_')}_REDIS` : 'REDIS';
    Object.assign(env, {
      [`${P}_HOST`]: u,
      [`${P}_PORT`]: '6379',
      [`${P}_PASSWORD_FILE`]: mount(`${u}-password`),
      [`${P}_URL_FILE`]: mount(`${u}-url`),
      ...env,
    });
    dependsOn.push({ name: u, on: 'ready' });
  }
  if (!('PORT' in env)) env.PORT = String(svc.port);
  const networks: NetworkName[] = [];
  if (svc.routes.length) networks.push('edge');
  if (svc.uses.length) networks.push('backend');
  if (svc.metrics && monitoringOn) networks.push('monitoring');
  if (networks.length === 0) networks.push('edge');
  const build = svc.build
    ? { context: { project: svc.build.context }, dockerfile: svc.build.dockerfile, args: { ...svc.build.args } }
    : undefined;
  if (build && !('NODE_IMAGE' in build.args) && stack.images.node) build.args.NODE_IMAGE = stack.images.node;
  return {
    ...componentDefaults(),
    name: n,
    role: 'app',
    image: svc.image ?? `${stack.name}/${n}:local`,
    build,
    ...(injected.length
      ? { entrypoint: ['/bin/sh', '-c', ENV_WRAPPER, 'wharf-env'], command: [...injected, '--', ...svc.command!] }
      : { command: copy(svc.command) }),
    user: svc.user,
    ...(svc.capAdd.length || Object.keys(svc.labels).length
      ? { hardening: { ...componentDefaults().hardening, addCaps: [...svc.capAdd] }, labels: { ...svc.labels } }
      : {}),
    env,
    secrets: secretMounts,
    networks,
    port: svc.port,
    replicas: svc.replicas,
    mounts: [
      ...svc.volumes.map((v) => ({ type: 'volume' as const, source: v.name, target: v.target, readOnly: false })),
      ...(svc.dockerSocket === 'read-only'
        ? [{ type: 'bind' as const, source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true }]
        : []),
    ],
    ...serviceHealth(svc),
    ...(svc.health && svc.health.ready ? { readyPath: svc.health.ready } : {}),
    ...(svc.autoscale ? { autoscale: { ...svc.autoscale } } : {}),
    ...(svc.hooks ? { hooks: { ...svc.hooks } } : {}),
    dependsOn,
    resources: { cpus: svc.resources.cpus ?? 0.5, memory: svc.resources.memory ?? Size.parse('256M') },
    init: svc.init,
    metrics: svc.metrics && monitoringOn ? { job: n, port: svc.metrics.port ?? svc.port, path: svc.metrics.path } : undefined,
  };
}

// The edge proxy, its TLS and the credentials protecting the dashboards.
import type { Stack } from '../../spec/schema.js';
import { pickImage } from '../images.js';
import { defaultEdgeMemory, haproxyConfigDir, haproxyReload, sizeEdge, traefikReload } from '../edge.js';
import type { Component, Dependency, EdgeSizing, Mount, NetworkName, Plan, Route, Secret, Volume } from '../model.js';
import { componentDefaults, copy, health, unique } from './common.js';
import { Size } from '../../spec/units.js';
import {
  ACME_CERTS_VOLUME,
  ACME_CHALLENGE_PORT,
  ACME_COMPONENT,
  ACME_ROOT_SECRET,
  addAcmeApiSecrets,
  addAcmeRoot,
  acmeDomains,
  acmePaths,
} from '../acme.js';
import { acmeCa, isPublicCa, letsEncrypt } from '../../spec/acme.js';

/** The edge proxy, its TLS and the credentials protecting the dashboards; `routes` are the
 *  stack's so far (the TLS certificate covers their hosts) and gain the dashboard's. */
export function planEdge(
  stack: Stack,
  routes: Route[],
  addSecret: (s: Secret) => void,
  volumes: Volume[],
): { component: Component; tls: Plan['tls']; proxy: Plan['proxy'] } {
  const p = stack.proxy;
  const name = 'proxy';
  const authSecret = p.kind === 'traefik' ? 'edge-htpasswd' : 'edge-userlist';
  addSecret({ name: 'edge-admin-password', purpose: 'edge dashboard / stats basic auth', source: { kind: 'random', length: 32 } });
  addSecret(
    p.kind === 'traefik'
      ? {
          name: authSecret,
          purpose: 'htpasswd users file for basic auth',
          source: { kind: 'htpasswd', user: 'admin', from: 'edge-admin-password' },
        }
      : {
          name: authSecret,
          purpose: 'HAProxy userlist for basic auth',
          source: { kind: 'haproxy-userlist', list: 'admins', user: 'admin', from: 'edge-admin-password' },
        },
  );
  const dashboard = p.dashboard;
  const dashboardHost = dashboard === false ? undefined : (dashboard.host ?? `${p.kind}.${stack.domain}`);
  if (dashboardHost) {
    const [route, port] = p.kind === 'traefik' ? ['dashboard', 8080] : ['stats', p.stats.port];
    routes.push({
      name: route,
      service: name,
      host: dashboardHost,
      path: '/',
      port,
      replicas: 1,
      denyPaths: [],
      auth: true,
      allow: dashboard ? copy(dashboard.allow) : undefined,
      internal: true,
    });
  }
  const routed = routes.map((r) => r.host);
  const tls = planTls(stack, unique([stack.domain, `*.${stack.domain}`, ...routed]), routed, addSecret);
  const sizing =
    p.kind === 'haproxy'
      ? sizeEdge({ memoryBytes: p.memory?.toBytes(), maxconn: p.maxconn, metrics: stack.monitoring.enabled })
      : undefined;
  return {
    component: planProxy(stack, name, tls, authSecret, volumes, sizing),
    tls,
    proxy: {
      kind: p.kind,
      component: name,
      bind: p.bind,
      httpPort: p.httpPort,
      httpsPort: p.httpsPort,
      statsPort: p.stats.port,
      dashboardHost,
      dashboardAllow: dashboard ? copy(dashboard.allow) : undefined,
      authSecret,
      authUser: 'admin',
      serverHeader: p.kind === 'haproxy' ? { request: 'X-Wharf-Trace', response: 'X-Wharf-Server' } : undefined,
      sizing,
    },
  };
}

/** `routed`: the hosts routes answer on, the names an ACME certificate carries. */
export function planTls(stack: Stack, hosts: string[], routed: string[], addSecret: (s: Secret) => void): Plan['tls'] {
  if (stack.tls.mode === 'acme' && stack.proxy.kind === 'traefik') {
    // Traefik keeps its own resolver; the same ca: means the same CA (its root through LEGO_CA_CERTIFICATES).
    const ca = acmeCa(stack.tls);
    addAcmeRoot(ca, addSecret);
    const caServer = ca.directory === letsEncrypt.production ? undefined : ca.directory;
    return { mode: 'acme' as const, email: stack.tls.email, staging: caServer === letsEncrypt.staging, caServer, hosts };
  }
  // HAProxy with ACME: the self-signed certificate is the default one, served until (and for
  // hosts the ACME certificate does not name) the client has obtained it. It must not name the
  // ACME hosts itself: HAProxy picks by exact SNI name first, and the first certificate loaded wins a tie.
  const ca = stack.tls.mode === 'acme' ? acmeCa(stack.tls) : undefined;
  const domains = ca ? acmeDomains(routed, isPublicCa(ca)) : [];
  const selfSigned = hosts.filter((h) => !domains.includes(h));
  addSecret(
    stack.tls.mode === 'files'
      ? { name: 'edge-tls-key', purpose: 'edge TLS private key', source: { kind: 'file', path: stack.tls.key, specPath: 'tls.key' } }
      : { name: 'edge-tls-key', purpose: 'edge TLS private key (self-signed)', source: { kind: 'tls-key' } },
  );
  addSecret(
    stack.tls.mode === 'files'
      ? { name: 'edge-tls-cert', purpose: 'edge TLS certificate', source: { kind: 'file', path: stack.tls.cert, specPath: 'tls.cert' } }
      : {
          name: 'edge-tls-cert',
          purpose: 'edge TLS certificate (self-signed)',
          source: { kind: 'tls-cert', hosts: selfSigned, key: 'edge-tls-key' },
        },
  );
  if (stack.proxy.kind === 'haproxy') {
    addSecret({
      name: 'edge-tls-pem',
      purpose: 'edge certificate and key for HAProxy',
      source: { kind: 'tls-pem', cert: 'edge-tls-cert', key: 'edge-tls-key' },
    });
  }
  const files = {
    hosts,
    certSecret: 'edge-tls-cert',
    keySecret: 'edge-tls-key',
    pemSecret: stack.proxy.kind === 'haproxy' ? 'edge-tls-pem' : undefined,
  };
  if (stack.tls.mode !== 'acme' || !ca) return { mode: stack.tls.mode, ...files };
  // No host the CA can certify: no client; the self-signed certificate serves (check warns per route).
  if (!domains.length) return { mode: 'acme', email: stack.tls.email, ...files };
  return {
    mode: 'acme',
    email: stack.tls.email,
    ...files,
    acme: {
      component: ACME_COMPONENT,
      directory: ca.directory,
      domains,
      challengePort: ACME_CHALLENGE_PORT,
      certDir: `${acmePaths.certs}/`,
      api: addAcmeApiSecrets(addSecret),
    },
  };
}

export function planProxy(
  stack: Stack,
  name: string,
  tls: Plan['tls'],
  authSecret: string,
  volumes: Volume[],
  sizing: EdgeSizing | undefined,
): Component {
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
    const mounts: Mount[] = [
      { type: 'config', bundle: 'traefik-static', target: '/etc/traefik/traefik.yml', readOnly: true },
      { type: 'config', bundle: 'traefik-dynamic', target: '/etc/traefik/dynamic', readOnly: true },
    ];
    const env: Record<string, string> = {};
    if (tls.mode === 'acme') {
      volumes.push({ name: 'traefik-acme', component: name, purpose: 'ACME account and certificates' });
      mounts.push({ type: 'volume', source: 'traefik-acme', target: '/acme', readOnly: false });
      if (stack.tls.mode === 'acme' && acmeCa(stack.tls).root) {
        secrets.push({ secret: ACME_ROOT_SECRET, target: `/run/secrets/${ACME_ROOT_SECRET}` });
        env.LEGO_CA_CERTIFICATES = `/run/secrets/${ACME_ROOT_SECRET}`;
      }
    }
    return {
      ...componentDefaults(),
      name,
      role: 'proxy',
      engine: 'traefik',
      image: pickImage('traefik', stack.images),
      imageKey: 'traefik',
      env,
      networks,
      ports,
      mounts,
      secrets,
      dependsOn,
      command: ['--configFile=/etc/traefik/traefik.yml'],
      reload: traefikReload(),
      hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: true, addCaps: ['NET_BIND_SERVICE'] },
      healthcheck: health({ kind: 'exec', command: ['traefik', 'healthcheck', '--ping'] }),
      resources: { cpus: 0.5, memory: Size.mebibytes(p.memory ? p.memory.toBytes() : defaultEdgeMemory) },
      metrics: stack.monitoring.enabled ? { job: 'proxy', port: 8082, path: '/metrics' } : undefined,
    };
  }
  const acmeMounts: Mount[] = tls.acme ? [{ type: 'volume', source: ACME_CERTS_VOLUME, target: acmePaths.certs, readOnly: true }] : [];
  // The runtime API the ACME client reaches (mutual TLS): the edge's certificate and the one it trusts.
  if (tls.acme) secrets.push(...[tls.acme.api.certSecret, tls.acme.api.pemSecret].map((s) => ({ secret: s, target: `/run/secrets/${s}` })));
  const command = ['haproxy', '-f', `${haproxyConfigDir}/haproxy.cfg`, '-f', `/run/secrets/${authSecret}`];
  return {
    ...componentDefaults(),
    name,
    role: 'proxy',
    engine: 'haproxy',
    image: pickImage('haproxy', stack.images),
    imageKey: 'haproxy',
    networks,
    ports,
    secrets,
    dependsOn,
    // The directory, not the file: a file replaced by rename is never seen through a file mount.
    mounts: [{ type: 'config', bundle: 'haproxy-config', target: haproxyConfigDir, readOnly: true }, ...acmeMounts],
    // The image's entrypoint adds -W -db (master-worker, foreground) to a command starting with haproxy.
    command,
    reload: haproxyReload(command),
    hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: true, addCaps: ['NET_BIND_SERVICE'] },
    healthcheck: health({ kind: 'tcp', port: p.stats.port, client: 'bash' }),
    resources: { cpus: 0.5, memory: Size.mebibytes(sizing!.memoryBytes) },
    // The exporter has its own unauthenticated port on the monitoring side; the stats page keeps its password.
    metrics: stack.monitoring.enabled ? { job: 'proxy', port: 8405, path: '/metrics' } : undefined,
  };
}

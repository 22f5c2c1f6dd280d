// plan -> haproxy/haproxy.cfg (seed 003, done properly). Pure: no fs, env, clock or
// randomness. The container runs
//   haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg -f /run/secrets/<authSecret>
// where the second file is the generated `userlist` section: credentials never sit in
// the rendered config.
//
// Decisions, in one place:
// - Replicas are discovered through Docker's embedded DNS (`resolvers docker`,
//   127.0.0.11): `server-template <svc> <slots> <svc>:<port>` fills one slot per A record
//   of the name the target gives all replicas (Compose: the service name; Swarm:
//   `tasks.<svc>`, see ../addressing.ts). Slots are
//   max(2 x replicas, replicas + 2): a `--scale` up or a start-first rollout (old and new
//   containers side by side) is picked up within seconds without a reload; unused slots
//   sit in MAINT and take no traffic. `init-addr none` lets HAProxy start (and `haproxy
//   -c` pass) before the names resolve.
// - Where a replica can vanish silently (another node died: see Addressing.silentLoss),
//   connects time out after 1 s and a server is marked down on its first failed
//   connection; `retries` + `redispatch` then send the request to another replica.
// - Routing: host (Host header, port stripped, lower-cased) plus path prefix; one route
//   per request (exact hosts before wildcards, longer paths first, as with Traefik), and
//   only that route's allow-list and auth apply to it.
// - Metrics paths are never routed: the percent-decoded path, in any letter case and
//   after any run of slashes and dot segments, is refused with 404 on every host that
//   declares it (`http-request normalize-uri` would be neater but is experimental in 2.6).
// - The runtime API listens on the container's loopback (haproxyRuntimePort): a rollout
//   sees which slot holds which replica, waits until the new ones are UP and drains the old.
// - The stats page listens on plan.proxy.statsPort behind the userlist; the Prometheus
//   exporter on the proxy component's metrics port (its own frontend, no auth, not
//   published: Prometheus reaches it on the monitoring network). A plan that scrapes the
//   stats port itself gets the exporter there, answered before the auth check.
import type { AcmeEdgeApi, Plan, Route } from '../../plan/model.js';
import { composeAddressing, type Addressing } from '../addressing.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { byCodeUnit } from '../../plan/sort.js';
import { haproxyLogFormat, haproxyWord } from '../../escape/haproxy.js';

export interface HAProxyOptions {
  /** how the target names every replica of a service (compose: the name; swarm: tasks.<name>) */
  addressing?: Addressing;
}

export const haproxyPaths = {
  config: 'haproxy/haproxy.cfg',
  secrets: '/run/secrets',
} as const;

/** The exporter port the plan should give the proxy (its own frontend, apart from stats). */
export const haproxyDefaultMetricsPort = 8405;
export const dockerDns = '127.0.0.11:53';
/** The runtime API, on the container's own loopback: rollouts read server states and drain
 *  old replicas through it (`docker exec`), nothing outside the container reaches it. */
export const haproxyRuntimePort = 19999;

export function renderHAProxy(plan: Plan, opts: HAProxyOptions = {}): RenderedFile[] {
  return [{ path: haproxyPaths.config, contents: haproxyConfig(plan, opts) }];
}

/** The container port the plan publishes a host port to (the plan decides, e.g. 80/443). */
export function containerPort(plan: Plan, hostPort: number, fallback: number): number {
  const proxy = plan.components.find((c) => c.name === plan.proxy.component);
  return proxy?.ports.find((p) => p.host === hostPort)?.container ?? fallback;
}

/** Spare server-template slots for scale-ups and rollouts (see header). */
export function templateSlots(replicas: number): number {
  return Math.max(2 * replicas, replicas + 2);
}

/** The port the exporter answers on: the plan's proxy metrics port. */
export function haproxyMetricsPort(plan: Plan): number | undefined {
  const proxy = plan.components.find((c) => c.name === plan.proxy.component);
  return proxy?.metrics?.port;
}

/** Name of the userlist section the auth secret defines. */
export function userlistName(plan: Plan): string {
  const s = plan.secrets.find((x) => x.name === plan.proxy.authSecret);
  const list = s?.source.kind === 'haproxy-userlist' ? s.source.list : 'admins';
  // It sits inside http_auth(...), where quoting does not reach: an identifier or a bug.
  if (!/^[A-Za-z0-9_.-]+$/.test(list)) throw new Error(`bug: userlist name ${JSON.stringify(list)} is not an identifier`);
  return list;
}

/** A config word: bare when safe, else double-quoted with HAProxy's escapes (src/escape/haproxy.ts). */
export const word = haproxyWord;

function id(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Section {
  head: string;
  lines: string[];
}

function section(head: string, lines: Array<string | false | undefined>): Section {
  return { head, lines: lines.filter((l): l is string => typeof l === 'string') };
}

function format(sections: Section[]): string {
  const header = generatedHeader
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n');
  return `${header}\n${sections.map((s) => [s.head, ...s.lines.map((l) => (l === '' ? '' : `    ${l}`))].join('\n')).join('\n\n')}\n`;
}

const hsts = 'max-age=31536000; includeSubDomains';
/** TLS 1.2 ciphers: ECDHE with AEAD only (TLS 1.3 has its own list, ssl-default-bind-ciphersuites). */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function haproxyConfig(plan: Plan, opts: HAProxyOptions = {}): string {
  const addressing = opts.addressing ?? composeAddressing;
  if (!plan.tls.pemSecret) throw new Error('bug: the HAProxy edge needs its default certificate file (plan/build/edge.ts)');
  const acme = plan.tls.acme;
  const users = userlistName(plan);
  const metricsPort = haproxyMetricsPort(plan);
  const statsPort = plan.proxy.statsPort;
  const routes = plan.routes;

  const size = plan.proxy.sizing;
  if (!size) throw new Error('bug: the HAProxy edge needs plan.proxy.sizing (plan/edge.ts)');
  const sections: Section[] = [];
  sections.push(
    section('global', [
      'log stdout format raw local0 info',
      // Sized with the container's memory limit (plan/edge.ts): connections alone cannot reach it.
      `maxconn ${size.maxconn}`,
      `tune.bufsize ${size.bufsize}`,
      `tune.maxrewrite ${size.maxrewrite}`,
      `tune.buffers.limit ${size.buffers}`,
      // A reload leaves at most one old worker finishing its connections, for at most hard-stop-after.
      `mworker-max-reloads ${size.workers - 1}`,
      `hard-stop-after ${size.hardStopAfter}s`,
      `stats socket ipv4@127.0.0.1:${haproxyRuntimePort} level admin`,
      'ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets',
      `ssl-default-bind-ciphers ${TLS12_CIPHERS}`,
      'ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    ]),
  );
  sections.push(
    section('defaults', [
      'mode http',
      'log global',
      'option httplog',
      'option dontlognull',
      'option forwardfor',
      // A replica that refuses the connection or drops it without answering is retried
      // on another one: a dying container costs no failed request. So is a 503 from a
      // replica that is shutting down (Swarm stops an old task while this edge may still
      // send to it): only for requests safe to repeat, see disable-l7-retry below.
      'option redispatch 1',
      'retries 3',
      'retry-on conn-failure empty-response 503',
      // A client that gave up (a reconnect storm) frees its request at once instead of
      // holding buffers and a server connection until the server answers.
      'option abortonclose',
      // Across nodes a dead node's tasks drop SYNs: give up on them quickly and try another.
      addressing.silentLoss ? 'timeout connect 1s' : 'timeout connect 5s',
      'timeout client 30s',
      'timeout server 30s',
      'timeout http-request 10s',
      'timeout http-keep-alive 10s',
      'timeout queue 30s',
      'timeout check 5s',
      addressing.silentLoss
        ? 'default-server inter 2s fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down'
        : 'default-server inter 5s fall 3 rise 2',
    ]),
  );
  sections.push(
    section('resolvers docker', [
      `nameserver docker ${dockerDns}`,
      'accepted_payload_size 8192',
      'resolve_retries 3',
      'timeout resolve 1s',
      'timeout retry 1s',
      'hold valid 5s',
      'hold other 10s',
      'hold refused 10s',
      'hold nx 5s',
      'hold timeout 10s',
      'hold obsolete 5s',
    ]),
  );

  // HTTP: redirect to the published HTTPS port, nothing else.
  const httpsSuffix = plan.proxy.httpsPort === 443 ? '' : `:${plan.proxy.httpsPort}`;
  sections.push(
    section('frontend http', [
      `bind :${containerPort(plan, plan.proxy.httpPort, 80)}`,
      `maxconn ${size.frontends.http}`,
      'http-request deny deny_status 400 unless { req.hdr(host) -m found }',
      // HTTP-01 challenges go to the ACME client, never to an application nor to the redirect.
      acme && 'acl acme_challenge path_beg /.well-known/acme-challenge/',
      `http-request redirect location https://%[req.hdr(host),field(1,:),lower]${httpsSuffix}%[capture.req.uri] code 301` +
        (acme ? ' unless acme_challenge' : ''),
      acme && 'use_backend be_acme if acme_challenge',
    ]),
  );

  // HTTPS: routing, refusals, auth, headers.
  const https: Array<string | false> = [
    // With ACME, the issued certificate (a file of acme.certDir, taken by SNI) joins the default one.
    `bind :${containerPort(plan, plan.proxy.httpsPort, 443)} ssl crt ${word(`${haproxyPaths.secrets}/${plan.tls.pemSecret}`)}` +
      (acme ? ` crt ${word(acme.certDir)}` : '') +
      ' alpn h2,http/1.1',
    `maxconn ${size.frontends.https}`,
    'http-request set-var(txn.host) req.hdr(host),field(1,:),lower',
    // Clients do not get to say who they are or how they came in.
    'http-request del-header X-Forwarded-For',
    'http-request set-header X-Forwarded-Proto https',
    'http-request set-header X-Forwarded-Port %[dst_port]',
    // Like nginx's proxy_next_upstream: a request that may have changed something is never
    // sent twice; only a refused or dropped connection retries it.
    'http-request disable-l7-retry unless METH_GET || METH_OPTIONS',
    // `wharf loadtest` asks which replica answered: the server name (web1, web2...) is all it learns.
    ...(plan.proxy.serverHeader
      ? [
          `http-request set-var(txn.trace) bool(true) if { req.hdr(${haproxyWord(plan.proxy.serverHeader.request)}) -m found }`,
          `http-request del-header ${haproxyWord(plan.proxy.serverHeader.request)}`,
        ]
      : []),
    `acl auth_ok http_auth(${users})`,
  ];
  // Like Traefik's router selection: each request takes exactly one route (exact hosts
  // before wildcards, longer paths first), recorded in txn.route; that route's
  // allow-list, auth and backend then apply. Metrics are refused on the whole host.
  const ordered = routePrecedence(routes);
  // ACL names come from route names: two routes sharing one would merge their conditions.
  const ids = new Set(ordered.map((r) => id(r.name)));
  if (ids.size !== ordered.length) throw new Error('bug: two route names map to the same HAProxy ACL name');
  for (const r of ordered) {
    const n = id(r.name);
    https.push('', `# route ${word(r.name)}: ${word(`${r.host}${r.path}`)} -> ${word(`${r.service}:${r.port}`)}`);
    https.push(
      r.host.startsWith('*.')
        ? `acl host_${n} var(txn.host) -m reg ${word(`^[a-z0-9-]+\\.${escapeRegExp(r.host.slice(2))}$`)}`
        : `acl host_${n} var(txn.host) -m str ${word(r.host)}`,
    );
    const cond = [`host_${n}`];
    if (r.path !== '/') {
      const p = r.path.replace(/\/+$/, '');
      https.push(`acl path_${n} path ${word(p)}`, `acl path_${n} path_beg ${word(`${p}/`)}`);
      cond.push(`path_${n}`);
    }
    https.push(`http-request set-var(txn.route) str(${n}) if !{ var(txn.route) -m found } ${cond.join(' ')}`);
    if (r.denyPaths.length) {
      // Decoded, any case, after any run of slashes and dot segments: `/metrics`,
      // `//metrics`, `/./Metrics/` and `/%6detrics` are all refused.
      const re = r.denyPaths.map((p) => escapeRegExp(p.replace(/^\/+|\/+$/g, ''))).join('|');
      https.push(`acl deny_${n} path,url_dec -m reg -i ${word(`^[/.]*/(${re})(/|$)`)}`);
      https.push(`http-request deny deny_status 404 if host_${n} deny_${n}`);
    }
  }
  https.push('');
  for (const r of ordered) {
    const n = id(r.name);
    https.push(`acl route_${n} var(txn.route) -m str ${n}`);
    if (r.allow?.length) {
      https.push(`acl allow_${n} src ${r.allow.map(word).join(' ')}`);
      https.push(`http-request deny deny_status 403 if route_${n} !allow_${n}`);
    }
    if (r.auth) https.push(`http-request auth realm ${word(plan.name)} if route_${n} !auth_ok`);
  }
  https.push('');
  for (const r of ordered) https.push(`use_backend ${backendName(plan, r)} if route_${id(r.name)}`);
  https.push(
    'default_backend no_route',
    `http-response set-header Strict-Transport-Security ${haproxyLogFormat(hsts)}`,
    'http-response set-header X-Content-Type-Options nosniff',
    'http-response set-header X-Frame-Options DENY',
    'http-response set-header Referrer-Policy strict-origin-when-cross-origin',
    'http-response del-header X-Powered-By',
    ...(plan.proxy.serverHeader
      ? [`http-response set-header ${haproxyWord(plan.proxy.serverHeader.response)} %s if { var(txn.trace) -m bool }`]
      : []),
  );
  sections.push(section('frontend https', https));

  // Stats page, on its own port, always behind the userlist.
  sections.push(
    section('frontend stats', [
      `bind :${statsPort}`,
      `maxconn ${size.frontends.stats}`,
      // Old plans scraped the stats port: the exporter answers there too, before auth.
      metricsPort === statsPort && 'http-request use-service prometheus-exporter if { path /metrics }',
      `acl auth_ok http_auth(${users})`,
      `http-request auth realm ${word(`${plan.name} stats`)} unless auth_ok`,
      'stats enable',
      'stats uri /',
      'stats refresh 10s',
      'stats show-legends',
    ]),
  );
  if (metricsPort !== undefined && metricsPort !== statsPort) {
    sections.push(
      section('frontend metrics', [
        `bind :${metricsPort}`,
        `maxconn ${size.frontends.metrics}`,
        // Scrapes are not worth a log line each; `no log` would make httplog warn.
        'http-request set-log-level silent',
        'http-request use-service prometheus-exporter if { path /metrics }',
        'http-request deny deny_status 404',
      ]),
    );
  }

  const seen = new Set<string>();
  for (const r of ordered) {
    const be = backendName(plan, r);
    if (seen.has(be)) continue;
    seen.add(be);
    if (r.service === plan.proxy.component) {
      sections.push(section(`backend ${be}`, ['stats enable', 'stats uri /', 'stats refresh 10s', 'stats show-legends']));
      continue;
    }
    const hp = r.healthPath;
    sections.push(
      section(`backend ${be}`, [
        'balance roundrobin',
        // health.tcp: a plain `check` is a TCP connect
        ...(r.healthTcp
          ? []
          : [
              'option httpchk',
              `http-check send meth GET uri ${word(hp ?? '/')} ver HTTP/1.1 hdr Host ${haproxyLogFormat(r.host.replace(/^\*\./, 'health.'))}`,
              // An explicit health path must say 200; without one, `/` answering 2xx/3xx will do.
              hp ? 'http-check expect status 200' : 'http-check expect rstatus ^[23]',
            ]),
        `server-template ${id(r.service)} ${templateSlots(r.replicas)} ${word(`${addressing.replicas(r.service)}:${r.port}`)}` +
          ' check resolvers docker resolve-prefer ipv4 init-addr none',
      ]),
    );
  }
  if (acme) {
    // lego listens only while it validates: no health check, a refused connection is a failed challenge.
    const target = word(`${addressing.replicas(acme.component)}:${acme.challengePort}`);
    sections.push(section('backend be_acme', [`server acme ${target} resolvers docker resolve-prefer ipv4 init-addr none`]));
  }
  sections.push(section('backend no_route', ['http-request deny deny_status 404']));
  if (acme) sections.push(...edgeApiSections(acme.api));
  return format(sections);
}

/**
 * The runtime API for the ACME client on the edge network (every replica, every node): TCP
 * to the loopback API, behind mutual TLS with the one certificate only the edge and the client
 * hold. Last, with TCP defaults of its own (the HTTP ones above would only earn warnings).
 */
function edgeApiSections(api: AcmeEdgeApi): Section[] {
  const secret = (name: string) => word(`${haproxyPaths.secrets}/${name}`);
  return [
    section('defaults edge_api', [
      'mode tcp',
      'log global',
      'option tcplog',
      'timeout connect 2s',
      'timeout client 30s',
      'timeout server 30s',
    ]),
    section('frontend edge_api', [
      `bind :${api.port} ssl crt ${secret(api.pemSecret)} ca-file ${secret(api.certSecret)} verify required`,
      'maxconn 10', // one client, a few connections a minute
      'default_backend be_edge_api',
    ]),
    section('backend be_edge_api', [`server api 127.0.0.1:${haproxyRuntimePort}`]),
  ];
}

/** The order routes are tried in: exact hosts before wildcards, longer paths first. */
export function routePrecedence(routes: Route[]): Route[] {
  const wild = (r: Route) => (r.host.startsWith('*.') ? 1 : 0);
  return [...routes].sort((a, b) => wild(a) - wild(b) || b.path.length - a.path.length || byCodeUnit(a.name, b.name));
}

function backendName(plan: Plan, r: Route): string {
  return r.service === plan.proxy.component ? 'be_stats' : `be_${id(r.service)}_${r.port}`;
}

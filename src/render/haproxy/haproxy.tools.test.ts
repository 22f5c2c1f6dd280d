// The rendered haproxy.cfg is checked by the real HAProxy (`haproxy -c`) for every
// template, and run for real: HAProxy on loopback ports, replicas on 127.0.0.2-4
// discovered through a tiny DNS server standing in for Docker's 127.0.0.11, a test
// certificate and userlist made with openssl. Only the test copy is rewritten (ports,
// DNS address, secret paths); the renderer stays pure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Plan } from '../../plan/model.js';
import { loadVariant, templateNames } from '../../../test/support/templates.js';
import { propertyParams } from '../../../test/support/property.js';
import { haproxyConfig, haproxyDefaultMetricsPort, haproxyMetricsPort, renderHAProxy, templateSlots, userlistName, word } from './index.js';

type Doc = Record<string, any>;
const asHAProxy = (d: Doc) => { d.proxy = { ...(d.proxy ?? {}), kind: 'haproxy' }; };
const asTraefik = (d: Doc) => { d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' }; };
const featureful = (d: Doc) => {
  asHAProxy(d);
  d.proxy = { ...d.proxy, httpPort: 8080, httpsPort: 8443, dashboard: { allow: ['10.0.0.0/8'] } };
  d.services.api.routes = [
    { host: 'api.shop.localhost' },
    { host: 'api.shop.localhost', path: '/admin', auth: true, allow: ['192.168.0.0/16', '10.0.0.0/8'] },
    { host: '*.apps.shop.localhost' },
  ];
};
const variants = [
  ...templateNames.map((t) => ({ id: `${t}/haproxy`, template: t, change: asHAProxy })),
  { id: 'api/haproxy+features', template: 'api', change: featureful },
  // a TCP connect from the edge for an image with nothing to probe with
  { id: 'api/haproxy+edge-tcp-health', template: 'api', change: (d: Doc) => { asHAProxy(d); d.services.api.health = { tcp: true, from: 'edge' }; } },
];

const haproxyOk = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
const opensslOk = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
function skipReason(): string | undefined {
  const missing = [!haproxyOk && 'haproxy', !opensslOk && 'openssl'].filter(Boolean).join(', ');
  if (!missing) return undefined;
  if (process.env.CI === 'true') throw new Error(`${missing} required in CI`);
  return `${missing} not installed`;
}

const work = mkdtempSync(join(tmpdir(), 'wharf-haproxy-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const testPassword = 'edge-test-only';
let material: { pem: string; userlist: (list: string) => string } | undefined;
function testMaterial() {
  if (material) return material;
  const key = join(work, 'key.pem');
  const cert = join(work, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=wharf-test', '-addext', 'subjectAltName=DNS:*.localhost'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const pem = join(work, 'edge-tls-pem');
  const cat = spawnSync('sh', ['-c', `cat "${cert}" "${key}" > "${pem}"`]);
  assert.equal(cat.status, 0);
  const hash = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: testPassword, encoding: 'utf8' });
  assert.equal(hash.status, 0, hash.stderr);
  material = {
    pem,
    userlist: (list) => {
      const f = join(work, `userlist-${list}`);
      writeFileSync(f, `userlist ${list}\n  user admin password ${hash.stdout.trim()}\n`);
      return f;
    },
  };
  return material;
}

/** The test copy: secret paths to the temp files, optionally ports and DNS rewritten. */
function testCopy(cfg: string, plan: Plan, ports?: Map<number, number>, dns?: string): string {
  let out = cfg.replaceAll(`/run/secrets/${plan.tls.pemSecret}`, testMaterial().pem);
  if (ports) out = out.replace(/^(\s+bind) :(\d+)/gm, (_, b: string, p: string) => `${b} 127.0.0.1:${ports.get(Number(p)) ?? assert.fail(`no port for ${p}`)}`);
  if (dns) out = out.replace('nameserver docker 127.0.0.11:53', `nameserver docker ${dns}`);
  return out;
}

/** The plan with the proxy's scrape port changed (the exporter follows the plan). */
function withMetricsPort(plan: Plan, port: number): Plan {
  return { ...plan, components: plan.components.map((c) => (c.name === plan.proxy.component && c.metrics ? { ...c, metrics: { ...c.metrics, port } } : c)) };
}

function check(cfg: string, plan: Plan, name: string) {
  const f = join(work, `${name.replace(/\W/g, '_')}.cfg`);
  writeFileSync(f, testCopy(cfg, plan));
  return spawnSync('haproxy', ['-c', '-f', f, '-f', testMaterial().userlist(userlistName(plan))], { encoding: 'utf8' });
}

for (const v of variants) {
  test(`haproxy ${v.id}: haproxy -c accepts the rendered config with the userlist secret, no warnings`, { skip: skipReason() }, () => {
    const { plan } = loadVariant(v);
    const files = renderHAProxy(plan);
    assert.deepEqual(files.map((f) => f.path), ['haproxy/haproxy.cfg']);
    const r = check(files[0]!.contents, plan, v.id);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
    assert.doesNotMatch(r.stdout + r.stderr, /\[WARNING\]|\[ALERT\]/);
  });
}

test('haproxy: the exporter gets its own unauthenticated frontend, or shares the stats port when the plan scrapes that', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const own = haproxyConfig(withMetricsPort(plan, haproxyDefaultMetricsPort));
  assert.match(own, /^frontend metrics\n {4}bind :8405\n {4}maxconn \d+\n(?: {4}#.*\n)? {4}http-request set-log-level silent\n {4}http-request use-service prometheus-exporter if \{ path \/metrics \}\n/m);
  assert.doesNotMatch(own.split('frontend stats')[1]!.split('\n\n')[0]!, /prometheus-exporter/);
  const shared = haproxyConfig(withMetricsPort(plan, plan.proxy.statsPort));
  assert.doesNotMatch(shared, /^frontend metrics/m);
  assert.match(shared.split('frontend stats')[1]!.split('\n\n')[0]!, /use-service prometheus-exporter/);
  for (const [n, cfg] of [['own', own], ['shared', shared]] as const) {
    const r = check(cfg, plan, `metrics-${n}`);
    assert.equal(r.status, 0, r.stderr);
  }
});

test('haproxy: hostile paths, hosts and names stay one word each; haproxy -c still passes', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const evil = ['/health\nbackend evil\n    server x 1.2.3.4:80', '/h;touch${IFS}/tmp/x;', '/?a=1&b=2', '/a"b\'c`d', '/x#comment', '/$HOME\\', '/ü 😀\r\t', '/%', '/%[src]%'];
  const r0 = plan.routes.find((r) => r.service !== plan.proxy.component)!;
  evil.forEach((e, i) => {
    const p = {
      ...plan,
      name: `shop${e}`,
      routes: plan.routes.map((r) => (r === r0 ? { ...r, healthPath: e, host: `api${e}`, denyPaths: [...r.denyPaths, e] } : r)),
    };
    const cfg = haproxyConfig(p);
    const sameShape = haproxyConfig({ ...p, name: 'shopx', routes: plan.routes.map((r) => (r === r0 ? { ...r, healthPath: '/x', host: 'apix', denyPaths: [...r.denyPaths, '/x'] } : r)) });
    assert.equal(cfg.split('\n').length, sameShape.split('\n').length, `line count with ${JSON.stringify(e)}`);
    assert.doesNotMatch(cfg, /^backend evil/m);
    const r = check(cfg, p, `hostile-${i}`);
    assert.equal(r.status, 0, `${JSON.stringify(e)}: ${r.stdout}\n${r.stderr}`);
  });
});

test('haproxy: any string as health path, host, path or stack name keeps the line count and passes haproxy -c', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const r0 = plan.routes.find((r) => r.service !== plan.proxy.component)!;
  const piece = fc.constantFrom('\n', '\r', '"', "'", '`', '$', '${X}', ';', '\\', '#', ' ', '&', '\t', '%[src]', '%', '{', '}', 'ü', '😀', '\x7f', 'a', '/');
  const hostile = fc.oneof(fc.array(piece, { minLength: 1, maxLength: 10 }).map((xs) => xs.join('')), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }));
  const withValue = (v: string): Plan => ({
    ...plan,
    name: `shop${v}`,
    routes: plan.routes.map((r) => (r === r0 ? { ...r, healthPath: `/${v}`, host: `api${v}`, path: `/p${v}`, denyPaths: [...r.denyPaths, `/m${v}`] } : r)),
  });
  let n = 0;
  fc.assert(fc.property(hostile, (v) => {
    if (v.includes('\0')) return;
    const cfg = haproxyConfig(withValue(v));
    assert.equal(cfg.split('\n').length, haproxyConfig(withValue('x')).split('\n').length, `line count with ${JSON.stringify(v)}`);
    const r = check(cfg, withValue(v), `prop-${n++}`);
    assert.equal(r.status, 0, `${JSON.stringify(v)}: ${r.stdout}\n${r.stderr}`);
  }), propertyParams(40));
});

test('haproxy -c has teeth: a broken reference fails', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const cfg = haproxyConfig(plan).replace('http_auth(admins)', 'http_auth(nobody)');
  const r = check(cfg, plan, 'broken');
  assert.notEqual(r.status, 0);
});

test('haproxy: the config matches the plan — one backend per routed service, DNS-discovered replicas with spare slots, health checks', () => {
  for (const v of variants) {
    const { plan } = loadVariant(v);
    const cfg = haproxyConfig(plan);
    assert.match(cfg, /^resolvers docker\n {4}nameserver docker 127\.0\.0\.11:53$/m);
    assert.match(cfg, /^frontend http\n {4}bind :80$/m);
    assert.match(cfg, new RegExp(`^ {4}bind :443 ssl crt /run/secrets/${plan.tls.pemSecret} alpn h2,http/1.1$`, 'm'));
    assert.match(cfg, /^ {4}http-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"$/m);
    assert.doesNotMatch(cfg, /^\s*(daemon|user|group|chroot)\b/m, 'runs in the foreground as the image user');
    for (const r of plan.routes) {
      if (r.service === plan.proxy.component) {
        assert.match(cfg, /^backend be_stats\n {4}stats enable/m);
        continue;
      }
      const be = new RegExp(`^backend be_${r.service}_${r.port}\\n((?: {4}.*\\n)+)`, 'm').exec(cfg);
      assert.ok(be, `backend for ${r.name}`);
      const body = be[1]!;
      assert.match(body, /balance roundrobin/);
      if (r.healthTcp) {
        assert.doesNotMatch(body, /httpchk|http-check/, 'health.tcp: a bare connect');
      } else {
        assert.match(body, /option httpchk/);
        assert.ok(body.includes(`http-check send meth GET uri ${r.healthPath ?? '/'} ver HTTP/1.1`), body);
        assert.ok(body.includes(r.healthPath ? 'http-check expect status 200' : 'http-check expect rstatus ^[23]'), body);
      }
      assert.ok(body.includes(`server-template ${r.service} ${templateSlots(r.replicas)} ${r.service}:${r.port} check resolvers docker resolve-prefer ipv4 init-addr none`), body);
      if (r.denyPaths.length) assert.match(cfg, new RegExp(`http-request deny deny_status 404 if host_${r.name.replace(/-/g, '\\-')} deny_`));
    }
    // Stats behind auth on the plan's stats port; the exporter where the plan scrapes it.
    const stats = /^frontend stats\n((?: {4}.*\n)+)/m.exec(cfg)![1]!;
    assert.ok(stats.includes(`bind :${plan.proxy.statsPort}`));
    assert.match(stats, /http-request auth realm .* unless auth_ok/);
    const mp = haproxyMetricsPort(plan);
    if (mp === undefined) assert.doesNotMatch(cfg, /prometheus-exporter/);
    else if (mp === plan.proxy.statsPort) assert.match(stats, /use-service prometheus-exporter if \{ path \/metrics \}/);
    else assert.match(cfg, new RegExp(`^frontend metrics\\n {4}bind :${mp}\\n`, 'm'));
  }
  assert.equal(templateSlots(1), 3);
  assert.equal(templateSlots(3), 6);
});

test('haproxy: the proxy component runs this file plus the userlist secret, exactly as the test checks it', () => {
  for (const v of variants) {
    const { plan } = loadVariant(v);
    const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
    // Its directory, not the file: a file replaced by rename stays unseen through a file mount.
    const mount = proxy.mounts.find((m) => m.source === 'haproxy');
    assert.ok(mount, 'the haproxy directory is mounted');
    // The image entrypoint adds -W -db to a command that starts with haproxy.
    assert.deepEqual(proxy.command, ['haproxy', '-f', `${mount.target}/haproxy.cfg`, '-f', `/run/secrets/${plan.proxy.authSecret}`]);
    // A reload checks exactly what the master will load.
    assert.deepEqual(proxy.reload, { sources: ['haproxy'], mode: 'signal', signal: 'SIGUSR2', check: ['haproxy', '-c', '-q', ...proxy.command!.slice(1)] });
    const mounted = new Set(proxy.secrets.map((s) => s.target));
    for (const m of haproxyConfig(plan).matchAll(/\/run\/secrets\/[a-z0-9-]+/g)) assert.ok(mounted.has(m[0]), `${m[0]} is not mounted`);
    assert.ok(mounted.has(`/run/secrets/${plan.proxy.authSecret}`));
    const ul = plan.secrets.find((s) => s.name === plan.proxy.authSecret)!;
    assert.equal(ul.source.kind, 'haproxy-userlist');
    assert.match(haproxyConfig(plan), new RegExp(`http_auth\\(${userlistName(plan)}\\)`));
    // Nothing the edge serves internally is published beyond what the plan says.
    const mp = haproxyMetricsPort(plan);
    if (mp !== undefined && mp !== plan.proxy.statsPort) assert.ok(!proxy.ports.some((p) => p.container === mp), 'metrics port published');
    assert.doesNotMatch(haproxyConfig(plan), /password|BEGIN [A-Z ]*PRIVATE KEY/i, 'no secret values in the config');
  }
});

test('haproxy: binds follow the container ports the plan publishes', () => {
  const { plan } = loadVariant(variants[0]!);
  const moved: Plan = { ...plan, components: plan.components.map((c) => (c.name !== plan.proxy.component ? c : {
    ...c, ports: c.ports.map((p) => (p.container === 80 ? { ...p, container: 8080 } : p.container === 443 ? { ...p, container: 8443 } : p)),
  })) };
  const cfg = haproxyConfig(moved);
  assert.match(cfg, /^frontend http\n {4}bind :8080$/m);
  assert.match(cfg, /^ {4}bind :8443 ssl crt /m);
  assert.match(cfg, /redirect location https:\/\/%\[req\.hdr\(host\),field\(1,:\),lower\]%\[capture\.req\.uri\] code 301/, 'published HTTPS port is still 443');
});

test('haproxy: quoting keeps config words intact', () => {
  assert.equal(word('/health'), '/health');
  assert.equal(word('a b'), '"a b"');
  assert.equal(word("it's $HOME"), '"it\'s \\$HOME"');
  assert.equal(word('/health\nbackend evil'), '"/health\\x0abackend evil"');
  assert.equal(word('a#b"c\\d'), '"a\\#b\\"c\\\\d"');
});

test('haproxy: ACME is Traefik-only — a plan that asks for it is a bug the spec rules must catch', () => {
  const { plan } = loadVariant({ template: 'api', change: asTraefik });
  assert.throws(() => haproxyConfig({ ...plan, proxy: { ...plan.proxy, kind: 'haproxy' }, tls: { mode: 'acme', email: 'a@b.c', hosts: [] } }), /ACME is Traefik-only/);
});

// ---------------------------------------------------------------- live run

/** A minimal authoritative DNS server: A records for the given names, NXDOMAIN otherwise. */
function startDns(records: Record<string, string[]>): Promise<{ socket: Socket; port: number; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) { const len = msg[off]!; labels.push(msg.subarray(off + 1, off + 1 + len).toString()); off += len + 1; }
    const qEnd = off + 5; // zero byte, qtype, qclass
    const qtype = msg.readUInt16BE(off + 1);
    const name = labels.join('.').toLowerCase();
    queries.push(`${name}/${qtype}`);
    const ips = records[name];
    const answers = qtype === 1 && ips ? ips : [];
    const head = Buffer.alloc(12);
    head.writeUInt16BE(msg.readUInt16BE(0), 0);
    head.writeUInt16BE(0x8180 | (ips ? 0 : 3), 2); // response, recursion desired+available, NOERROR/NXDOMAIN
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(1, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(1, 6); rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      return rr;
    });
    socket.send(Buffer.concat([head, msg.subarray(12, qEnd), ...rrs]), rinfo.port, rinfo.address);
  });
  return new Promise((res) => socket.bind(0, '127.0.0.1', () => res({ socket, port: socket.address().port, queries })));
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

function replica(host: string, port: number, instance: string): Promise<Server> {
  const s = createHttpServer((req, res) => {
    res.setHeader('X-Instance', instance);
    res.setHeader('X-Powered-By', 'Express');
    if (req.url === '/health') { res.end('ok'); return; }
    res.end(`${instance} ${req.url} xff=${req.headers['x-forwarded-for'] ?? ''} proto=${req.headers['x-forwarded-proto'] ?? ''}`);
  });
  return new Promise((res, rej) => { s.once('error', rej); s.listen(port, host, () => res(s)); });
}

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: string }
function get(url: string, host: string, headers: Record<string, string> = {}): Promise<Res> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({
    hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', agent: false,
    headers: { Host: host, ...headers }, rejectUnauthorized: false, servername: host.split(':')[0],
  } as never);
  return new Promise((res, rej) => {
    req.on('response', (r) => { let body = ''; r.setEncoding('utf8'); r.on('data', (c) => { body += c; }); r.on('end', () => res({ status: r.statusCode!, headers: r.headers, body })); });
    req.on('error', rej);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout ${url}`)));
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try { const v = await fn(); if (v !== undefined) return v; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function canBind(host: string): Promise<boolean> {
  return new Promise((res) => {
    const s = createNetServer();
    s.once('error', () => res(false));
    s.listen(0, host, () => s.close(() => res(true)));
  });
}

test('haproxy live: TLS edge round-robins over DNS-discovered replicas, refuses metrics, enforces auth and allow-lists, serves stats and Prometheus', { skip: skipReason(), timeout: 60000 }, async (t) => {
  if (!(await canBind('127.0.0.2'))) {
    if (process.env.CI === 'true') assert.fail('127.0.0.2 is not bindable');
    t.skip('127.0.0.2 not bindable (no 127.0.0.0/8 on lo)');
    return;
  }
  const appPort = await freePort();
  const loaded = loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      d.services.web.port = appPort;
      d.services.admin = { image: 'example/admin:1.0', port: appPort, routes: [{ host: 'admin.cloud.localhost', auth: true }, { host: 'app.cloud.localhost', path: '/admin', auth: true }] };
      d.services.intranet = { image: 'example/intranet:1.0', port: appPort, routes: [{ host: '*.intra.cloud.localhost', allow: ['10.0.0.0/8'] }] };
    },
  });
  // Live, the exporter runs where it is meant to: its own port, apart from the stats page.
  const plan = withMetricsPort(loaded.plan, haproxyDefaultMetricsPort);
  const web = plan.routes.find((r) => r.service === 'web')!;
  assert.equal(web.replicas, 3);
  assert.deepEqual(web.denyPaths, ['/metrics']);

  const servers = await Promise.all([
    replica('127.0.0.2', appPort, 'web-1'), replica('127.0.0.3', appPort, 'web-2'), replica('127.0.0.4', appPort, 'web-3'),
    replica('127.0.0.5', appPort, 'admin-1'), replica('127.0.0.6', appPort, 'intranet-1'),
  ]);
  t.after(() => { for (const s of servers) s.close(); });
  const dns = await startDns({ web: ['127.0.0.2', '127.0.0.3', '127.0.0.4'], admin: ['127.0.0.5'], intranet: ['127.0.0.6'] });
  t.after(() => dns.socket.close());

  const metricsPort = haproxyMetricsPort(plan);
  const ports = new Map<number, number>();
  for (const p of [80, 443, plan.proxy.statsPort, ...(metricsPort ? [metricsPort] : [])]) if (!ports.has(p)) ports.set(p, await freePort());
  const cfgFile = join(work, 'live.cfg');
  writeFileSync(cfgFile, testCopy(haproxyConfig(plan), plan, ports, `127.0.0.1:${dns.port}`));
  let logs = '';
  const hp = spawn('haproxy', ['-W', '-db', '-f', cfgFile, '-f', testMaterial().userlist(userlistName(plan))], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(hp);
  hp.stdout!.on('data', (c) => { logs += c; });
  hp.stderr!.on('data', (c) => { logs += c; });
  t.after(() => { if (hp.exitCode === null) hp.kill('SIGTERM'); });

  const https = `https://127.0.0.1:${ports.get(443)}`;
  const basic = { Authorization: `Basic ${Buffer.from(`admin:${testPassword}`).toString('base64')}` };

  // All three replicas come into rotation through DNS, then requests go round-robin.
  await until('3 replicas in rotation', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(String((await get(`${https}/`, 'app.cloud.localhost')).headers['x-instance']));
    return seen.size === 3 ? seen : undefined;
  });
  const counts: Record<string, number> = {};
  const started = process.hrtime.bigint();
  for (let i = 0; i < 30; i++) {
    const r = await get(`${https}/`, 'app.cloud.localhost:443');
    assert.equal(r.status, 200);
    const inst = String(r.headers['x-instance']);
    counts[inst] = (counts[inst] ?? 0) + 1;
  }
  const perRequestMs = Number(process.hrtime.bigint() - started) / 1e6 / 30;
  t.diagnostic(`round-robin over 30 requests: ${JSON.stringify(counts)}; ${perRequestMs.toFixed(1)} ms per new TLS connection + request`);
  assert.deepEqual(Object.values(counts).sort(), [10, 10, 10]);

  const r = await get(`${https}/x`, 'APP.cloud.localhost');
  assert.equal(r.status, 200, 'host match is case-insensitive');
  assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['x-powered-by'], undefined);
  assert.ok(r.headers['x-instance'], 'X-Instance passes through');
  assert.match(r.body, /xff=127\.0\.0\.1 proto=https$/);
  const spoofed = await get(`${https}/`, 'app.cloud.localhost', { 'X-Forwarded-For': '6.6.6.6' });
  assert.match(spoofed.body, /xff=127\.0\.0\.1 /, 'client-sent X-Forwarded-For is dropped');

  // Metrics are never routed, however the path is spelled.
  for (const p of ['/metrics', '/metrics/', '/METRICS', '//metrics', '/./metrics', '/%6detrics', '/metrics?x=1']) {
    assert.equal((await get(`${https}${p}`, 'app.cloud.localhost')).status, 404, p);
  }
  assert.equal((await get(`${https}/metricsx`, 'app.cloud.localhost')).status, 200, 'only the metrics path itself is refused');

  // Auth and allow-lists; unknown hosts get nothing.
  assert.equal((await get(`${https}/`, 'admin.cloud.localhost')).status, 401);
  assert.equal((await get(`${https}/`, 'admin.cloud.localhost', { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` })).status, 401);
  const admin = await get(`${https}/`, 'admin.cloud.localhost', basic);
  assert.equal(admin.status, 200);
  assert.equal(admin.headers['x-instance'], 'admin-1');
  assert.equal((await get(`${https}/`, 'a.intra.cloud.localhost')).status, 403, 'loopback is outside 10.0.0.0/8');
  for (const h of ['nope.cloud.localhost', 'intra.cloud.localhost', 'a.b.intra.cloud.localhost']) assert.equal((await get(`${https}/`, h)).status, 404, h);

  // One route per request: the longer path takes it, with its own auth; its neighbours do not.
  assert.equal((await get(`${https}/admin`, 'app.cloud.localhost')).status, 401);
  assert.equal((await get(`${https}/admin/x`, 'app.cloud.localhost', basic)).headers['x-instance'], 'admin-1');
  const sibling = await get(`${https}/administrator`, 'app.cloud.localhost');
  assert.equal(sibling.status, 200);
  assert.match(String(sibling.headers['x-instance']), /^web-\d$/);
  assert.equal((await get(`${https}/admin/metrics`, 'app.cloud.localhost', basic)).status, 200, 'metrics only at the service root');

  // Plain HTTP only redirects, to the HTTPS host without the HTTP port.
  const redirect = await get(`http://127.0.0.1:${ports.get(80)}/a?b=1`, 'app.cloud.localhost:8080');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, 'https://app.cloud.localhost/a?b=1');

  // Stats page: behind the userlist on the stats port and on the dashboard host.
  const stats = `http://127.0.0.1:${ports.get(plan.proxy.statsPort)}`;
  assert.equal((await get(`${stats}/`, 'localhost')).status, 401);
  const page = await get(`${stats}/;csv`, 'localhost', basic);
  assert.equal(page.status, 200);
  const rows = page.body.split('\n').filter((l) => l.startsWith('be_web_') && !l.includes(',BACKEND,'));
  assert.equal(rows.length, templateSlots(3), 'one row per server-template slot');
  assert.equal(rows.filter((l) => /,UP/.test(l)).length, 3, 'three slots filled from DNS');
  assert.equal(rows.filter((l) => /,MAINT \(resolution\)/.test(l)).length, 3, 'spare slots wait in MAINT');
  assert.equal((await get(`${https}/`, plan.proxy.dashboardHost!)).status, 401);
  assert.equal((await get(`${https}/`, plan.proxy.dashboardHost!, basic)).status, 200);

  // Prometheus exporter where the plan scrapes it, without credentials.
  assert.equal((await get(`${stats}/metrics`, 'localhost')).status, 401, 'the stats port gives nothing away without credentials');
  if (metricsPort !== undefined) {
    const m = await get(`http://127.0.0.1:${ports.get(metricsPort)}/metrics`, 'localhost');
    assert.equal(m.status, 200);
    assert.match(m.body, /^haproxy_process_/m);
    assert.match(m.body, /haproxy_backend_active_servers\{proxy="be_web_\d+"\} 3/);
  }
  assert.ok(dns.queries.some((q) => q.startsWith('web/')), 'replicas came from DNS');

  // A replica dies: before any health check notices, retries and redispatch hide it.
  await new Promise<void>((res) => servers[1]!.close(() => res()));
  servers[1]!.closeAllConnections();
  const afterDeath: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const x = await get(`${https}/`, 'app.cloud.localhost');
    assert.equal(x.status, 200, `request ${i} after a replica died`);
    afterDeath[String(x.headers['x-instance'])] = (afterDeath[String(x.headers['x-instance'])] ?? 0) + 1;
  }
  t.diagnostic(`after web-2 died, 30 requests: ${JSON.stringify(afterDeath)} (0 failed)`);
  assert.equal(afterDeath['web-2'], undefined);
  assert.doesNotMatch(logs, new RegExp(testPassword), 'no credentials in the logs');
});

// HAProxy run for real on the rendered haproxy.cfg: on loopback ports, replicas on
// 127.0.0.2-4 discovered through a tiny DNS server standing in for Docker's 127.0.0.11, a test
// certificate and userlist made with openssl (test/support/haproxy.ts). Only the test copy is
// rewritten (ports, DNS address, secret paths); the renderer stays pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { loadVariant } from '../../../test/support/templates.js';
import { children, skipReason, testCopy, testMaterial, testPassword, withMetricsPort, work } from '../../../test/support/haproxy.js';
import { haproxyConfig, haproxyDefaultMetricsPort, haproxyMetricsPort, templateSlots, userlistName } from './index.js';
/** A minimal authoritative DNS server: A records for the given names, NXDOMAIN otherwise. */
function startDns(records: Record<string, string[]>): Promise<{ socket: Socket; port: number; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off]!;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString());
      off += len + 1;
    }
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
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(1, 6);
      rr.writeUInt16BE(4, 10);
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
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** A replica; one that is `closing` answers /closing with 503, as a server shutting down does. */
function replica(host: string, port: number, instance: string, closing = false): Promise<Server> {
  const s = createHttpServer((req, res) => {
    res.setHeader('X-Instance', instance);
    res.setHeader('X-Powered-By', 'Express');
    if (req.url === '/closing') {
      res.statusCode = closing ? 503 : 200;
      res.end(closing ? 'closing' : 'ok');
      return;
    }
    if (req.url === '/health') {
      res.end('ok');
      return;
    }
    res.end(`${instance} ${req.url} xff=${req.headers['x-forwarded-for'] ?? ''} proto=${req.headers['x-forwarded-proto'] ?? ''}`);
  });
  return new Promise((res, rej) => {
    s.once('error', rej);
    s.listen(port, host, () => res(s));
  });
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(url: string, host: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({
    hostname: u.hostname,
    port: u.port,
    path: u.pathname + u.search,
    method,
    agent: false,
    headers: { Host: host, ...headers },
    rejectUnauthorized: false,
    servername: host.split(':')[0],
  } as never);
  return new Promise((res, rej) => {
    req.on('response', (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c) => {
        body += c;
      });
      r.on('end', () => res({ status: r.statusCode!, headers: r.headers, body }));
    });
    req.on('error', rej);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout ${url}`)));
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
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

test(
  'haproxy live: TLS edge round-robins over DNS-discovered replicas, refuses metrics, enforces auth and allow-lists, serves stats and Prometheus',
  { skip: skipReason(), timeout: 60000 },
  async (t) => {
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
        d.services.admin = {
          image: 'example/admin:1.0',
          port: appPort,
          routes: [
            { host: 'admin.cloud.localhost', auth: true },
            { host: 'app.cloud.localhost', path: '/admin', auth: true },
          ],
        };
        d.services.intranet = {
          image: 'example/intranet:1.0',
          port: appPort,
          routes: [{ host: '*.intra.cloud.localhost', allow: ['10.0.0.0/8'] }],
        };
      },
    });
    // Live, the exporter runs where it is meant to: its own port, apart from the stats page.
    const plan = withMetricsPort(loaded.plan, haproxyDefaultMetricsPort);
    const web = plan.routes.find((r) => r.service === 'web')!;
    assert.equal(web.replicas, 3);
    assert.deepEqual(web.denyPaths, ['/metrics']);

    const servers = await Promise.all([
      replica('127.0.0.2', appPort, 'web-1'),
      replica('127.0.0.3', appPort, 'web-2', true),
      replica('127.0.0.4', appPort, 'web-3'),
      replica('127.0.0.5', appPort, 'admin-1'),
      replica('127.0.0.6', appPort, 'intranet-1'),
    ]);
    t.after(() => {
      for (const s of servers) s.close();
    });
    const dns = await startDns({ web: ['127.0.0.2', '127.0.0.3', '127.0.0.4'], admin: ['127.0.0.5'], intranet: ['127.0.0.6'] });
    t.after(() => dns.socket.close());

    const metricsPort = haproxyMetricsPort(plan);
    const ports = new Map<number, number>();
    for (const p of [80, 443, plan.proxy.statsPort, ...(metricsPort ? [metricsPort] : [])])
      if (!ports.has(p)) ports.set(p, await freePort());
    const cfgFile = join(work, 'live.cfg');
    writeFileSync(cfgFile, testCopy(haproxyConfig(plan), plan, ports, `127.0.0.1:${dns.port}`));
    let logs = '';
    const hp = spawn('haproxy', ['-W', '-db', '-f', cfgFile, '-f', testMaterial().userlist(userlistName(plan))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(hp);
    hp.stdout!.on('data', (c) => {
      logs += c;
    });
    hp.stderr!.on('data', (c) => {
      logs += c;
    });
    t.after(() => {
      if (hp.exitCode === null) hp.kill('SIGTERM');
    });

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

    // A replica answering 503 (shutting down) costs a safe request nothing: it is retried on
    // another replica. A request that may change something is never sent twice.
    for (let i = 0; i < 12; i++) {
      const g = await get(`${https}/closing`, 'app.cloud.localhost');
      assert.equal(g.status, 200, `GET /closing #${i} was retried away from the closing replica`);
      assert.notEqual(g.headers['x-instance'], 'web-2');
    }
    const posts = await Promise.all([0, 1, 2, 3, 4, 5].map(() => get(`${https}/closing`, 'app.cloud.localhost', {}, 'POST')));
    const refused = posts.filter((p) => p.status === 503);
    assert.ok(refused.length > 0, 'a POST that met the closing replica got its 503, not a second delivery');
    assert.ok(refused.every((p) => p.headers['x-instance'] === 'web-2'));

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
    assert.equal(
      (await get(`${https}/`, 'admin.cloud.localhost', { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` })).status,
      401,
    );
    const admin = await get(`${https}/`, 'admin.cloud.localhost', basic);
    assert.equal(admin.status, 200);
    assert.equal(admin.headers['x-instance'], 'admin-1');
    assert.equal((await get(`${https}/`, 'a.intra.cloud.localhost')).status, 403, 'loopback is outside 10.0.0.0/8');
    for (const h of ['nope.cloud.localhost', 'intra.cloud.localhost', 'a.b.intra.cloud.localhost'])
      assert.equal((await get(`${https}/`, h)).status, 404, h);

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
    assert.ok(
      dns.queries.some((q) => q.startsWith('web/')),
      'replicas came from DNS',
    );

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
  },
);

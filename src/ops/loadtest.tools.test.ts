// loadtest against a real TLS server on loopback standing in for the edge: three "replicas"
// behind it answer in turn (or one of them is dead), identified by X-Instance.
import { sizeEdge } from '../plan/edge.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import { haproxyConfig } from '../render/haproxy/index.js';
import { chiSquarePValue, fairness, loadtest, LoadtestError } from './loadtest.js';

test('chi-square p-values match the tables', () => {
  const close = (a: number, b: number, eps = 1e-3) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);
  close(chiSquarePValue(3.841, 1), 0.05);
  close(chiSquarePValue(5.991, 2), 0.05);
  close(chiSquarePValue(9.21, 2), 0.01);
  close(chiSquarePValue(18.307, 10), 0.05);
  close(chiSquarePValue(0.1026, 2), 0.95);
  assert.equal(chiSquarePValue(0, 2), 1);
});

test('fairness: even split is fair, a skewed or missing replica is not, too few samples says so', () => {
  assert.equal(fairness([100, 100, 100], 3).verdict, 'fair');
  assert.equal(fairness([98, 103, 99], 3).verdict, 'fair');
  const skew = fairness([200, 50, 50], 3);
  assert.equal(skew.verdict, 'unfair');
  assert.ok(skew.pValue < 1e-10);
  const dead = fairness([150, 150], 3);
  assert.equal(dead.verdict, 'unfair');
  assert.equal(dead.missingReplicas, 1);
  assert.match(dead.explanation, /1 replica\(s\) never answered/);
  assert.equal(fairness([2, 1, 1], 3).verdict, 'insufficient');
});

let server: Server;
let port = 0;
let dir: string;
let alive = 3;
const seenHosts = new Set<string>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-lt-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=api.lt.localhost',
      '-addext',
      'subjectAltName=DNS:api.lt.localhost',
    ],
    { stdio: 'ignore' },
  );
  let n = 0;
  server = createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (req, res) => {
    seenHosts.add(String(req.headers.host));
    res.setHeader('X-Instance', `replica-${n++ % alive}`);
    res.end(req.url === '/health' ? 'ok' : 'hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan() {
  const p = tinyPlan('lt');
  p.proxy.bind = '127.0.0.1';
  p.proxy.httpsPort = port;
  p.routes = [
    {
      name: 'api',
      service: 'api',
      host: 'api.lt.localhost',
      path: '/',
      port: 3000,
      replicas: 3,
      denyPaths: ['/metrics'],
      auth: false,
      internal: false,
    },
  ];
  return p;
}

test('round-robin through the edge: every replica answers, the split is fair, latency is measured', async () => {
  alive = 3;
  const ticks: number[] = [];
  const r = await loadtest({ plan: plan() }, { duration: 2, connections: 4, path: '/health', onTick: (t) => ticks.push(t.requests) });
  assert.equal(r.route, 'api');
  assert.deepEqual(r.target, { address: '127.0.0.1', port, host: 'api.lt.localhost', path: '/health' });
  assert.ok(seenHosts.has('api.lt.localhost'), 'Host header sent');
  assert.ok(r.requests.total > 100, `only ${r.requests.total} requests`);
  assert.equal(r.requests.errors, 0);
  assert.equal(r.requests.ok, r.requests.total);
  assert.deepEqual(
    r.distribution.map((d) => d.instance),
    ['replica-0', 'replica-1', 'replica-2'],
  );
  assert.ok(Math.max(...r.distribution.map((d) => d.count)) - Math.min(...r.distribution.map((d) => d.count)) <= 1);
  assert.equal(r.fairness.verdict, 'fair');
  assert.ok(r.fairness.pValue > 0.9);
  assert.ok(r.latencyMs.p50 <= r.latencyMs.p90 && r.latencyMs.p90 <= r.latencyMs.p99);
  assert.ok(ticks.length >= 1);
});

test('a replica that never answers makes the verdict unfair', async () => {
  alive = 2;
  const r = await loadtest({ plan: plan() }, { amount: 300, connections: 2, route: 'api.lt.localhost' });
  assert.equal(r.distribution.length, 2);
  assert.equal(r.fairness.verdict, 'unfair');
  assert.equal(r.fairness.missingReplicas, 1);
});

test('an unknown route is a clear error naming the routes there are', async () => {
  await assert.rejects(
    loadtest({ plan: plan() }, { route: 'nope' }),
    (e: unknown) => e instanceof LoadtestError && /no route "nope" \(routes: api \(api.lt.localhost\)\)/.test(e.message),
  );
});

test(
  'a real HAProxy names the replica with the rendered trace rules: no X-Instance needed, X-Instance cross-checked',
  { skip: !haveHaproxy() && 'haproxy not installed' },
  async (t) => {
    const lines = renderedTraceLines();
    assert.equal(lines.length, 3, lines.join('\n'));
    // Two plain backends that say nothing about themselves (the third-party case); later they
    // send X-Instance, truthfully and then both the same, which the cross-check must catch.
    const says: Array<string | undefined> = [undefined, undefined];
    const backends: HttpServer[] = [];
    const ports: number[] = [];
    for (const i of [0, 1]) {
      const s = createHttpServer((_req, res) => {
        if (says[i]) res.setHeader('X-Instance', says[i]!);
        res.end('ok');
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      backends.push(s);
      ports.push((s.address() as AddressInfo).port);
    }
    const edgePort = await freePort();
    writeFileSync(join(dir, 'edge.pem'), readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8'));
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'defaults',
        '  mode http',
        '  timeout connect 1s',
        '  timeout client 5s',
        '  timeout server 5s',
        'frontend https',
        `  bind 127.0.0.1:${edgePort} ssl crt ${join(dir, 'edge.pem')}`,
        `  ${lines[0]}`,
        `  ${lines[1]}`,
        '  default_backend be_web',
        `  ${lines[2]}`,
        'backend be_web',
        '  balance roundrobin',
        ...ports.map((p, i) => `  server web${i + 1} 127.0.0.1:${p}`),
        '',
      ].join('\n'),
    );
    const hap = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    t.after(() => {
      hap.kill();
      for (const s of backends) s.close();
    });
    const p = plan();
    p.proxy.httpsPort = edgePort;
    p.proxy.serverHeader = { request: 'X-Wharf-Trace', response: 'X-Wharf-Server' };
    p.routes[0]!.replicas = 2;
    for (let i = 0; i < 50 && !(await portOpen(edgePort)); i++) await new Promise((r) => setTimeout(r, 100));

    const r = await loadtest({ plan: p }, { amount: 400, connections: 4 });
    assert.equal(r.source, 'edge');
    assert.deepEqual(
      r.distribution.map((d) => [d.instance, d.count]),
      [
        ['web1', 200],
        ['web2', 200],
      ],
    );
    assert.equal(r.fairness.verdict, 'fair');
    assert.equal(r.crossCheck, undefined, 'no app header: nothing to cross-check');

    says.splice(0, 2, 'host-a', 'host-b');
    const agree = await loadtest({ plan: p }, { amount: 100, connections: 2 });
    assert.deepEqual(agree.crossCheck, {
      agree: true,
      pairs: [
        { server: 'web1', instances: ['host-a'] },
        { server: 'web2', instances: ['host-b'] },
      ],
    });
    says.splice(0, 2, 'host-a', 'host-a');
    const lie = await loadtest({ plan: p }, { amount: 100, connections: 2 });
    assert.equal(lie.crossCheck?.agree, false, 'one instance behind two servers');
  },
);

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('CI must provide haproxy');
    return false;
  }
}

/** The frontend lines the HAProxy renderer writes for the trace header, taken from its output. */
function renderedTraceLines(): string[] {
  const p = tinyPlan('lt');
  p.proxy = {
    ...p.proxy,
    kind: 'haproxy',
    serverHeader: { request: 'X-Wharf-Trace', response: 'X-Wharf-Server' },
    sizing: sizeEdge({ metrics: false }),
  };
  p.tls = { ...p.tls, mode: 'self-signed', pemSecret: 'edge-tls-pem' };
  return haproxyConfig(p, {})
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /txn\.trace|X-Wharf-Trace/.test(l));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

// doctor on a real Docker Engine: a healthy tiny stack passes, and each of seed 002's
// three debugging scenarios (wrong service name, wrong port, missing network) is named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { composeContext, type OpsContext } from '../engine/context.js';
import { run } from '../engine/run.js';
import { requireDocker, tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { doctor, linksFromEnv, planLinks, suggestService, type Check } from './doctor.js';
import { up } from './up.js';
import type { Component, Plan } from '../plan/model.js';

// Before the first test(): with --test-force-exit, tests registered after a top-level await
// that outlasts the earlier tests are never run.
const skip = await requireDocker();

test('links come from the live environment: HOST/PORT pairs and host:port URLs', () => {
  const portOf = (h: string) => (({ db: 5432, cache: 6379 }) as Record<string, number>)[h];
  assert.deepEqual(
    linksFromEnv('api', { DB_HOST: 'db', DB_PORT: '5433', REDIS_HOST: 'cache', NODE_ENV: 'production', PORT: '3000' }, portOf),
    [
      { from: 'api', host: 'db', port: 5433, via: 'DB_HOST=db, DB_PORT=5433' },
      { from: 'api', host: 'cache', port: 6379, via: 'REDIS_HOST=cache' },
    ],
  );
  assert.deepEqual(
    linksFromEnv(
      'x',
      {
        REDIS_ADDR: 'redis://cache:6379',
        DATA_SOURCE_URI: 'db:5432/shop?sslmode=disable',
        GF_SERVER_ROOT_URL: 'https://grafana.shop.localhost/',
        DB_HOST: '127.0.0.1',
      },
      portOf,
    ),
    [
      { from: 'x', host: 'cache', port: 6379, via: 'REDIS_ADDR' },
      { from: 'x', host: 'db', port: 5432, via: 'DATA_SOURCE_URI' },
    ],
  );
});

test('links the plan implies: edge to routed services, Prometheus to scrape targets and Alertmanager', () => {
  const plan = tinyPlan('p');
  plan.routes = [
    {
      name: 'api',
      service: 'api',
      host: 'api.p.localhost',
      path: '/',
      port: 3000,
      replicas: 1,
      denyPaths: [],
      auth: false,
      internal: false,
    },
  ];
  plan.monitoring.enabled = true;
  plan.monitoring.scrapeJobs = [
    { job: 'api', discovery: 'dns', host: 'api', port: 3000, path: '/metrics', component: 'api' },
    { job: 'prometheus', discovery: 'static', host: 'localhost', port: 9090, path: '/metrics', component: 'prometheus' },
  ];
  plan.components.push(
    { ...plan.components[0]!, name: 'prometheus', role: 'prometheus', port: 9090 },
    { ...plan.components[0]!, name: 'alertmanager', role: 'alertmanager', port: 9093 },
  );
  assert.deepEqual(
    planLinks(plan).map((l) => `${l.from}>${l.host}:${l.port}`),
    ['proxy>api:3000', 'prometheus>api:3000', 'prometheus>alertmanager:9093'],
  );
});

test('a wrong name is matched to the service it most likely meant', () => {
  const plan = tinyPlan('p');
  const extra = (name: string, role: Component['role'], engine?: Component['engine']) => ({ ...plan.components[0]!, name, role, engine });
  const comps = [
    ...plan.components,
    extra('cache', 'cache', 'redis'),
    extra('prometheus', 'prometheus'),
    extra('pg', 'database', 'postgres'),
  ];
  assert.equal(suggestService('postgres', 'DB_HOST=postgres, DB_PORT=5432', comps, 'api'), 'pg');
  assert.equal(suggestService('redis', 'REDIS_HOST=redis', comps, 'api'), 'cache');
  assert.equal(suggestService('database', 'DB_HOST=database', comps, 'api'), 'db');
  assert.equal(suggestService('cahce', 'X_HOST=cahce', comps, 'api'), 'cache');
});

test('a published port held by another process fails with the fix; a free one passes', async () => {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const busy = (srv.address() as { port: number }).port;
  try {
    const plan = tinyPlan(`wharfports${process.pid}`);
    plan.components.find((c) => c.name === 'api')!.ports = [{ hostIp: '127.0.0.1', host: busy, container: 443 }];
    const ctx = await composeContext({
      plan,
      outDir: '/nonexistent',
      projectDir: '/nonexistent',
      compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2' },
    });
    const r = await doctor(ctx, { only: ['ports'] });
    const c = r.checks.find((x) => x.id === `port:127.0.0.1:${busy}`)!;
    assert.equal(c.status, 'fail');
    assert.equal(c.cause, 'port-in-use');
    assert.match(c.hint!, /change proxy\.httpsPort in wharf\.yaml/);
    srv.close();
    await new Promise((r) => setTimeout(r, 50));
    const free = (await doctor(ctx, { only: ['ports'] })).checks.find((x) => x.id === `port:127.0.0.1:${busy}`)!;
    assert.equal(free.status, 'ok');
    assert.equal(free.detail, 'free');
  } finally {
    srv.close();
  }
});

const project = `wharfdoc${process.pid}`;
let ctx: OpsContext;
let dir: string;

before(async () => {
  if (skip) return;
  const plan = tinyPlan(project);
  dir = writeCompose(plan);
  ctx = await composeContext({ plan, outDir: dir, projectDir: dir });
  await up(ctx, { timeoutMs: 60_000 });
});

after(async () => {
  if (skip) return;
  await run(ctx.engine.remove({ volumes: true }), { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

const link = (checks: Check[]) => checks.filter((c) => c.id.startsWith('link:api->'));

/** Deploy a broken variant of the stack (as a user editing compose.yaml would), keep ctx.plan as designed. */
async function deployBroken(change: (p: Plan) => void): Promise<void> {
  const p = tinyPlan(project);
  change(p);
  writeCompose(p, dir);
  await up({ ...ctx, plan: p }, { timeoutMs: 60_000 });
}

test('a healthy stack passes every check', { skip }, async () => {
  const r = await doctor(ctx);
  assert.equal(
    r.ok,
    true,
    r.checks
      .filter((c) => !c.ok)
      .map((c) => `${c.id}: ${c.detail}`)
      .join('\n'),
  );
  assert.ok(r.running);
  const ids = r.checks.map((c) => c.id);
  for (const id of ['engine', 'compose', 'config', 'health:api', 'health:db', 'link:api->db:8080', 'disk'])
    assert.ok(ids.includes(id), `missing check ${id}`);
  assert.match(r.checks.find((c) => c.id === 'link:api->db:8080')!.detail, /port 8080 open/);
});

test('wrong service name: DB_HOST points to a name no service has', { skip }, async () => {
  await deployBroken((p) => {
    p.components.find((c) => c.name === 'api')!.env.DB_HOST = 'postgres';
  });
  const r = await doctor(ctx, { only: ['links'] });
  const [c] = link(r.checks);
  assert.equal(r.ok, false);
  assert.equal(c?.cause, 'wrong-service-name');
  assert.match(
    c!.detail,
    /wrong service name: api is configured to reach "postgres" \(DB_HOST=postgres, DB_PORT=8080\), but the stack has no service "postgres"/,
  );
  assert.match(c!.hint!, /did you mean "db"\?/);
});

test('wrong port: DB_PORT is not the port db listens on', { skip }, async () => {
  await deployBroken((p) => {
    p.components.find((c) => c.name === 'api')!.env.DB_PORT = '5433';
  });
  const r = await doctor(ctx, { only: ['links'] });
  const [c] = link(r.checks);
  assert.equal(c?.cause, 'wrong-port');
  assert.match(c!.detail, /wrong port: db resolves .* but refuses connections on port 5433 .*; db listens on 8080/);
});

test('missing network: api is not attached to the network db is on', { skip }, async () => {
  await deployBroken((p) => {
    p.components.find((c) => c.name === 'api')!.networks = ['edge'];
  });
  const r = await doctor(ctx, { only: ['links'] });
  const [c] = link(r.checks);
  assert.equal(c?.cause, 'missing-network');
  assert.match(c!.detail, /missing network: api is not attached to any network db is on \(api: edge; db: backend\)/);
  assert.match(c!.hint!, /attach api to backend/);
});

test('an unhealthy service fails its health check with the last log lines', { skip }, async () => {
  const p = tinyPlan(project, { dbHealthy: false });
  writeCompose(p, dir);
  await run(ctx.engine.apply());
  let c: Check | undefined;
  for (let i = 0; i < 40; i++) {
    c = (await doctor(ctx, { only: ['health'] })).checks.find((x) => x.id === 'health:db')!;
    if (c.status === 'fail') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(c);
  assert.equal(c.status, 'fail');
  assert.equal(c.cause, 'not-healthy');
  assert.match(c.detail, /healthcheck: db is not ready: simulated/);
  assert.ok(c.lines?.some((l) => l.includes('listening on 8080')));
});

test('a client that keeps crashing is judged from its configuration, and says so', { skip }, async () => {
  const p = tinyPlan(project);
  const api = p.components.find((c) => c.name === 'api')!;
  api.command = ['sh', '-c', 'exit 1'];
  api.env.DB_HOST = 'postgres';
  writeCompose(p, dir);
  await run(ctx.engine.apply());
  // It flips between restarting and (briefly) running: either way the cause is named;
  // once caught not running, the detail says the verdict comes from configuration.
  let c: Check | undefined;
  for (let i = 0; i < 20; i++) {
    [c] = link((await doctor(ctx, { only: ['links'] })).checks);
    assert.equal(c?.cause, 'wrong-service-name', c?.detail);
    if (/not probed/.test(c!.detail)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.match(c!.detail, /api is not running, so this is read from configuration, not probed/);
});

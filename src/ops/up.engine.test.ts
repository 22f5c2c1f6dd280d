// up/down on a real Docker Engine with a tiny stack built from the local base image.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { composeContext, type OpsContext } from '../engine/context.js';
import type { ComposeEngine } from '../engine/compose.js';
import { listContainers } from '../engine/live.js';
import { run } from '../engine/run.js';
import { requireDocker, tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { down } from './down.js';
import { status } from './status.js';
import { up, upCommands, UpTimeoutError, type UpEvent } from './up.js';
import { ImageUnavailableError } from './images.js';

// Before the first test(): with --test-force-exit, tests registered after a top-level await
// that outlasts the earlier tests are never run.
const skip = await requireDocker();

test('upCommands lists what up runs, for --dry-run', async () => {
  const plan = tinyPlan('dry');
  const { ComposeEngine } = await import('../engine/compose.js');
  const engine = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 'dry', dir: '/o' });
  assert.deepEqual(
    upCommands({ plan, engine }).map((c) => c.describe),
    ['validate compose.yaml', 'look up image local/debian:bookworm', 'create or update containers'],
  );
  plan.components[0]!.build = { context: { project: '.' }, args: {} };
  assert.deepEqual(
    upCommands({ plan, engine }).map((c) => c.describe),
    ['validate compose.yaml', 'look up image local/debian:bookworm', 'build images for api', 'create or update containers'],
  );
});

const project = `wharfup${process.pid}`;
let ctx: OpsContext;
let dir: string;

before(async () => {
  if (skip) return;
  const plan = tinyPlan(project);
  dir = writeCompose(plan);
  ctx = await composeContext({ plan, outDir: dir, projectDir: dir });
});

after(async () => {
  if (skip) return;
  await run(ctx.engine.remove({ volumes: true }), { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

test('up starts every replica, reports health progress, and a second up changes nothing', { skip }, async () => {
  const events: UpEvent[] = [];
  const first = await up(ctx, { onProgress: (e) => events.push(e), timeoutMs: 60_000 });
  assert.deepEqual(
    first.services.map((s) => [s.service, s.desired, s.healthy, s.state]),
    [
      ['api', 1, 1, 'healthy'],
      ['db', 2, 2, 'healthy'],
    ],
  );
  assert.deepEqual(first.changed, ['api', 'db']);
  assert.deepEqual(
    events.filter((e) => e.kind === 'step' && e.status === 'done').map((e) => e.kind === 'step' && e.step),
    ['validate', 'images', 'deploy', 'wait'],
  );
  assert.ok(
    events.some((e) => e.kind === 'health'),
    'health progress events',
  );

  const ids = (await listContainers(ctx.engine, run)).map((c) => `${c.id}@${c.startedAt}`).sort();
  const second = await up(ctx, { timeoutMs: 60_000 });
  assert.deepEqual(second.changed, []);
  assert.deepEqual(
    (await listContainers(ctx.engine, run)).map((c) => `${c.id}@${c.startedAt}`).sort(),
    ids,
    'same containers, not restarted',
  );
});

test('status reports desired, running and healthy replicas per service, and says monitoring is off', { skip }, async () => {
  const s = await status(ctx);
  assert.equal(s.running, true);
  assert.deepEqual(
    s.services.map((x) => [x.service, x.desired, x.running, x.healthy, x.state, x.containers.length]),
    [
      ['api', 1, 1, 1, 'healthy', 1],
      ['db', 2, 2, 2, 'healthy', 2],
    ],
  );
  assert.deepEqual(s.targets, { available: false, up: 0, down: 0, list: [], error: 'monitoring disabled' });
  assert.equal(s.alerts.available, false);
});

test('up names the service that never becomes healthy, with its health output and last log lines', { skip }, async () => {
  const plan = tinyPlan(project, { dbHealthy: false, dbReplicas: 1 });
  writeCompose(plan, dir);
  const bad = { ...ctx, plan };
  await assert.rejects(up(bad, { timeoutMs: 8_000 }), (e: unknown) => {
    assert.ok(e instanceof UpTimeoutError);
    assert.deepEqual(
      e.services.map((s) => s.service),
      ['db'],
    );
    assert.match(e.message, /not healthy after 8s: db \(0\/1 healthy, (unhealthy|starting)\)/);
    assert.ok(
      e.services[0]!.logs.some((l) => l.includes('listening on 8080')),
      `log lines: ${e.services[0]!.logs.join('|')}`,
    );
    return true;
  });
  writeCompose(ctx.plan, dir);
});

test('a service that exits on start is reported as crash-looping without waiting for the timeout', { skip }, async () => {
  const plan = tinyPlan(project, { dbReplicas: 1 });
  plan.components.find((c) => c.name === 'db')!.command = ['sh', '-c', 'echo "fatal: boom" >&2; exit 3'];
  writeCompose(plan, dir);
  // reason 'crash-loop', not 'timeout': up did not wait out its 120 s (bench/timings measures how soon).
  await assert.rejects(up({ ...ctx, plan }, { timeoutMs: 120_000 }), (e: unknown) => {
    assert.ok(e instanceof UpTimeoutError);
    assert.equal(e.reason, 'crash-loop');
    assert.match(e.message, /^crash-looping: db \(0\/1 healthy/);
    assert.ok(e.services[0]!.logs.includes('fatal: boom'), e.services[0]!.logs.join('|'));
    return true;
  });
  writeCompose(ctx.plan, dir);
});

test('Compose v1 (docker-compose) runs the same stack: up, no-op rerun, down', { skip }, async (t) => {
  const v1 = await composeContext({ plan: ctx.plan, outDir: dir, projectDir: dir, prefer: 'v1' }).catch(() => undefined);
  if (!v1 || (v1.engine as ComposeEngine).compose.kind !== 'v1') {
    if (process.env.CI === 'true') throw new Error('docker-compose (v1) not installed');
    t.skip('docker-compose (v1) not installed');
    return;
  }
  writeCompose(ctx.plan, dir);
  await run(ctx.engine.remove({ volumes: true }));
  const first = await up(v1, { timeoutMs: 60_000 });
  assert.deepEqual(
    first.services.map((s) => [s.service, s.healthy]),
    [
      ['api', 1],
      ['db', 2],
    ],
  );
  assert.deepEqual((await up(v1, { timeoutMs: 60_000 })).changed, []);
  const r = await down(v1, { volumes: true });
  assert.deepEqual(r.remaining, { containers: 0, networks: 0, volumes: [] });
});

test('down removes containers and networks; volumes only when asked', { skip }, async () => {
  await up(ctx, { timeoutMs: 60_000 });
  const r = await down(ctx, { volumes: false });
  assert.ok(r.removedContainers >= 3, `removed ${r.removedContainers}`);
  assert.deepEqual(r.remaining, { containers: 0, networks: 0, volumes: [] });
});

test('down still removes the stack when its rendered directory is gone (compose v2)', { skip }, async (t) => {
  if ((ctx.engine as ComposeEngine).compose.kind !== 'v2') {
    t.skip('needs compose v2');
    return;
  }
  await up(ctx, { timeoutMs: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  const r = await down(ctx, { volumes: true });
  assert.deepEqual(r.remaining, { containers: 0, networks: 0, volumes: [] });
  assert.ok(r.removedContainers >= 3);
});

test('a published port held by another process stops up before anything is created, naming it', { skip }, async () => {
  const { createServer } = await import('node:net');
  const { PortInUseError } = await import('./up.js');
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const port = (holder.address() as { port: number }).port;
  const plan = tinyPlan(`${project}p`);
  plan.components[0]!.ports = [{ hostIp: '127.0.0.1', host: port, container: 8080 }];
  const pdir = writeCompose(plan);
  const pctx = await composeContext({ plan, outDir: pdir, projectDir: pdir });
  try {
    await assert.rejects(
      up(pctx, { timeoutMs: 30_000 }),
      (err: unknown) => err instanceof PortInUseError && err.message.includes(`127.0.0.1:${port}`) && /api/.test(err.message),
    );
    assert.deepEqual(await listContainers(pctx.engine, run), [], 'nothing was created');
  } finally {
    holder.close();
    await run(pctx.engine.remove({ volumes: true }), { reject: false });
    rmSync(pdir, { recursive: true, force: true });
  }
});

test('an image that cannot be pulled is named with the spec key that replaces it, and nothing is deployed', { skip }, async () => {
  // A registry on a closed loopback port: the pull fails at once, and no traffic leaves the machine.
  const plan = tinyPlan(`${project}img`);
  const db = plan.components.find((c) => c.name === 'db')!;
  db.image = '127.0.0.1:1/wharf-test/missing:1';
  db.imageKey = 'postgres';
  const d = writeCompose(plan);
  const c = await composeContext({ plan, outDir: d, projectDir: d });
  try {
    const err = await up(c, { timeoutMs: 30_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ImageUnavailableError, String(err));
    assert.deepEqual(
      err.images.map((i) => [i.image, i.services, i.override]),
      [['127.0.0.1:1/wharf-test/missing:1', ['db'], 'images.postgres']],
    );
    assert.match(err.message, /127\.0\.0\.1:1\/wharf-test\/missing:1 {2}for db {2}\(replace with images\.postgres\)/);
    assert.match(err.message, /quickstart\.sh --local-images/);
    assert.equal((await listContainers(c.engine, run)).length, 0, 'nothing was created');
  } finally {
    await run(c.engine.remove({ volumes: true }), { reject: false });
    rmSync(d, { recursive: true, force: true });
  }
});

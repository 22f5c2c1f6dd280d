import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import type { ContainerState } from '../engine/live.js';
import { placeComponents } from '../plan/placement.js';
import { decideDeploy, rolls, upToDate, type Desired } from './rollout.js';
import { previousRevision, readRevisions, recordRevision, revisionsPath, KEEP } from './revisions.js';

const label = 'com.docker.compose.config-hash';
const live = (service: string, n: number, hash: string, image = 'sha256:i1', state = 'running'): ContainerState[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${service}${i}${hash}`,
    name: `p-${service}-${i + 1}`,
    service,
    state,
    health: 'healthy',
    startedAt: '',
    restartCount: 0,
    exitCode: 0,
    image: `${service}:x`,
    imageId: image,
    networks: [],
    env: {},
    labels: { [label]: hash },
    ports: [],
    revision: hash,
  }));

function plan() {
  const p = tinyPlan('t', { dbReplicas: 1 });
  p.components.find((c) => c.name === 'api')!.replicas = 3;
  placeComponents(p.components);
  return p;
}
const want = (api: string, db: string, apiImage = 'sha256:i1'): Desired => ({
  revisions: new Map([
    ['api', api],
    ['db', db],
  ]),
  imageIds: new Map([
    ['api', apiImage],
    ['db', 'sha256:i1'],
  ]),
});

test('rolls: stateless app, replicated or routed (the plan said start-first); a database does not', () => {
  const p = plan();
  assert.equal(
    rolls(
      p,
      p.components.find((c) => c.name === 'api')!,
    ),
    true,
  );
  assert.equal(
    rolls(
      p,
      p.components.find((c) => c.name === 'db')!,
    ),
    false,
  );
});

test('decideDeploy: a changed stateless app rolls, an unchanged database is left alone', () => {
  const d = decideDeploy(plan(), [...live('api', 3, 'old'), ...live('db', 1, 'h')], want('new', 'h'));
  assert.deepEqual(d, { roll: ['api'], deploy: [], stopFirst: [], unchanged: ['db'] });
});

test('decideDeploy: a rebuilt image rolls even with the same config hash; a replica count change rolls too', () => {
  assert.deepEqual(decideDeploy(plan(), [...live('api', 3, 'h'), ...live('db', 1, 'h')], want('h', 'h', 'sha256:i2')).roll, ['api']);
  assert.deepEqual(decideDeploy(plan(), [...live('api', 2, 'h'), ...live('db', 1, 'h')], want('h', 'h')).roll, ['api']);
});

test('decideDeploy: a changed database is deployed by name, stop-first (its downtime measured); a missing service is created', () => {
  const d = decideDeploy(plan(), live('db', 1, 'old'), want('h', 'new'));
  assert.deepEqual(d, { roll: [], deploy: ['api', 'db'], stopFirst: ['db'], unchanged: [] });
});

test('upToDate: running, same hash, same image', () => {
  const [c] = live('api', 1, 'h');
  assert.equal(upToDate(c!, 'api', want('h', 'h')), true);
  assert.equal(upToDate(c!, 'api', want('x', 'h')), false);
  assert.equal(upToDate(c!, 'api', want('h', 'h', 'sha256:other')), false);
  assert.equal(upToDate({ ...c!, state: 'exited' }, 'api', want('h', 'h')), false);
});

test('revisions: appended when new, the same one not twice, the last KEEP kept, previous = newest that differs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rev-'));
  try {
    const rec = (env: string, image = 'sha256:a') =>
      recordRevision(dir, 'api', {
        image: 'api:local',
        imageId: image,
        definition: { image: 'api:local', environment: { X: env } },
        at: '2026-12-02T00:00:00Z',
        via: 'up',
      });
    const a = rec('1');
    assert.equal(a.added, true);
    assert.equal(rec('1').added, false);
    const b = rec('2');
    assert.notEqual(a.revision.revision, b.revision.revision);
    assert.notEqual(rec('2', 'sha256:b').revision.revision, b.revision.revision, 'the image ID is part of the revision');
    const list = readRevisions(dir).api!;
    assert.equal(list.length, 3);
    assert.equal(previousRevision(list, undefined)?.revision, b.revision.revision);
    assert.equal(previousRevision(list, b.revision.revision)?.revision, list[2]!.revision);
    for (let i = 0; i < KEEP + 3; i++) rec(`k${i}`);
    assert.equal(readRevisions(dir).api!.length, KEEP);
    assert.match(readFileSync(revisionsPath(dir), 'utf8'), /"via": "up"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on an orchestrator the same op starts its own update and waits for it: completed, or rolled back (exit non-zero)', async () => {
  const { SwarmEngine } = await import('../engine/swarm.js');
  const { recordingRunner } = await import('../engine/run.js');
  const { rollout, RolloutError } = await import('./rollout.js');
  const p = plan();
  const engine = new SwarmEngine({ project: 't', dir: '/x' });
  const update = (state: string) =>
    JSON.stringify({
      State: state,
      StartedAt: new Date(Date.now() + 1000).toISOString(),
      Message: state === 'rollback_completed' ? 'task unhealthy' : 'update completed',
    });
  const answer = (state: string) =>
    recordingRunner((c) =>
      c.argv.includes('inspect')
        ? {
            stdout: `t_api ${update(state)}`,
          }
        : undefined,
    );
  const ok = answer('completed');
  const r = await rollout({ plan: p, outDir: '/x', projectDir: '/x', engine, runner: ok.runner }, ['api'], { pollMs: 1 });
  assert.equal(r.rollouts[0]!.ok, true);
  assert.deepEqual(ok.calls[0]!.argv, ['docker', 'service', 'update', '--force', '--detach=true', 't_api']);
  const bad = answer('rollback_completed');
  await assert.rejects(
    rollout({ plan: p, outDir: '/x', projectDir: '/x', engine, runner: bad.runner }, ['api'], { pollMs: 1 }),
    (e: unknown) => e instanceof RolloutError && /rollout of api failed \(rollback completed: task unhealthy\)/.test(e.message),
  );
});

test('a rollout the orchestrator rolled back names the task it gave up on, with its healthcheck and last log lines', async () => {
  const { SwarmEngine } = await import('../engine/swarm.js');
  const { recordingRunner } = await import('../engine/run.js');
  const { rollout, RolloutError } = await import('./rollout.js');
  const engine = new SwarmEngine({ project: 't', dir: '/x' });
  const now = Date.now();
  const box = (id: string, status: string, health: string, startedAt: number, output = '') => ({
    Id: id,
    Name: `/t_api.1.${id}`,
    Image: 'sha256:x',
    RestartCount: 0,
    State: {
      Status: status,
      StartedAt: new Date(startedAt).toISOString(),
      ExitCode: status === 'exited' ? 143 : 0,
      Health: { Status: health, Log: output ? [{ ExitCode: 1, Output: output }] : [] },
    },
    Config: { Image: 'shop/api:2', Env: [], Labels: { 'com.docker.stack.namespace': 't', 'com.docker.swarm.service.name': 't_api' } },
    NetworkSettings: { Networks: {}, Ports: {} },
  });
  // the old task (hours ago), the new one Swarm gave up on, and the one its rollback started
  const boxes = [
    box('old1', 'running', 'healthy', now - 3600_000),
    box('new1', 'exited', 'unhealthy', now + 1500, 'curl: (7) Failed to connect to 127.0.0.1 port 3000'),
    box('back1', 'running', 'healthy', now + 4000),
  ];
  const { runner, calls } = recordingRunner((c) => {
    if (c.argv[1] === 'service' && c.argv[2] === 'inspect')
      return {
        stdout: `t_api ${JSON.stringify({ State: 'rollback_completed', StartedAt: new Date(now + 1000).toISOString(), Message: 'rollback completed' })}`,
      };
    if (c.argv[1] === 'ps') return { stdout: boxes.map((b) => b.Id).join('\n') };
    if (c.argv[1] === 'inspect') return { stdout: JSON.stringify(boxes.filter((b) => c.argv.includes(b.Id))) };
    if (c.argv[1] === 'logs') return { stdout: 'listening on 3999\nready' };
    return undefined;
  });
  await assert.rejects(rollout({ plan: plan(), outDir: '/x', projectDir: '/x', engine, runner }, ['api'], { pollMs: 1 }), (e: unknown) => {
    assert.ok(e instanceof RolloutError);
    assert.match(
      e.message,
      new RegExp(
        /rollout of api failed \(rollback completed: rollback completed; t_api\.1\.new1 unhealthy /.source +
          /\(healthcheck: curl: \(7\) Failed to connect to 127\.0\.0\.1 port 3000\)\)/.source,
      ),
    );
    assert.match(e.message, /last log lines of a new container\n {2}listening on 3999\n {2}ready/);
    return true;
  });
  assert.deepEqual(
    calls.filter((c) => c.argv[1] === 'logs').map((c) => c.argv.at(-1)),
    ['new1'],
    "the logs of the task it gave up on, not of the rollback's",
  );
});

// wharf plan on a real Docker Engine with the tiny stack: empty right after up, a spec change
// planned as exactly what the next up does, hand changes reported as drift, and nothing
// created, removed, restarted or written by plan itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../plan/model.js';
import { cmd } from '../engine/command.js';
import { composeContext, type OpsContext } from '../engine/context.js';
import { run } from '../engine/run.js';
import { BASE_IMAGE, requireDocker, tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { renderCompose } from '../render/compose/index.js';
import { plan as planOf, type PlanResult } from './plan.js';
import { rollback } from './rollback.js';
import { rollout } from './rollout.js';
import { up } from './up.js';

const skip = await requireDocker();

const project = `plantiny${process.pid}`;
const foreign = `${project}-foreign`;
/** the database's "next version": another tag of the same base image */
const dbNext = `local/debian:${project}-db2`;
let projectDir: string;
let outDir: string;

const sh = async (argv: string[]) => (await run(cmd(argv, argv.join(' '), { timeoutMs: 60_000 }))).stdout.trim();

/** The stack's Docker objects by ID, its containers with their start time, and every file of the project with its bytes and mtime. */
async function snapshot() {
  const ids = (await sh(['docker', 'ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]))
    .split('\n')
    .filter(Boolean);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else files.push(`${p} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(projectDir);
  // The stack's objects, by its label or its name: the engine is shared with the other test lanes,
  // whose stacks come and go meanwhile (every object on it was compared once, and CI failed on
  // another lane's new container).
  const mine = async (kind: string[], quiet: string[]) => {
    const byLabel = await sh(['docker', ...kind, ...quiet, '--filter', `label=com.docker.compose.project=${project}`]);
    const byName = await sh(['docker', ...kind, ...quiet, '--filter', `name=${project}`]);
    return [...new Set([...byLabel.split('\n'), ...byName.split('\n')].filter(Boolean))].sort().join('\n');
  };
  return {
    containers: await mine(['ps', '-a'], ['-q', '--no-trunc']),
    ours: ids.length ? await sh(['docker', 'inspect', '-f', '{{.Id}} {{.State.StartedAt}} {{.State.Status}}', ...ids]) : '',
    networks: await mine(['network', 'ls'], ['-q', '--no-trunc']),
    volumes: await mine(['volume', 'ls'], ['-q']),
    files,
  };
}

async function context(p: Plan): Promise<OpsContext> {
  return composeContext({ plan: p, outDir, projectDir });
}

/** plan, checked to have created, removed, restarted and written nothing. */
async function planChecked(p: Plan): Promise<PlanResult> {
  const was = await snapshot();
  const r = await planOf(await context(p), renderCompose(p));
  assert.deepEqual(await snapshot(), was, 'plan changed nothing: Docker objects, container starts, project files');
  return r;
}

const acting = (r: PlanResult) => r.changes.filter((c) => c.action !== 'none');

before(() => {
  if (skip) return;
  projectDir = mkdtempSync(join(tmpdir(), 'wharf-plan-'));
  outDir = join(projectDir, '.wharf', 'compose');
  mkdirSync(outDir, { recursive: true });
});

after(async () => {
  if (skip) return;
  await run(cmd(['docker', 'rm', '-f', foreign], 'remove the foreign container'), { reject: false });
  await run(cmd(['docker', 'image', 'rm', dbNext], 'untag the next db version'), { reject: false });
  await run((await context(tinyPlan(project))).engine.remove({ volumes: true }), { reject: false });
  rmSync(projectDir, { recursive: true, force: true });
});

test(
  'plan: empty after up; a spec change planned as the next up does it; hand changes as drift; plan itself changes nothing',
  { skip },
  async () => {
    const first = tinyPlan(project);
    const fresh = await planChecked(first);
    assert.deepEqual(
      fresh.changes.map((c) => [c.service, c.action]),
      [
        ['api', 'create'],
        ['db', 'create'],
      ],
    );
    writeCompose(first, outDir);
    await up(await context(first), { timeoutMs: 60_000 });
    const clean = await planChecked(first);
    assert.deepEqual(acting(clean), [], 'no change right after up');
    assert.deepEqual(clean.drift, [], 'no drift right after up');

    // an env change to api, one more db replica
    const next = tinyPlan(project, { dbReplicas: 3 });
    next.components.find((c) => c.name === 'api')!.env.LOG_LEVEL = 'debug';
    const changed = await planChecked(next);
    assert.deepEqual(acting(changed), [
      { service: 'api', action: 'recreate', downtime: true, reasons: ['env.LOG_LEVEL: (none) → debug'] },
      { service: 'db', action: 'update', downtime: false, reasons: ['replicas: 2 → 3'] },
    ]);
    writeCompose(next, outDir);
    const applied = await up(await context(next), { timeoutMs: 60_000 });
    assert.deepEqual(applied.plan.changes, changed.changes, 'up acted on the same plan');
    assert.deepEqual(applied.changed, ['api', 'db'], 'up changed exactly the services the plan named');
    assert.deepEqual(acting(await planChecked(next)), [], 'converged');

    // by hand: one db replica stopped, api scaled to 2, a container of someone else's on the backend network
    const ctx = await context(next);
    const live = await ctx.engine.liveState(run);
    const stopped = live.containers.find((c) => c.service === 'db')!;
    if (ctx.engine.strategy.kind !== 'side-by-side') throw new Error('compose rolls side by side');
    // scaled first: `up api` would start its stopped dependency again
    await run(ctx.engine.strategy.scaleOut('api', 2));
    await sh(['docker', 'stop', '-t', '1', stopped.id]);
    await sh(['docker', 'run', '-d', '--name', foreign, '--network', `${project}_backend`, BASE_IMAGE, 'sleep', '300']);
    const drifted = await planChecked(next);
    assert.deepEqual(
      drifted.drift.map((d) => [d.service, d.what.replace(/\(.*\)$/, '').trim(), d.fix]),
      [
        ['api', '2 replicas running, 1 applied', 'up brings it back to the spec'],
        ['db', '1 replica stopped by hand', 'up brings it back to the spec'],
        [
          foreign,
          `container ${foreign}, not created by wharf, is attached to network ${project}_backend`,
          `up leaves it alone: remove it by hand (docker rm -f ${foreign}) or detach it`,
        ],
      ],
    );
    assert.deepEqual(
      acting(drifted).map((c) => [c.service, c.action, c.downtime]),
      [
        ['api', 'update', false],
        ['db', 'update', false],
      ],
    );
    const fixed = await up(ctx, { timeoutMs: 60_000 });
    assert.deepEqual(fixed.changed, ['api', 'db']);
    const after = await planChecked(next);
    assert.deepEqual(acting(after), [], 'up converged');
    assert.deepEqual(
      after.drift.map((d) => d.service),
      [foreign],
      'only the foreign container is left: up does not touch what it did not create',
    );
  },
);

test(
  'plan: a database version bump is a stop-first recreate with downtime; a removed service that serves is a remove with downtime',
  { skip },
  async () => {
    // as the first test left it, with the database on its next version
    const bumped = tinyPlan(project, { dbReplicas: 3 });
    bumped.components.find((c) => c.name === 'api')!.env.LOG_LEVEL = 'debug';
    bumped.components.find((c) => c.name === 'db')!.image = dbNext;
    await sh(['docker', 'tag', BASE_IMAGE, dbNext]);
    const r = await planChecked(bumped);
    assert.deepEqual(acting(r), [{ service: 'db', action: 'recreate', downtime: true, reasons: [`image: ${BASE_IMAGE} → ${dbNext}`] }]);
    writeCompose(bumped, outDir);
    const applied = await up(await context(bumped), { timeoutMs: 60_000 });
    assert.deepEqual(applied.plan.changes, r.changes, 'up acted on the same plan');
    assert.deepEqual(applied.changed, ['db']);
    assert.deepEqual(acting(await planChecked(bumped)), [], 'converged');

    const withoutApi = { ...bumped, components: bumped.components.filter((c) => c.name !== 'api') };
    assert.deepEqual(acting(await planChecked(withoutApi)), [
      { service: 'api', action: 'remove', downtime: true, reasons: ['not in the spec any more'] },
    ]);
  },
);

test('plan: after wharf rollout no change and no drift; after wharf rollback no drift, and up rolls it forward', { skip }, async () => {
  const current = tinyPlan(project, { dbReplicas: 3 });
  current.components.find((c) => c.name === 'api')!.env.LOG_LEVEL = 'debug';
  current.components.find((c) => c.name === 'db')!.image = dbNext;
  const ctx = await context(current);
  await rollout(ctx, ['api']);
  const rolled = await planChecked(current);
  assert.deepEqual(acting(rolled), [], 'rollout: no change');
  assert.deepEqual(
    rolled.drift.filter((d) => d.service !== foreign),
    [],
    'rollout: no drift',
  );
  await rollback(ctx, 'api');
  const back = await planChecked(current);
  assert.deepEqual(
    back.drift.filter((d) => d.service !== foreign),
    [],
    'rollback: no drift',
  );
  assert.deepEqual(
    acting(back).map((c) => [c.service, c.reasons[0]]),
    [['api', 'rolled back by wharf rollback: up rolls it forward to the spec']],
  );
});

// logs, exec, run and release hooks on a real engine (the tiny stack, Compose): a secret the
// application prints reaches `wharf logs --json` only as ***, exec and run pass the command's
// exit code through and the one-off container is gone after, and a failing beforeRollout hook
// aborts the rollout with the old replica still serving. Needs Docker (hold /tmp/wharf-docker.lock).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmd } from '../engine/command.js';
import { composeContext, type OpsContext } from '../engine/context.js';
import { run } from '../engine/run.js';
import { requireDocker, tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { urlComponent } from '../escape/url.js';
import { execIn, runOnce } from './exec.js';
import { HookError } from './hooks.js';
import { jsonLine } from './log-merge.js';
import { readLogs } from './logs.js';
import { rollout } from './rollout.js';

const skip = await requireDocker();
const PASSWORD = 'Wq8/p@ss+w0rd:$x';
let ctx: OpsContext;
let dir: string;

before(async () => {
  if (skip) return;
  const plan = tinyPlan(`day2ops${process.pid}`, { dbReplicas: 1 });
  const api = plan.components.find((c) => c.name === 'api')!;
  // an application that prints its connection URL, as applications do
  const url = `postgres://app:${urlComponent(PASSWORD)}@db:5432/app`;
  api.command = ['sh', '-c', 'echo "connecting to $1"; echo "raw $2" >&2; exec sleep infinity', 'app', url, PASSWORD];
  api.hooks = { beforeRollout: ['sh', '-c', 'echo "migrating with $1"; exit 3', 'hook', PASSWORD] };
  dir = writeCompose(plan);
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'db-password'), `${PASSWORD}\n`);
  ctx = await composeContext({ plan, outDir: dir, projectDir: dir, secretsDir: join(dir, 'secrets') });
  await run(ctx.engine.apply());
});

after(async () => {
  if (skip) return;
  await run(ctx.engine.remove({ volumes: true }), { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

test('logs --json: every line attributed, the password and its URL-encoded form only as ***', { skip }, async () => {
  let lines: string[] = [];
  for (let i = 0; i < 50 && lines.length < 2; i++) {
    lines = [];
    await readLogs(ctx, { services: ['api'], tail: 'all' }, (l) => void lines.push(jsonLine(l)));
    if (lines.length < 2) await new Promise((r) => setTimeout(r, 200));
  }
  const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(objects.map((o) => [o.service, o.replica, o.node, o.stream, o.line]).sort(), [
    ['api', '1', null, 'stderr', 'raw ***'],
    ['api', '1', null, 'stdout', 'connecting to postgres://app:***@db:5432/app'],
  ]);
  assert.ok(
    objects.every((o) => /^\d{4}-\d\d-\d\dT[\d:.]{18}Z$/.test(String(o.time))),
    lines.join('\n'),
  );
  assert.ok(!lines.join('\n').includes('p%40ss') && !lines.join('\n').includes('p@ss'));
});

test('exec: the command runs in the replica as argv, its exit code passed through, output masked', { skip }, async () => {
  const out: string[] = [];
  const r = await execIn(ctx, {
    service: 'api',
    argv: ['sh', '-c', 'echo "in $(hostname) with $1"; exit 7', 'x', PASSWORD],
    terminal: false,
    write: (t) => void out.push(t),
  });
  assert.equal(r.exitCode, 7);
  assert.match(out.join(''), /^in \w+ with \*\*\*\n$/);
  await assert.rejects(
    execIn(ctx, { service: 'api', replica: '9', argv: ['true'], terminal: false, write: () => {} }),
    /no running replica 9/,
  );
});

test('run: a one-off container, its exit code passed through, removed afterwards', { skip }, async () => {
  const out: string[] = [];
  const r = await runOnce(ctx, {
    service: 'api',
    argv: ['sh', '-c', 'echo "one-off $DB_HOST"; exit 5'],
    terminal: false,
    write: (t) => void out.push(t),
  });
  assert.equal(r.exitCode, 5);
  assert.match(out.join(''), /one-off db/);
  const left = await run(
    cmd(
      [
        'docker',
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${ctx.engine.project}`,
        '--filter',
        'label=com.docker.compose.oneoff=True',
      ],
      'list one-offs',
    ),
  );
  assert.equal(left.stdout.trim(), '', 'no one-off container left');
});

test('a failing beforeRollout hook aborts the rollout: output shown masked, the old replica untouched and running', { skip }, async () => {
  const before = (await ctx.engine.liveState(run)).containers.filter((c) => c.service === 'api');
  const err = await rollout(ctx, ['api']).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof HookError, String(err));
  assert.equal(err.exitCode, 3);
  assert.match(err.message, /beforeRollout hook of api failed \(exit 3\).*old replicas keep serving\nmigrating with \*\*\*$/s);
  const afterwards = (await ctx.engine.liveState(run)).containers.filter((c) => c.service === 'api');
  assert.deepEqual(
    afterwards.map((c) => [c.id, c.state]),
    before.map((c) => [c.id, 'running']),
  );
});

// wharf logs on a real engine: the tiny stack's two db replicas, merged by Compose, each line
// prefixed by its replica; --since and --tail as the engine takes them. Needs Docker (hold
// /tmp/wharf-docker.lock); skipped with a reason elsewhere, fails under CI=true.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { composeContext, type OpsContext } from '../../engine/context.js';
import { run } from '../../engine/run.js';
import { requireDocker, tinyPlan, writeCompose } from '../../engine/testing/tiny-stack.js';
import { logLine } from './logs.js';

const skip = await requireDocker();
let ctx: OpsContext;
let dir: string;

before(async () => {
  if (skip) return;
  const plan = tinyPlan(`wharflogs${process.pid}`);
  dir = writeCompose(plan);
  ctx = await composeContext({ plan, outDir: dir, projectDir: dir });
  await run(ctx.engine.apply());
});

after(async () => {
  if (skip) return;
  await run(ctx.engine.remove({ volumes: true }), { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

test('wharf logs: every replica of a service, merged, each line prefixed by its replica', { skip }, async () => {
  const lines: string[] = [];
  // the servers print their first line right after start
  for (let i = 0; i < 50 && lines.filter((l) => /listening on 8080/.test(l)).length < 2; i++) {
    lines.length = 0;
    await run(ctx.engine.logs('db', 'all', { since: '10m' }), { onLine: (l) => void lines.push(logLine(l)) });
    await new Promise((r) => setTimeout(r, 200));
  }
  const prefixes = lines
    .filter((l) => /listening on 8080/.test(l))
    .map((l) => l.split('|')[0]!.trim())
    .sort();
  assert.deepEqual(prefixes, ['db-1', 'db-2'], lines.join('\n'));
  const all = await run(ctx.engine.logs('db', 'all', { since: '2000-01-01T00:00:00Z' }));
  assert.match(all.stdout.split('\n').map(logLine).join('\n'), /^db-1 +\| listening on 8080$/m);
  const tail = await run(ctx.engine.logs('db', 1));
  assert.equal(tail.stdout.split('\n').filter(Boolean).length, 2, 'one line per replica');
});

test("wharf logs --follow: streams both replicas' lines until stopped, keeping none in memory", { skip }, async () => {
  const lines: string[] = [];
  // stopped by a deadline here; a user stops it with Ctrl-C
  const follow = { ...ctx.engine.logs('db', 'all', { follow: true }), timeoutMs: 3000 };
  const r = await run(follow, { reject: false, stream: true, onLine: (l) => void lines.push(logLine(l)) });
  assert.equal(r.timedOut, true, 'still following when stopped');
  assert.equal(r.stdout, '', 'nothing buffered');
  assert.deepEqual(
    lines
      .filter((l) => /listening on 8080/.test(l))
      .map((l) => l.split('|')[0]!.trim())
      .sort(),
    ['db-1', 'db-2'],
  );
});

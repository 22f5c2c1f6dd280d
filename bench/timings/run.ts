// Time budgets the tests used to assert (a loaded CI machine made them flaky; the tests keep
// the behaviour, this bench keeps the numbers). Each case prints its time next to its budget;
// the exit status is 1 when one is over.
//   npx tsx bench/timings/run.ts [--no-docker]
import { execa } from 'execa';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createCache } from '../../apps/api/src/cache.js';
import { createMetrics } from '../../apps/api/src/metrics.js';
import { composeContext } from '../../src/engine/context.js';
import { run } from '../../src/engine/run.js';
import { requireDocker, tinyPlan, writeCompose } from '../../src/engine/testing/tiny-stack.js';
import { up, UpTimeoutError } from '../../src/ops/up.js';
import { buildScript } from '../../test/e2e/support/images.js';
import { startRedis } from '../../test/support/servers.js';

const rows: Array<{ name: string; ms: number; budgetMs: number }> = [];
async function time(name: string, budgetMs: number, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  rows.push({ name, ms: performance.now() - t0, budgetMs });
}

// apps/api/test/cache.tools.test.ts: with Redis down, reads fail open fast, not after a timeout.
{
  const redis = await startRedis();
  const cache = createCache(
    {
      host: redis.host,
      port: redis.port,
      password: redis.password,
      username: undefined,
      db: 0,
      commandTimeoutMs: 250,
      connectTimeoutMs: 1000,
    },
    createMetrics(),
    () => undefined,
  );
  while (cache.client.status !== 'ready') await new Promise((r) => setTimeout(r, 20));
  await redis.stop({ keepData: true });
  await time('api cache: 3 reads with Redis down resolve', 1000, async () => {
    await Promise.all([cache.get('a'), cache.get('b'), cache.get('a')]);
  });
  await cache.close();
  await redis.stop();
}

const noDocker = process.argv.includes('--no-docker') || (await requireDocker());
if (!noDocker) {
  // src/ops/up.engine.test.ts: a service that exits on start is called crash-looping early.
  const plan = tinyPlan(`wharfbench${process.pid}`, { dbReplicas: 1 });
  plan.components.find((c) => c.name === 'db')!.command = ['sh', '-c', 'echo "fatal: boom" >&2; exit 3'];
  const dir = writeCompose(plan);
  const ctx = await composeContext({ plan, outDir: dir, projectDir: dir });
  try {
    await time('up: a crash-looping service is reported', 60_000, async () => {
      const err = await up(ctx, { timeoutMs: 120_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof UpTimeoutError) || err.reason !== 'crash-loop') throw new Error(`expected crash-loop, got ${String(err)}`);
    });
  } finally {
    await run(ctx.engine.remove({ volumes: true }), { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
  // test/e2e/images-smoke.engine.test.ts: a warm run of the image build finds every tag.
  await execa('bash', [buildScript, '--json']);
  await time('build-test-images.sh, warm (every image cached)', 60_000, async () => {
    await execa('bash', [buildScript, '--json']);
  });
}

for (const r of rows) {
  console.log(`${r.ms <= r.budgetMs ? 'ok  ' : 'OVER'} ${r.name}: ${Math.round(r.ms)} ms (budget ${r.budgetMs} ms)`);
}
process.exit(rows.every((r) => r.ms <= r.budgetMs) ? 0 : 1);

// The Swarm side of bench/rollout (`npm run bench:rollout:swarm`, or run.ts --target swarm):
// on the Docker-in-Docker swarm fixture (scripts/docker/swarm-nodes.sh, 3 managers, a local
// registry), the api template (a 3-replica API behind HAProxy on every node's host-mode
// port, PostgreSQL, Redis; monitoring off) under steady load through one node's edge, an env
// change of the API deployed two ways on the same stack, alternating:
// - wharf: `wharf up` (stack deploy of the rendered file: update_config start-first, a
//   monitor window, failure_action rollback), returning once the orchestrator says completed;
// - baseline: `docker stack deploy` of the same rendered file with the API's update_config and
//   rollback_config removed, i.e. Swarm's defaults (stop-first, parallelism 1, monitor 5 s,
//   failure_action pause), the same change.
// Failed requests, p50/p99 of the successful ones against the steady state before each
// change, the time until every running task runs the new spec, and the time until the
// update is completed (wharf: when up returns).
//   npx tsx bench/rollout/swarm.ts [--rounds 3]   (fixture prefix: WHARF_SWARM_PREFIX, default wharf-swarm-bench)
// WHARF_KEEP_SWARM=1 leaves the fixture up (the stack is removed either way).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import type { OpsContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { run } from '../../src/engine/run.js';
import { SwarmEngine } from '../../src/engine/swarm.js';
import { prepare } from '../../src/ops/prepare.js';
import { parseRolloutState } from '../../src/ops/rollout.js';
import { up } from '../../src/ops/up.js';
import { createSwarmStack, edgeLoad, swarmScript, swarmUp, type LoadResult } from '../../test/e2e/support/swarm.js';
import { median, pct } from '../stats.js';

const arg = (k: string) => (process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : undefined);
const rounds = Number(arg('--rounds') || 3);
const log = (m: string) => process.stderr.write(`[bench-rollout-swarm] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BASELINE_FILE = 'stack.baseline.yaml';
// Its own fixture: the e2e's (default prefix wharf-swarm) may be in use, and this one is torn down after.
process.env.WHARF_SWARM_PREFIX ??= 'wharf-swarm-bench';
const project = `benchrosw${process.pid % 10000}`;
const t00 = performance.now();
const { fixture: fx } = await swarmUp();
const stack = await createSwarmStack(fx, 'api', project, (spec) => {
  spec.monitoring = { enabled: false };
});
const node = fx.nodes[0]!;
const apiHost = stack.plan.routes.find((r) => r.service === 'api')!.host;
const host = stack.engine.dockerHost ? { DOCKER_HOST: stack.engine.dockerHost } : undefined;
const request = () => edgeRequest({ host: apiHost, path: '/health', port: stack.plan.proxy.httpsPort, address: node.ip, timeoutMs: 5000 });
const specPath = join(stack.dir, 'wharf.yaml');

async function changeEnv(value: string): Promise<OpsContext> {
  const spec = parse(readFileSync(specPath, 'utf8')) as Record<string, any>;
  spec.services.api.env = { ...spec.services.api.env, ROLL: value };
  writeFileSync(specPath, stringify(spec));
  const p = await prepare({ specPath, target: 'swarm' });
  stack.plan = p.plan;
  return {
    plan: p.plan,
    outDir: stack.outDir,
    projectDir: stack.dir,
    engine: stack.engine,
    secretsDir: join(stack.dir, '.wharf', 'secrets'),
  };
}

/** The rendered stack file with Swarm's default update and rollback policy for the API. */
function writeBaseline(): void {
  const doc = parse(readFileSync(join(stack.outDir, 'stack.yaml'), 'utf8')) as {
    services: Record<string, { deploy: Record<string, unknown> }>;
  };
  delete doc.services.api!.deploy.update_config;
  delete doc.services.api!.deploy.rollback_config;
  writeFileSync(join(stack.outDir, BASELINE_FILE), stringify(doc));
}

/** The env of every running task of the API. */
async function taskEnvs(): Promise<string[][]> {
  const ids = (
    await execa('docker', ['service', 'ps', '-q', '--filter', 'desired-state=running', stack.engine.serviceName('api')], { env: host })
  ).stdout
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  const r = await execa('docker', ['inspect', '--format', '{{.Status.State}} {{json .Spec.ContainerSpec.Env}}', ...ids], {
    env: host,
    reject: false,
  });
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('running '))
    .map((l) => (JSON.parse(l.slice('running '.length)) as string[] | null) ?? []);
}

/** Seconds (from t0) until 3 tasks run with ROLL=value, and until the update is completed. */
async function rolled(value: string, t0: number, since: number, timeoutMs = 10 * 60_000): Promise<{ tasks: number; completed: number }> {
  let tasks = NaN;
  while (performance.now() - t0 < timeoutMs) {
    if (Number.isNaN(tasks)) {
      const envs = await taskEnvs();
      if (envs.length === 3 && envs.every((e) => e.includes(`ROLL=${value}`))) tasks = (performance.now() - t0) / 1000;
    }
    const st = parseRolloutState((await run(stack.engine.rolloutStates(['api']))).stdout, stack.engine.serviceName('api'));
    if (st && st.startedAt >= since - 2000 && st.state !== 'updating') {
      if (st.state !== 'completed') throw new Error(`the update ended ${st.state}: ${st.message}`);
      if (!Number.isNaN(tasks)) return { tasks, completed: (performance.now() - t0) / 1000 };
    }
    await sleep(500);
  }
  throw new Error(`the API did not roll to ROLL=${value} within ${timeoutMs} ms`);
}

interface Sample {
  failed: number;
  requests: number;
  p50: number;
  p99: number;
  tasksS: number;
  completedS: number;
}
const samples: Record<'wharf' | 'baseline', Sample[]> = { wharf: [], baseline: [] };

try {
  log(
    `fixture ready after ${((performance.now() - t00) / 1000).toFixed(0)} s; deploying ${project} (leader ${fx.leader}, load through ${node.name})`,
  );
  let ctx = await changeEnv('0');
  await up(ctx, { timeoutMs: 10 * 60_000, pollMs: 2000 });
  // Every node's HAProxy finds the tasks by DNS and admits each after 2 passed checks.
  const seen = new Set<string>();
  const tw = performance.now();
  while (seen.size < 3 && performance.now() - tw < 180_000) {
    try {
      const r = await request();
      if (r.status === 200) seen.add(String(r.headers['x-instance']));
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  log(`the edge on ${node.name} reaches ${seen.size} API tasks`);
  await sleep(10_000);
  const steady: LoadResult[] = [];
  const baselineEngine = new SwarmEngine({
    project,
    dir: stack.outDir,
    file: BASELINE_FILE,
    dockerHost: stack.engine.dockerHost,
    resolveImage: 'never',
  });
  for (let i = 0; i < rounds; i++) {
    for (const how of ['baseline', 'wharf'] as const) {
      const sl = edgeLoad(request);
      await sleep(8000);
      const st = (await sl.end()).results;
      steady.push(...st);
      log(
        `steady before round ${i + 1} ${how}: ${st.length} requests, ${st.filter((r) => !r.ok).length} failed, p50 ${pct(
          st.map((r) => r.ms),
          50,
        ).toFixed(1)} ms, p99 ${pct(
          st.map((r) => r.ms),
          99,
        ).toFixed(1)} ms`,
      );
      const value = `${i}-${how}`;
      ctx = await changeEnv(value);
      if (how === 'baseline') writeBaseline();
      const l = edgeLoad(request);
      await sleep(2000);
      const t0 = performance.now();
      const since = Date.now();
      // Watched while the deploy runs: wharf's up returns only once the update is completed.
      const watch = rolled(value, t0, since);
      watch.catch(() => {});
      if (how === 'wharf') await up(ctx, { timeoutMs: 10 * 60_000, pollMs: 1000 });
      else await run(baselineEngine.apply());
      const t = await watch;
      await sleep(3000);
      const { results, failed } = await l.end();
      const ms = results.filter((r) => r.ok).map((r) => r.ms);
      const x: Sample = {
        failed: failed.length,
        requests: results.length,
        p50: pct(ms, 50),
        p99: pct(ms, 99),
        tasksS: t.tasks,
        completedS: t.completed,
      };
      samples[how].push(x);
      log(
        `round ${i + 1} ${how}: new tasks after ${t.tasks.toFixed(1)} s, completed after ${t.completed.toFixed(1)} s; failed ${x.failed} of ${x.requests}${failed.length ? ` (${[...new Set(failed.map((f) => f.why))].slice(0, 3).join('; ')})` : ''}, p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms`,
      );
    }
  }

  const sp50 = pct(
    steady.map((r) => r.ms),
    50,
  );
  const sp99 = pct(
    steady.map((r) => r.ms),
    99,
  );
  const m = (how: 'wharf' | 'baseline', k: keyof Sample) => median(samples[how].map((x) => x[k]));
  console.log(
    `\nSwarm: rollout of a 3-replica API (env change) under load through one node's HAProxy, ${rounds} round(s), medians; steady state p50 ${sp50.toFixed(1)} ms, p99 ${sp99.toFixed(1)} ms`,
  );
  console.log(
    `${'how'.padEnd(44)} ${'failed'.padEnd(14)} ${'requests'.padEnd(9)} ${'p50 ms'.padEnd(8)} ${'p99 ms'.padEnd(8)} ${'new tasks s'.padEnd(12)} completed s`,
  );
  for (const how of ['baseline', 'wharf'] as const) {
    const u = samples[how];
    console.log(
      `${(how === 'wharf' ? 'wharf up (start-first, monitored)' : 'docker stack deploy, default update_config').padEnd(44)} ${`${m(how, 'failed')} (${u.map((x) => x.failed).join('/')})`.padEnd(14)} ${String(m(how, 'requests')).padEnd(9)} ${m(how, 'p50').toFixed(1).padEnd(8)} ${m(how, 'p99').toFixed(1).padEnd(8)} ${m(how, 'tasksS').toFixed(1).padEnd(12)} ${m(how, 'completedS').toFixed(1)}`,
    );
  }
  const row = (k: string, v: string) => console.log(`${k.padEnd(40)} ${v}`);
  const fw = m('wharf', 'failed');
  const fb = m('baseline', 'failed');
  row('\nratio wharf / baseline: failed', fb ? (fw / fb).toFixed(2) : `${fw} vs 0`);
  row('ratio wharf / baseline: p99', (m('wharf', 'p99') / m('baseline', 'p99')).toFixed(2));
  row('ratio wharf / baseline: new tasks time', (m('wharf', 'tasksS') / m('baseline', 'tasksS')).toFixed(2));
  row('ratio wharf / baseline: completed time', (m('wharf', 'completedS') / m('baseline', 'completedS')).toFixed(2));
  row('wharf p99 / steady p99', (m('wharf', 'p99') / sp99).toFixed(2));
  row('baseline p99 / steady p99', (m('baseline', 'p99') / sp99).toFixed(2));
} finally {
  await stack.destroy();
  if (process.env.WHARF_KEEP_SWARM !== '1') await execa('bash', [swarmScript, 'down'], { reject: false, timeout: 120_000 });
}

// Failover and rolling updates on the 3-manager test swarm (scripts/docker/swarm-nodes.sh),
// the api template behind HAProxy deployed with --target swarm, a steady load through the
// edge of a node that stays up:
// - leader loss (docker stop of the leader node): time to a new leader, time until every
//   service runs its count on the nodes left, and requests lost; median of the rounds.
// - `docker service update --force` of the API, wharf's rendered start-first next to Swarm's
//   own default stop-first (the baseline), same run, alternating: failed requests, p50/p99
//   and time, with the ratios.
//   npx tsx bench/failover/run.ts [--rounds 3]      (WHARF_KEEP_SWARM=1 keeps the fixture)
import { execa } from 'execa';
import { edgeRequest } from '../../src/engine/edge.js';
import { run } from '../../src/engine/run.js';
import { SwarmEngine } from '../../src/engine/swarm.js';
import { up } from '../../src/ops/up.js';
import {
  createSwarmStack,
  edgeLoad,
  leaderOf,
  moveLeaderOff,
  swarmScript,
  swarmUp,
  waitReconverged,
  type LoadResult,
} from '../../test/e2e/support/swarm.js';
import { median, pct } from '../stats.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3);
const log = (m: string) => process.stderr.write(`[bench-failover] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { fixture: fx } = await swarmUp();
const stack = await createSwarmStack(fx, 'api', 'benchfail');
const host = stack.plan.routes.find((r) => r.service === 'api')!.host;
const through = (ip: string) => () =>
  edgeRequest({ host, path: '/health', port: stack.plan.proxy.httpsPort, address: ip, timeoutMs: 2000 });
const ctx = { plan: stack.plan, outDir: stack.outDir, projectDir: stack.dir, engine: stack.engine };

async function allBack(engine: SwarmEngine): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < 180_000) {
    const rows = (await run(engine.nodes(), { reject: false })).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Status: string; ManagerStatus: string });
    if (
      rows.length === fx.nodes.length &&
      rows.every((x) => x.Status === 'Ready' && (x.ManagerStatus === 'Leader' || x.ManagerStatus === 'Reachable'))
    )
      return;
    await sleep(1000);
  }
  throw new Error('the stopped node did not rejoin in 180 s');
}

try {
  log(`deploying ${stack.plan.name} (${rounds} rounds)`);
  await up(ctx, { timeoutMs: 10 * 60_000, pollMs: 2000 });
  const failover: Array<{ leader: number; converge: number; failed: number; requests: number }> = [];
  for (let i = 0; i < rounds; i++) {
    const leader = await moveLeaderOff(fx, fx.dataNode);
    const client = fx.nodes.find((n) => n.name !== leader && n.name !== fx.dataNode)!;
    const survivor = new SwarmEngine({ project: stack.plan.name, dir: stack.outDir, dockerHost: client.dockerHost, resolveImage: 'never' });
    const load = edgeLoad(through(client.ip));
    await sleep(3000);
    const t0 = performance.now();
    await execa('docker', ['stop', '-t', '10', leader]);
    let next: string | undefined;
    while (!next && performance.now() - t0 < 120_000) {
      next = await leaderOf(fx, [leader]);
      if (!next) await sleep(250);
    }
    const leaderS = (performance.now() - t0) / 1000;
    await waitReconverged(survivor, stack.plan, [leader], 5 * 60_000);
    const convergeS = (performance.now() - t0) / 1000;
    await sleep(5000);
    const { results, failed } = await load.end();
    failover.push({ leader: leaderS, converge: convergeS, failed: failed.length, requests: results.length });
    log(
      `round ${i + 1}: stopped ${leader}, new leader ${next} after ${leaderS.toFixed(1)}s, reconverged after ${convergeS.toFixed(1)}s, ${failed.length}/${results.length} failed`,
    );
    await execa('docker', ['start', leader]);
    await allBack(survivor);
    // the restarted node's tasks and edge come back before the next round measures anything
    await up(ctx, { timeoutMs: 5 * 60_000, pollMs: 2000 });
  }

  const client = fx.nodes.find((n) => n.name !== fx.dataNode)!;
  const engine = new SwarmEngine({ project: stack.plan.name, dir: stack.outDir, dockerHost: client.dockerHost, resolveImage: 'never' });
  const update = {
    'start-first': [] as Array<{ failed: number; requests: number; p50: number; p99: number; s: number }>,
    'stop-first': [] as Array<{ failed: number; requests: number; p50: number; p99: number; s: number }>,
  };
  const steady: LoadResult[] = [];
  {
    const l = edgeLoad(through(client.ip));
    await sleep(10_000);
    steady.push(...(await l.end()).results);
  }
  for (let i = 0; i < rounds; i++) {
    for (const order of ['stop-first', 'start-first'] as const) {
      const load = edgeLoad(through(client.ip));
      await sleep(2000);
      const t0 = performance.now();
      await run(engine.rollout('api', order));
      let state = '';
      while (performance.now() - t0 < 10 * 60_000) {
        state = (await run(engine.rolloutState('api'))).stdout.trim();
        if (state === 'completed' || state === 'rollback_completed' || state === 'paused') break;
        await sleep(1000);
      }
      const s = (performance.now() - t0) / 1000;
      await sleep(3000);
      const { results, failed } = await load.end();
      const ms = results.filter((r) => r.ok).map((r) => r.ms);
      update[order].push({ failed: failed.length, requests: results.length, p50: pct(ms, 50), p99: pct(ms, 99), s });
      log(
        `update ${i + 1} ${order}: ${state} in ${s.toFixed(1)}s, ${failed.length}/${results.length} failed, p50 ${pct(ms, 50).toFixed(1)} ms, p99 ${pct(ms, 99).toFixed(1)} ms`,
      );
    }
  }
  // leave the service as rendered
  await run(engine.rollout('api', 'start-first'));

  const row = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);
  console.log(`\nfailover: ${rounds} rounds of stopping the leader node (3 managers, HAProxy edge with retries and redispatch)`);
  row('time to a new leader (median, s)', median(failover.map((f) => f.leader)).toFixed(1));
  row('time to full reconvergence (median, s)', median(failover.map((f) => f.converge)).toFixed(1));
  row(
    'requests lost (median / per round)',
    `${median(failover.map((f) => f.failed))} / ${failover.map((f) => `${f.failed} of ${f.requests}`).join(', ')}`,
  );
  const sp50 = pct(
    steady.map((r) => r.ms),
    50,
  );
  const sp99 = pct(
    steady.map((r) => r.ms),
    99,
  );
  console.log(`\nrolling update of the API (3 tasks, force), steady state p50 ${sp50.toFixed(1)} ms p99 ${sp99.toFixed(1)} ms`);
  console.log(`${'order'.padEnd(24)} ${'failed (median)'.padEnd(18)} ${'p50 ms'.padEnd(10)} ${'p99 ms'.padEnd(10)} ${'time s'.padEnd(8)}`);
  for (const order of ['stop-first', 'start-first'] as const) {
    const u = update[order];
    console.log(
      `${(order === 'start-first' ? 'start-first (wharf)' : 'stop-first (baseline)').padEnd(24)} ${`${median(u.map((x) => x.failed))} of ~${median(u.map((x) => x.requests))}`.padEnd(18)} ${median(
        u.map((x) => x.p50),
      )
        .toFixed(1)
        .padEnd(10)} ${median(u.map((x) => x.p99))
        .toFixed(1)
        .padEnd(10)} ${median(u.map((x) => x.s)).toFixed(1)}`,
    );
  }
  const w = update['start-first'];
  const b = update['stop-first'];
  row(
    '\nratio wharf / baseline: failed',
    median(b.map((x) => x.failed))
      ? (median(w.map((x) => x.failed)) / median(b.map((x) => x.failed))).toFixed(2)
      : `${median(w.map((x) => x.failed))} vs 0`,
  );
  row('ratio wharf / baseline: p99', (median(w.map((x) => x.p99)) / median(b.map((x) => x.p99))).toFixed(2));
  row('wharf p99 / steady p99', (median(w.map((x) => x.p99)) / sp99).toFixed(2));
} finally {
  await stack.destroy();
  if (process.env.WHARF_KEEP_SWARM !== '1') await execa('bash', [swarmScript, 'down'], { reject: false, timeout: 120_000 });
}

// The swarm target for real: a 3-manager swarm of Docker-in-Docker nodes (built from the
// debootstrap base), images through a local registry, the `api` template behind HAProxy
// deployed with SwarmEngine, answered through a node's host-mode port and balanced over
// the API's tasks. Then the leader node is stopped under a steady load through the edge
// of another node: a new leader, the stack reconverges, and the failed requests are counted.
//
// WHARF_KEEP_SWARM=1 leaves the fixture up for the next run (the stack is removed either way).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { edgeRequest } from '../../src/engine/edge.js';
import { run } from '../../src/engine/run.js';
import { SwarmEngine } from '../../src/engine/swarm.js';
import { dockerSkipReason } from './support/images.js';
import {
  createSwarmStack, execInTask, leaderOf, moveLeaderOff, swarmScript, swarmUp, waitConverged, waitReconverged,
  type SwarmFixture, type SwarmStack,
} from './support/swarm.js';

const skip = dockerSkipReason();
const log = (m: string) => process.stderr.write(`[swarm-e2e] ${m}\n`);

let fx: SwarmFixture;
let stack: SwarmStack;
const numbers: Record<string, number | string> = {};

before(async () => {
  if (skip) return;
  const up = await swarmUp();
  fx = up.fixture;
  numbers.swarmUpSeconds = +up.seconds.toFixed(1);
  stack = await createSwarmStack(fx, 'api', 'shopswarm');
  numbers.pushSeconds = +stack.pushSeconds.toFixed(1);
  log(`fixture up in ${numbers.swarmUpSeconds}s, images pushed in ${numbers.pushSeconds}s, leader ${fx.leader}, data on ${fx.nodes.at(-1)!.name}`);
}, { timeout: 30 * 60_000 });

after(async () => {
  if (skip) return;
  log(`numbers: ${JSON.stringify(numbers)}`);
  await stack?.destroy();
  if (process.env.WHARF_KEEP_SWARM !== '1') await execa('bash', [swarmScript, 'down'], { reject: false, timeout: 120_000 });
}, { timeout: 5 * 60_000 });

const apiHost = () => stack.plan.routes.find((r) => r.service === 'api')!.host;
const https = (node: { ip: string }, path = '/health', timeoutMs = 5000) =>
  edgeRequest({ host: apiHost(), path, port: stack.plan.proxy.httpsPort, address: node.ip, timeoutMs });

/** Steady load through one node's edge: 4 workers, one request at a time each, 2 s client timeout. */
function steadyLoad(node: { ip: string }) {
  let stop = false;
  const results: Array<{ t: number; ok: boolean; why?: string }> = [];
  const t0 = performance.now();
  const worker = async () => {
    while (!stop) {
      const t = (performance.now() - t0) / 1000;
      try {
        const r = await https(node, '/health', 2000);
        results.push({ t, ok: r.status === 200, why: r.status === 200 ? undefined : `status ${r.status}` });
      } catch (e) { results.push({ t, ok: false, why: (e as Error).message }); }
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  return {
    t0, results,
    now: () => (performance.now() - t0) / 1000,
    async end() { stop = true; await Promise.all(workers); return { results, failed: results.filter((r) => !r.ok) }; },
  };
}

const failures = (failed: Array<{ t: number; why?: string }>) => failed.slice(0, 10).map((f) => `${f.t.toFixed(1)}s ${f.why}`).join('; ');

async function untilOk(node: { ip: string }, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    try {
      const r = await https(node, '/health', 3000);
      if (r.status === 200) return (performance.now() - t0) / 1000;
      last = `status ${r.status}`;
    } catch (e) { last = (e as Error).message; }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the API did not answer through ${node.ip}:${stack.plan.proxy.httpsPort} in ${timeoutMs} ms (${last})`);
}

test('the api template deploys to the swarm and converges', { skip, timeout: 15 * 60_000 }, async () => {
  await run(stack.engine.validate());
  const t0 = performance.now();
  await run(stack.engine.deploy());
  const conv = await waitConverged(stack.engine, stack.plan.components.length, 10 * 60_000);
  numbers.deployConvergeSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  log(`converged in ${numbers.deployConvergeSeconds}s: ${conv.rows.map((r) => `${r.Name}=${r.Replicas}`).join(' ')}`);
  // databases and caches on the labelled node, prometheus on a manager, node agents everywhere
  const tasks = (await run(stack.engine.tasks())).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Name: string; Node: string; CurrentState: string; DesiredState: string });
  const running = tasks.filter((t) => t.DesiredState === 'Running');
  for (const svc of ['db', 'cache', 'backup']) {
    assert.deepEqual([...new Set(running.filter((t) => t.Name.startsWith(`${stack.plan.name}_${svc}.`)).map((t) => t.Node))], [fx.dataNode], svc);
  }
  assert.equal(new Set(running.filter((t) => t.Name.startsWith(`${stack.plan.name}_node-exporter.`)).map((t) => t.Node)).size, fx.nodes.length);
  assert.equal(new Set(running.filter((t) => t.Name.startsWith(`${stack.plan.name}_proxy.`)).map((t) => t.Node)).size, fx.nodes.length);
});

test('the API answers through every node\'s host-mode edge port, balanced over its tasks', { skip, timeout: 10 * 60_000 }, async () => {
  for (const n of fx.nodes) {
    const s = await untilOk(n, 180_000);
    log(`${n.name} (${n.ip}) edge answers after ${s.toFixed(1)}s more`);
  }
  // Each node's HAProxy finds the tasks by DNS and needs 2 passed checks (2 s apart) per
  // server: wait until every edge rotates over all three before measuring the balance.
  for (const n of fx.nodes) {
    const t0 = performance.now();
    const seen = new Set<string>();
    while (seen.size < 3 && performance.now() - t0 < 60_000) {
      seen.add(String((await https(n, '/health')).headers['x-instance']));
      if (seen.size < 3) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(seen.size, 3, `${n.name}'s edge reaches only ${[...seen].join(', ')}`);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const r = await https(fx.nodes[i % fx.nodes.length]!, '/health');
    assert.equal(r.status, 200);
    const inst = String(r.headers['x-instance']);
    counts.set(inst, (counts.get(inst) ?? 0) + 1);
  }
  log(`instances: ${JSON.stringify(Object.fromEntries(counts))}`);
  numbers.instances = counts.size;
  assert.equal(counts.size, 3, `expected the 3 API tasks to answer, got ${[...counts.keys()].join(', ')}`);
  for (const [k, n] of counts) assert.ok(n >= 10, `${k} answered only ${n} of 60`);
  // metrics are never routed by the edge
  assert.equal((await https(fx.nodes[0]!, '/metrics')).status, 404);
  // the API reaches PostgreSQL and Redis on the data node over the backend overlay
  for (const n of fx.nodes) {
    const r = await https(n, '/api/data');
    assert.equal(r.status, 200, `/api/data through ${n.name}: ${r.status} ${r.body.slice(0, 200)}`);
  }
});

test('Prometheus finds every target through tasks.<svc> and scrapes them all across nodes', { skip, timeout: 5 * 60_000 }, async () => {
  const t0 = performance.now();
  let down: string[] = [];
  let total = 0;
  while (performance.now() - t0 < 120_000) {
    const r = await execInTask(fx, stack.engine, 'prometheus', ['wget', '-q', '-O', '-', 'http://127.0.0.1:9090/api/v1/targets?state=active']);
    if (r.exitCode === 0) {
      const targets = (JSON.parse(r.stdout) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> } }).data.activeTargets;
      total = targets.length;
      down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.job} ${t.labels.instance} ${t.health} ${t.lastError}`);
      // 3 api tasks and 3 node-exporters (one per node) at least
      const jobs = (j: string) => targets.filter((t) => t.labels.job === j).length;
      if (down.length === 0 && jobs('api') === 3 && jobs('node-exporter') === fx.nodes.length) break;
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
  numbers.prometheusTargets = total;
  numbers.prometheusTargetsSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  assert.deepEqual(down, [], `targets not up: ${down.join('\n')}`);
  assert.ok(total >= 3 + fx.nodes.length, `only ${total} targets`);
});

test('a rolling update of the API (start-first) under load through the edge', { skip, timeout: 15 * 60_000 }, async () => {
  const load = steadyLoad(fx.nodes[0]!);
  await new Promise((res) => setTimeout(res, 2000));
  const before = new Set<string>();
  for (let i = 0; i < 12; i++) before.add(String((await https(fx.nodes[0]!, '/health')).headers['x-instance']));
  const t = performance.now();
  await run(stack.engine.rollout('api'));
  // done when UpdateStatus says completed
  let state = '';
  while (performance.now() - t < 10 * 60_000) {
    state = (await run(stack.engine.rolloutState('api'))).stdout.trim();
    if (state === 'completed' || state === 'rollback_completed' || state === 'paused') break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  numbers.rollingUpdateSeconds = +((performance.now() - t) / 1000).toFixed(1);
  await new Promise((res) => setTimeout(res, 3000));
  const after = new Set<string>();
  for (let i = 0; i < 12; i++) after.add(String((await https(fx.nodes[0]!, '/health')).headers['x-instance']));
  const { results, failed } = await load.end();
  Object.assign(numbers, { rollingUpdateRequests: results.length, rollingUpdateFailed: failed.length });
  log(`rolling update ${state} in ${numbers.rollingUpdateSeconds}s; ${results.length} requests, ${failed.length} failed${failed.length ? `: ${failures(failed)}` : ''}; instances before ${[...before].join(',')} after ${[...after].join(',')}`);
  assert.equal(state, 'completed');
  assert.equal(after.size, 3);
  assert.ok([...after].every((i) => !before.has(i)), 'every task was replaced');
  assert.ok(failed.length <= results.length * 0.05, `${failed.length} of ${results.length} requests failed`);
});

test('losing the leader: a new leader, the stack reconverges, requests through another node keep answering', { skip, timeout: 15 * 60_000 }, async () => {
  // An earlier failover may have left the leader on the data node: losing it would take
  // the database along (it is pinned there), which is another test.
  const leader = await moveLeaderOff(fx, fx.dataNode);
  assert.ok(leader, 'no leader before the failover');
  assert.notEqual(leader, fx.dataNode);
  const client = fx.nodes.find((n) => n.name !== leader && n.name !== fx.dataNode)!;
  const survivor = new SwarmEngine({ project: stack.plan.name, dir: stack.outDir, dockerHost: client.dockerHost, resolveImage: 'never' });

  const load = steadyLoad(client);
  const t0 = load.t0;
  await new Promise((res) => setTimeout(res, 3000));
  const killedAt = load.now();
  // stop: dockerd stops its containers (SIGTERM, drain) then dies; kill: the node just vanishes
  const how = process.env.WHARF_SWARM_FAILOVER === 'kill' ? ['kill', leader!] : ['stop', '-t', '10', leader!];
  await execa('docker', how);
  const stoppedAt = load.now();
  numbers.failoverMode = how[0]!;

  let newLeader: string | undefined;
  while (!newLeader && performance.now() - t0 < 120_000) {
    newLeader = await leaderOf(fx, [leader]);
    if (!newLeader) await new Promise((res) => setTimeout(res, 500));
  }
  const leaderAt = load.now();
  assert.ok(newLeader && newLeader !== leader, 'no new leader within 120 s');
  // Reconverged: the stopped node reported Down, every service back at its count on the
  // nodes left (global services: one per live node).
  const conv = await waitReconverged(survivor, stack.plan, [leader!], 5 * 60_000);
  const convergedAt = load.now();
  await new Promise((res) => setTimeout(res, 5000));
  const { results, failed } = await load.end();

  Object.assign(numbers, {
    failoverFailureWindowSeconds: failed.length ? +(failed.at(-1)!.t - failed[0]!.t).toFixed(1) : 0,
    failoverStopSeconds: +(stoppedAt - killedAt).toFixed(1),
    failoverNewLeaderSeconds: +(leaderAt - killedAt).toFixed(1),
    failoverReconvergeSeconds: +(convergedAt - killedAt).toFixed(1),
    failoverRequests: results.length,
    failoverFailed: failed.length,
    failoverNewLeader: newLeader!,
  });
  log(`stopped ${leader} (docker stop took ${numbers.failoverStopSeconds}s); new leader ${newLeader} after ${numbers.failoverNewLeaderSeconds}s; reconverged after ${numbers.failoverReconvergeSeconds}s (${conv.detail})`);
  log(`${results.length} requests, ${failed.length} failed${failed.length ? `: ${failures(failed)}` : ''}`);
  assert.ok(results.length > 100, 'the load did not run');
  // Goal 0 (issue 10); until retries cover every case, report and bound it.
  assert.ok(failed.length <= results.length * 0.05, `${failed.length} of ${results.length} requests failed`);

  // Bring the node back so the fixture stays a 3-manager swarm.
  await execa('docker', ['start', leader]);
  const back = performance.now();
  while (performance.now() - back < 120_000) {
    const r = await run(survivor.nodes(), { reject: false });
    const rows = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Hostname: string; Status: string; ManagerStatus: string });
    if (rows.length === fx.nodes.length && rows.every((x) => x.Status === 'Ready' && (x.ManagerStatus === 'Leader' || x.ManagerStatus === 'Reachable'))) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  numbers.rejoinSeconds = +((performance.now() - back) / 1000).toFixed(1);
});

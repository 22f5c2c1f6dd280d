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
import type { OpsContext } from '../../src/engine/context.js';
import { RolloutFailedError, up } from '../../src/ops/up.js';
import { status } from '../../src/ops/status.js';
import { doctor } from '../../src/ops/doctor.js';
import { down } from '../../src/ops/down.js';
import { rollback } from '../../src/ops/rollback.js';
import { backupNow, restoreBackup, stackBackupExecutor } from '../../src/ops/backup.js';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { prepare } from '../../src/ops/prepare.js';
import { execIn, runOnce } from '../../src/ops/exec.js';
import { HookError } from '../../src/ops/hooks.js';
import { readLogs } from '../../src/ops/logs.js';
import { normalTime, type LogLine } from '../../src/ops/log-merge.js';
import { rollout } from '../../src/ops/rollout.js';
import { dockerSkipReason, ensureTestImages } from './support/images.js';
import { pebbleOn, type PebbleContainer } from './support/pebble.js';
import { plan as planOf, renderInMemory, type PlanResult } from '../../src/ops/plan.js';
import {
  createSwarmStack,
  docker,
  edgeLoad,
  jsonLines,
  type TaskRow,
  execInTask,
  leaderOf,
  moveLeaderOff,
  swarmScript,
  swarmUp,
  waitReconverged,
  type SwarmFixture,
  type SwarmStack,
} from './support/swarm.js';

const skip = dockerSkipReason();
const log = (m: string) => process.stderr.write(`[swarm-e2e] ${m}\n`);

let fx: SwarmFixture;
let stack: SwarmStack;
let pebble: PebbleContainer | undefined;
const numbers: Record<string, number | string> = {};

before(
  async () => {
    if (skip) return;
    const up = await swarmUp();
    fx = up.fixture;
    numbers.swarmUpSeconds = +up.seconds.toFixed(1);
    // A short health window (the spec's own knobs): each rollout below watches every new task
    // for window + 5 s (23 + 5 s instead of the default 48 + 5 s), and a task that never gets
    // healthy is declared so after 20 s instead of 45 s. Same scenarios, less waiting.
    // Pebble on the nodes' network (a CA outside the swarm), for the edge's ACME certificate.
    pebble = await pebbleOn(fx.network, 'acme-swarm-pebble', (await ensureTestImages({ progress: null })).lego!);
    stack = await createSwarmStack(fx, 'api', 'shopswarm', (spec) => {
      spec.services.api.health = { ...spec.services.api.health, interval: '2s', startPeriod: '10s' };
      // names a CA may certify (wharf refuses ACME for .localhost): Pebble's DNS answers them all
      spec.domain = 'shop.test';
      for (const r of spec.services.api.routes) r.host = r.host.replace(/\.localhost$/, '.test');
      spec.tls = { mode: 'acme', email: 'ops@shop.test', ca: { directory: pebble!.directory, root: pebble!.root } };
    });
    // Every name resolves, for Pebble, to a node that does not run the ACME client (that is the data node).
    await pebble.serve(stack.plan.proxy.httpPort, challengeNode().ip);
    numbers.pushSeconds = +stack.pushSeconds.toFixed(1);
    log(
      `fixture up in ${numbers.swarmUpSeconds}s, images pushed in ${numbers.pushSeconds}s, leader ${fx.leader}, data on ${fx.nodes.at(-1)!.name}`,
    );
  },
  { timeout: 30 * 60_000 },
);

after(
  async () => {
    if (skip) return;
    log(`numbers: ${JSON.stringify(numbers)}`);
    await stack?.destroy();
    await pebble?.remove();
    if (process.env.WHARF_KEEP_SWARM !== '1') await execa('bash', [swarmScript, 'down'], { reject: false, timeout: 120_000 });
  },
  { timeout: 5 * 60_000 },
);

const challengeNode = () => fx.nodes.find((n) => n.name !== fx.dataNode)!;
const apiHost = () => stack.plan.routes.find((r) => r.service === 'api')!.host;
const https = (node: { ip: string }, path = '/health', timeoutMs = 5000) =>
  edgeRequest({ host: apiHost(), path, port: stack.plan.proxy.httpsPort, address: node.ip, timeoutMs });

const steadyLoad = (node: { ip: string }) => edgeLoad(() => https(node, '/health', 2000));

const failures = (failed: Array<{ t: number; why?: string }>) =>
  failed
    .slice(0, 10)
    .map((f) => `${f.t.toFixed(1)}s ${f.why}`)
    .join('; ');

async function untilOk(node: { ip: string }, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    try {
      const r = await https(node, '/health', 3000);
      if (r.status === 200) return (performance.now() - t0) / 1000;
      last = `status ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the API did not answer through ${node.ip}:${stack.plan.proxy.httpsPort} in ${timeoutMs} ms (${last})`);
}

/** One statement through psql in the db task, as the API's database user; the rows as psql -At prints them. */
async function dbSql(q: string): Promise<string> {
  const env = stack.plan.components.find((c) => c.name === 'api')!.env;
  const r = await execInTask(fx, stack.engine, 'db', [
    'psql',
    '-X',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-U',
    env.DB_USER!,
    '-d',
    env.DB_NAME!,
    '-c',
    q,
  ]);
  assert.equal(r.exitCode, 0, `${q}: ${r.stderr}`);
  return r.stdout.trim();
}

const ctx = (): OpsContext => ({
  plan: stack.plan,
  outDir: stack.outDir,
  projectDir: stack.dir,
  engine: stack.engine,
  secretsDir: join(stack.dir, '.wharf', 'secrets'),
});

test('wharf up --target swarm: deploys, waits for every task healthy on every node', { skip, timeout: 15 * 60_000 }, async () => {
  const t0 = performance.now();
  const steps: string[] = [];
  const r = await up(ctx(), {
    timeoutMs: 10 * 60_000,
    pollMs: 2000,
    onProgress: (e) => {
      if (e.kind === 'step' && e.status !== 'start') steps.push(`${e.step}:${e.status}`);
    },
  });
  numbers.upSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  log(`up in ${numbers.upSeconds}s (${steps.join(' ')}): ${r.services.map((x) => `${x.service}=${x.healthy}/${x.desired}`).join(' ')}`);
  assert.ok(steps.includes('images:skipped'), 'the nodes pull their images: nothing is looked up locally');
  assert.ok(
    r.services.every((x) => x.state === 'healthy'),
    JSON.stringify(r.services),
  );
  // a global service wants one task per node
  assert.equal(r.services.find((x) => x.service === 'node-exporter')!.desired, fx.nodes.length);
  assert.equal(r.services.find((x) => x.service === 'proxy')!.desired, fx.nodes.length);
  // databases and caches on the labelled node, prometheus on a manager, node agents everywhere
  const tasks = (await run(stack.engine.tasks())).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Name: string; Node: string; CurrentState: string; DesiredState: string });
  const running = tasks.filter((t) => t.DesiredState === 'Running');
  for (const svc of ['db', 'cache', 'backup']) {
    assert.deepEqual(
      [...new Set(running.filter((t) => t.Name.startsWith(`${stack.plan.name}_${svc}.`)).map((t) => t.Node))],
      [fx.dataNode],
      svc,
    );
  }
  assert.equal(
    new Set(running.filter((t) => t.Name.startsWith(`${stack.plan.name}_node-exporter.`)).map((t) => t.Node)).size,
    fx.nodes.length,
  );
});

test("the API answers through every node's host-mode edge port, balanced over its tasks", { skip, timeout: 10 * 60_000 }, async () => {
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

/** The certificate a node's edge serves for the API's host, verified against `ca`. */
function servedCert(node: { ip: string }, ca: string): Promise<{ authorized: boolean; serial: string; issuer: string; error?: string }> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect(
      { host: node.ip, port: stack.plan.proxy.httpsPort, servername: apiHost(), ca, rejectUnauthorized: false },
      () => {
        const c = sock.getPeerCertificate();
        resolve({
          authorized: sock.authorized,
          serial: c.serialNumber,
          issuer: String(c.issuer?.CN ?? ''),
          error: sock.authorizationError?.message,
        });
        sock.end();
      },
    );
    sock.setTimeout(5000, () => sock.destroy(new Error(`TLS to ${node.ip} timed out`)));
    sock.on('error', reject);
  });
}

test(
  "ACME on the swarm: Pebble validates through a node the client does not run on, and every node's edge serves the certificate",
  { skip, timeout: 5 * 60_000 },
  async () => {
    const tasks = jsonLines<TaskRow>((await run(stack.engine.tasks('acme'))).stdout).filter((t) => t.DesiredState === 'Running');
    const clientNode = tasks[0]?.Node;
    const via = challengeNode();
    assert.equal(clientNode, fx.dataNode, 'the client stays beside its volume, on the data node');
    assert.notEqual(via.name, clientNode);
    // The client's loop tried at start (maybe before every edge was up); one attempt now, timed.
    const t0 = performance.now();
    let r = await execInTask(fx, stack.engine, 'acme', ['/bin/sh', '/acme-bin/acme.sh', 'run']);
    if (r.exitCode !== 0) r = await execInTask(fx, stack.engine, 'acme', ['/bin/sh', '/acme-bin/acme.sh', 'run']);
    numbers.acmeIssueSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /BEGIN|PRIVATE/, 'no key material in the client output');
    // Pebble asked the edge of `via` (its DNS answers every name with that node) and that edge
    // forwarded the challenge to the client on the data node, over the overlay.
    const proxyOnVia = (
      await docker(via.dockerHost, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack.engine.serviceName('proxy')}`])
    ).stdout.split('\n')[0]!;
    const edgeLog = await docker(via.dockerHost, ['logs', proxyOnVia]);
    assert.match(edgeLog.stdout + edgeLog.stderr, /be_acme\/acme .*"GET \/\.well-known\/acme-challenge\/\S+ HTTP\/1\.1"/);
    const root = await pebble!.issuingRoot();
    const served = await Promise.all(fx.nodes.map((n) => servedCert(n, root)));
    log(`ACME: issued in ${numbers.acmeIssueSeconds}s via ${via.name}, client on ${clientNode}; served ${JSON.stringify(served)}`);
    for (const [i, c] of served.entries()) assert.ok(c.authorized, `${fx.nodes[i]!.name}: ${c.error} (issuer ${c.issuer})`);
    assert.equal(new Set(served.map((c) => c.serial)).size, 1, 'one certificate on every node');
    // wharf status reads the certificate from each node's edge
    const st = await status(ctx());
    const certs = st.certificates ?? [];
    assert.equal(certs.length, fx.nodes.length, JSON.stringify(certs));
    for (const c of certs) assert.equal(c.status, 'ok', `${c.id}: ${c.detail}`);
  },
);

test('Prometheus finds every target through tasks.<svc> and scrapes them all across nodes', { skip, timeout: 5 * 60_000 }, async () => {
  const t0 = performance.now();
  let down: string[] = [];
  let total = 0;
  while (performance.now() - t0 < 120_000) {
    const r = await execInTask(fx, stack.engine, 'prometheus', [
      'wget',
      '-q',
      '-O',
      '-',
      'http://127.0.0.1:9090/api/v1/targets?state=active',
    ]);
    if (r.exitCode === 0) {
      const targets = (
        JSON.parse(r.stdout) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> } }
      ).data.activeTargets;
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

test('wharf status --target swarm: nodes, quorum, and every service on its nodes', { skip, timeout: 5 * 60_000 }, async () => {
  const r = await status(ctx());
  assert.ok(r.cluster, 'a multi-node status has a cluster section');
  assert.equal(r.cluster!.nodes.length, fx.nodes.length);
  assert.equal(r.cluster!.managers, 3);
  assert.equal(r.cluster!.managersUp, 3);
  assert.equal(r.cluster!.tolerates, 1, 'three managers may lose one');
  assert.ok(r.cluster!.leader);
  assert.ok(
    r.cluster!.nodes.every((n) => n.dockerHost && n.containers > 0),
    JSON.stringify(r.cluster!.nodes),
  );
  assert.deepEqual(
    r.services.filter((x) => x.state !== 'healthy').map((x) => x.service),
    [],
  );
  assert.deepEqual(r.services.find((x) => x.service === 'db')!.nodes, [fx.dataNode]);
  assert.equal(r.services.find((x) => x.service === 'api')!.healthy, 3);
  assert.ok(r.targets.available && r.targets.down === 0, `${r.targets.down} targets down: ${r.targets.error ?? ''}`);
  numbers.statusTargets = r.targets.up;
});

test(
  'wharf doctor --target swarm passes: nodes, quorum, node engines, cluster ports, health, links, routes, monitoring',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const r = await doctor(ctx());
    const bad = r.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
    log(
      `doctor: ${JSON.stringify(r.summary)} in ${(r.durationMs / 1000).toFixed(1)}s${bad.length ? `; ${bad.map((c) => `${c.id} ${c.status}: ${c.detail}`).join(' | ')}` : ''}`,
    );
    numbers.doctorSeconds = +(r.durationMs / 1000).toFixed(1);
    assert.equal(r.summary.fail, 0, bad.map((c) => `${c.id}: ${c.detail}`).join('\n'));
    for (const id of ['swarm', 'cluster:nodes', 'cluster:quorum', 'cluster:port:2377'])
      assert.equal(r.checks.find((c) => c.id === id)?.status, 'ok', id);
    assert.equal(r.checks.filter((c) => c.id.startsWith('cluster:engine:') && c.status === 'ok').length, fx.nodes.length);
    assert.ok(
      r.checks.some((c) => c.id.startsWith('cluster:peers:') && c.status === 'ok'),
      'an overlay spans nodes and all of them are peers',
    );
    assert.ok(r.checks.some((c) => c.id.startsWith('route:') && c.status === 'ok'));
  },
);

test(
  'wharf plan --target swarm: nothing right after up; a `docker service scale` by hand is drift; up converges; nothing again',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const secretsDir = join(stack.dir, '.wharf', 'secrets');
    const planNow = async () => planOf(ctx(), await renderInMemory(stack.plan, 'swarm', secretsDir));
    const acting = (r: PlanResult) => r.changes.filter((c) => c.action !== 'none');
    const planUntil = async (done: (r: PlanResult) => boolean) => {
      let r = await planNow();
      for (let i = 0; i < 30 && !done(r); i++) {
        await new Promise((res) => setTimeout(res, 2000));
        r = await planNow();
      }
      return r;
    };
    const t0 = performance.now();
    const clean = await planNow();
    numbers.planSeconds = +((performance.now() - t0) / 1000).toFixed(2);
    assert.deepEqual(acting(clean), [], 'no change right after up');
    assert.deepEqual(clean.drift, [], 'no drift right after up');

    const t1 = performance.now();
    const replicas = stack.plan.components.find((c) => c.name === 'api')!.replicas;
    const scaled = await docker(stack.engine.dockerHost, ['service', 'scale', '--detach', `${stack.plan.name}_api=${replicas + 1}`]);
    assert.equal(scaled.exitCode, 0, scaled.stderr);
    // the scheduler starts the extra task on its own time
    const drifted = await planUntil((r) => r.drift.length > 0);
    assert.deepEqual(
      drifted.drift.map((d) => [d.service, d.what, d.fix]),
      [['api', `${replicas + 1} replicas running, ${replicas} applied (scaled by hand)`, 'up brings it back to the spec']],
    );
    assert.deepEqual(
      acting(drifted).map((c) => [c.service, c.action, c.downtime]),
      [['api', 'update', false]],
    );
    await up(ctx(), { timeoutMs: 5 * 60_000, pollMs: 2000 });
    // up returns once the wanted tasks are healthy; the scheduler stops the extra one on its own time
    const after = await planUntil((r) => !acting(r).length && !r.drift.length);
    assert.deepEqual(acting(after), [], 'up converged');
    assert.deepEqual(after.drift, [], 'no drift after up');
    numbers.planScaleSeconds = +((performance.now() - t1) / 1000).toFixed(1);
  },
);

test('backup and in-place restore of the database pinned to the data node', { skip, timeout: 10 * 60_000 }, async () => {
  const node = fx.nodes[0]!;
  const post = async (name: string) => {
    const r = await edgeRequest({
      host: apiHost(),
      path: '/api/items',
      port: stack.plan.proxy.httpsPort,
      address: node.ip,
      method: 'POST',
      timeoutMs: 10_000,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, description: 'written through the swarm edge' }),
    });
    assert.equal(r.status, 201, r.body);
  };
  const names = async () => {
    const r = await https(node, '/api/items?limit=100', 10_000);
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { items: Array<{ name: string }> }).items.map((i) => i.name);
  };
  await untilOk(node, 180_000); // the edge admits a task after two passed checks
  await post('kept by the backup');
  const ex = await stackBackupExecutor(ctx());
  const t0 = performance.now();
  const [b] = await backupNow(ex, { target: 'db' });
  numbers.backupSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  assert.ok(b?.ok, b?.error);
  await post('written after the backup');
  assert.ok((await names()).includes('written after the backup'));
  const t1 = performance.now();
  const r = await restoreBackup(ex, {
    target: 'db',
    confirm: () => true,
    onProgress: (e) => log(`  restore +${((performance.now() - t1) / 1000).toFixed(1)}s ${e.message}`),
  });
  numbers.restoreSeconds = +((performance.now() - t1) / 1000).toFixed(1);
  assert.ok(r.ok, r.error);
  log(
    `backup ${numbers.backupSeconds}s, in-place restore ${numbers.restoreSeconds}s (stopped and started ${r.restarted?.join(', ') ?? 'nothing'})`,
  );
  assert.ok(r.restarted?.includes('api'), 'the API writes to the database: stopped (scaled to 0) first and started again');
  await untilOk(node, 180_000);
  const after = await names();
  assert.ok(after.includes('kept by the backup'), after.join(', '));
  assert.ok(!after.includes('written after the backup'), 'the restore went back to the snapshot');
  // the API is back at its replica count
  const st = await status(ctx());
  assert.equal(st.services.find((x) => x.service === 'api')!.healthy, 3);
});

test(
  'wharf exec, run and logs on swarm: exit codes through, a replica on another node, the three merged by node, the password only ***',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const t0 = performance.now();
    const c = ctx();
    const password = readFileSync(join(c.secretsDir!, 'db-password'), 'utf8').trim();
    const out: string[] = [];
    const write = (t: string) => void out.push(t);
    const manager = fx.nodes.find((n) => n.dockerHost === stack.engine.dockerHost)!.name;
    const api = (await stack.engine.liveState(run)).containers.filter((x) => x.service === 'api' && x.state === 'running');
    const away = api.find((x) => x.node !== manager)!;
    assert.ok(away, `a replica of api off the manager ${manager}: ${api.map((x) => x.node).join(', ')}`);
    // the application prints the generated password: a line on its own stdout, as a leaky connection log would be
    const leak = 'echo "connecting to db with password $(cat "$DB_PASSWORD_FILE")" > /proc/1/fd/1; exit 7';
    const e = await execIn(c, { service: 'api', replica: stack.engine.replica(away), argv: ['sh', '-c', leak], terminal: false, write });
    assert.equal(e.exitCode, 7, out.join(''));
    const r = await runOnce(c, {
      service: 'api',
      argv: ['sh', '-c', 'echo "one-off as $DB_USER: $(cat "$DB_PASSWORD_FILE")"; exit 3'],
      terminal: false,
      write,
    });
    numbers.execRunSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    assert.equal(r.exitCode, 3, out.join(''));
    assert.match(out.join(''), /one-off as app: \*\*\*/);
    const left = await docker(stack.engine.dockerHost, ['service', 'ls', '-q', '--filter', 'label=dev.wharf.oneoff']);
    assert.equal(left.stdout.trim(), '', 'the one-off task is removed');
    const lines: LogLine[] = [];
    await readLogs(c, { services: ['api'], tail: 'all', since: '30m' }, (l) => void lines.push(l));
    const sources = new Set(lines.map((l) => `${l.replica}@${l.node}`));
    log(`logs: ${lines.length} lines from ${[...sources].join(', ')}; exec + run in ${numbers.execRunSeconds}s`);
    assert.equal(sources.size, 3, [...sources].join(', '));
    assert.ok(new Set(lines.map((l) => l.node)).size >= 2, 'lines from several nodes');
    assert.ok(
      lines.every((l) => fx.nodes.some((n) => n.name === l.node)),
      'each line names its node',
    );
    assert.deepEqual(
      lines.map((l) => l.time),
      lines.map((l) => l.time).sort(),
      'merged in time order',
    );
    const leaked = lines.find((l) => /connecting to db with password/.test(l.line))!;
    assert.equal(leaked?.line, 'connecting to db with password ***');
    assert.deepEqual([leaked.replica, leaked.node], [stack.engine.replica(away), away.node]);
    assert.ok(!lines.some((l) => l.line.includes(password)) && !out.join('').includes(password), 'the password never shows');
  },
);

test(
  "a rolling update of the API (start-first) under load through the edge: the API's `migrate` as beforeRollout hook creates its table before any new task starts, 0 failed requests",
  { skip, timeout: 15 * 60_000 },
  async () => {
    const load = steadyLoad(fx.nodes[0]!);
    await new Promise((res) => setTimeout(res, 2000));
    const before = new Set<string>();
    for (let i = 0; i < 12; i++) before.add(String((await https(fx.nodes[0]!, '/health')).headers['x-instance']));
    const t = performance.now();
    // followed through the rollout: the new replicas join from their first line
    const followed: LogLine[] = [];
    const stopFollowing = new AbortController();
    const following = readLogs(
      ctx(),
      { services: ['api'], tail: 0, follow: true, signal: stopFollowing.signal },
      (l) => void followed.push(l),
    );
    // a release hook runs as a one-off of the new definition, before the scheduler replaces anything: the API's
    // own migration, against the schema as before its first migration (only the hook can create the table again)
    const api = stack.plan.components.find((x) => x.name === 'api')!;
    await dbSql('DROP TABLE items; DELETE FROM schema_migrations');
    api.hooks = { beforeRollout: ['node', '/app/server.js', 'migrate'] };
    const progress: string[] = [];
    await rollout(ctx(), ['api'], { onProgress: (e) => void progress.push(e.detail) }).finally(() => delete api.hooks);
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
    stopFollowing.abort();
    await following;
    Object.assign(numbers, { rollingUpdateRequests: results.length, rollingUpdateFailed: failed.length });
    const hookAt = progress.findIndex((p) => p === 'beforeRollout: schema migrations applied: 1');
    assert.ok(
      hookAt >= 0 && hookAt < progress.findIndex((p) => /^update /.test(p)),
      `the migration hook ran before the update: ${progress.join(' | ')}`,
    );
    const started = followed.filter((l) => /schema up to date|schema migrations applied/.test(l.line));
    assert.deepEqual([...new Set(started.map((l) => l.replica))].sort(), ['1', '2', '3'], 'every new replica joined the followed logs');
    assert.ok(
      started.every((l) => /schema up to date/.test(l.line)),
      `the hook had migrated: ${started.map((l) => l.line).join(' | ')}`,
    );
    assert.equal(await dbSql("SELECT to_regclass('items') IS NOT NULL"), 't', 'the table exists again');
    const applied = normalTime(
      await dbSql(
        `SELECT to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM schema_migrations WHERE version = 1`,
      ),
    );
    const replicas = (await stack.engine.liveState(run)).containers.filter((x) => x.service === 'api' && x.state === 'running');
    assert.equal(replicas.length, 3);
    const firstStart = replicas.map((x) => normalTime(x.startedAt)).sort()[0]!;
    log(`migration hook: table created at ${applied}, first new task started ${firstStart}`);
    for (const x of replicas)
      assert.ok(applied < normalTime(x.startedAt), `table created at ${applied}, replica ${x.name} on ${x.node} started ${x.startedAt}`);
    log(
      `rolling update ${state} in ${numbers.rollingUpdateSeconds}s; ${results.length} requests, ${failed.length} failed${failed.length ? `: ${failures(failed)}` : ''}; instances before ${[...before].join(',')} after ${[...after].join(',')}`,
    );
    assert.equal(state, 'completed');
    assert.equal(after.size, 3);
    assert.ok(
      [...after].every((i) => !before.has(i)),
      'every task was replaced',
    );
    assert.equal(failed.length, 0, `${failed.length} of ${results.length} requests failed: ${failures(failed)}`);
  },
);

test(
  'a failing beforeRollout hook on swarm: nothing replaced, the old replicas serve with 0 failed requests',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const tasks = async () =>
      jsonLines<TaskRow & { ID: string }>((await run(stack.engine.tasks('api'))).stdout)
        .filter((x) => x.DesiredState === 'Running')
        .map((x) => x.ID)
        .sort();
    const before = await tasks();
    const api = stack.plan.components.find((x) => x.name === 'api')!;
    api.hooks = { beforeRollout: ['sh', '-c', 'echo "relation items_v2 already exists" >&2; exit 4'] };
    const load = steadyLoad(fx.nodes[0]!);
    const t = performance.now();
    const err = await rollout(ctx(), ['api'])
      .catch((e: unknown) => e)
      .finally(() => delete api.hooks);
    numbers.failedHookSeconds = +((performance.now() - t) / 1000).toFixed(1);
    await new Promise((res) => setTimeout(res, 1000));
    const { results, failed } = await load.end();
    log(`failed hook in ${numbers.failedHookSeconds}s; ${results.length} requests, ${failed.length} failed ${failures(failed)}`);
    assert.ok(err instanceof HookError, String(err));
    assert.equal(err.exitCode, 4);
    assert.deepEqual(err.output, ['relation items_v2 already exists']);
    assert.deepEqual(await tasks(), before, 'the same tasks run');
    assert.equal(failed.length, 0, failures(failed));
  },
);

test(
  'wharf rollback --target swarm: the API returns to the spec before the update, under load through the edge',
  { skip, timeout: 15 * 60_000 },
  async () => {
    const name = stack.engine.serviceName('api');
    // the rolling update above was `service update --force`: only ForceUpdate tells the two specs apart
    const specs = async () =>
      (
        await docker(stack.engine.dockerHost, [
          'service',
          'inspect',
          '--format',
          '{{.Spec.TaskTemplate.ForceUpdate}} {{.PreviousSpec.TaskTemplate.ForceUpdate}}',
          name,
        ])
      ).stdout
        .trim()
        .split(' ')
        .map(Number);
    const [now, previous] = await specs();
    assert.notEqual(now, previous, 'the rolling update left a previous spec');
    const load = steadyLoad(fx.nodes[0]!);
    await new Promise((res) => setTimeout(res, 2000));
    const phases: string[] = [];
    let r;
    try {
      r = await rollback(ctx(), 'api', { pollMs: 1000, onProgress: (e) => phases.push(e.detail) });
    } finally {
      await new Promise((res) => setTimeout(res, 3000));
    }
    const { results, failed } = await load.end();
    Object.assign(numbers, {
      rollbackSeconds: +(r.durationMs / 1000).toFixed(1),
      rollbackRequests: results.length,
      rollbackFailed: failed.length,
    });
    log(
      `rollback in ${numbers.rollbackSeconds}s (${phases.join(' / ')}); ${results.length} requests, ${failed.length} failed${failed.length ? `: ${failures(failed)}` : ''}`,
    );
    assert.equal(r.ok, true);
    assert.equal(r.phase, 'done');
    assert.equal((await specs())[0], previous, 'the service runs the spec from before the update');
    assert.ok(
      phases.some((p) => /rollback_completed/.test(p)),
      phases.join(' / '),
    );
    const tasks = jsonLines<TaskRow>((await run(stack.engine.tasks('api'))).stdout).filter((x) => x.DesiredState === 'Running');
    assert.equal(tasks.length, 3);
    assert.ok(failed.length <= results.length * 0.01, `${failed.length} of ${results.length} requests failed`);
  },
);

test(
  'a version that never gets healthy: Swarm rolls it back, up fails naming the task it gave up on with its logs, the old tasks keep serving',
  { skip, timeout: 15 * 60_000 },
  async () => {
    const specPath = join(stack.dir, 'wharf.yaml');
    const original = readFileSync(specPath, 'utf8');
    const spec = parse(original) as Record<string, any>;
    // Listens on 3999 while its healthcheck asks 3000: running, never healthy.
    spec.services.api.env = { ...spec.services.api.env, PORT: '3999' };
    writeFileSync(specPath, stringify(spec));
    const name = stack.engine.serviceName('api');
    const envOf = async () =>
      (
        await docker(stack.engine.dockerHost, ['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', name])
      ).stdout.trim();
    const before = await envOf();
    const load = steadyLoad(fx.nodes[0]!);
    await new Promise((res) => setTimeout(res, 2000));
    const t = performance.now();
    let err: unknown;
    try {
      const p = await prepare({ specPath, target: 'swarm' });
      await up({ ...ctx(), plan: p.plan }, { timeoutMs: 10 * 60_000, pollMs: 2000 });
    } catch (e) {
      err = e;
    } finally {
      // the next tests start from the healthy spec, rendered again
      writeFileSync(specPath, original);
      stack.plan = (await prepare({ specPath, target: 'swarm' })).plan;
    }
    numbers.neverHealthySeconds = +((performance.now() - t) / 1000).toFixed(1);
    const { results, failed } = await load.end();
    Object.assign(numbers, { neverHealthyRequests: results.length, neverHealthyFailed: failed.length });
    log(
      `never-healthy version: ${numbers.neverHealthySeconds}s, ${results.length} requests, ${failed.length} failed; ${String(
        (err as Error | undefined)?.message,
      )
        .split('\n')
        .slice(0, 3)
        .join(' / ')}`,
    );
    assert.ok(err instanceof RolloutFailedError, String(err));
    assert.deepEqual(
      err.services.map((x) => x.service),
      ['api'],
    );
    assert.match(err.message, new RegExp(`api \\(rollback completed.*; ${name}\\.\\d+\\.\\w+ on \\S+ (unhealthy|exited)`));
    assert.ok(err.services[0]!.logs?.length, 'the last log lines of the task it gave up on');
    assert.match(err.message, /--- api: last log lines of the task it gave up on\n {2}\S/);
    assert.equal(await envOf(), before, 'the service runs the spec from before');
    assert.equal(jsonLines<TaskRow>((await run(stack.engine.tasks('api'))).stdout).filter((x) => x.DesiredState === 'Running').length, 3);
    assert.ok(failed.length <= results.length * 0.01, `${failed.length} of ${results.length} requests failed: ${failures(failed)}`);
  },
);

test('a changed config rolls only what mounts it, and up prunes the superseded Swarm config', { skip, timeout: 10 * 60_000 }, async () => {
  const specPath = join(stack.dir, 'wharf.yaml');
  const spec = parse(readFileSync(specPath, 'utf8')) as Record<string, any>;
  spec.monitoring = { ...spec.monitoring, scrapeInterval: '6s' };
  writeFileSync(specPath, stringify(spec));
  const p = await prepare({ specPath, target: 'swarm' });
  assert.deepEqual(
    p.write.written.filter((f) => !f.startsWith('prometheus/')).filter((f) => f !== 'stack.yaml'),
    [],
    'only the Prometheus config and the stack file change',
  );
  const before = (await run(stack.engine.superseded.list()[0]!.cmd)).stdout.split('\n').filter(Boolean);
  const r = await up({ ...ctx(), plan: p.plan }, { timeoutMs: 5 * 60_000, pollMs: 2000 });
  log(`config change: changed ${r.changed.join(', ')}; pruned ${r.pruned.join(', ')}`);
  assert.deepEqual(r.changed, ['prometheus']);
  assert.ok(
    r.pruned.length >= 1 && r.pruned.every((n) => before.includes(n) && n.startsWith(`${stack.plan.name}_`)),
    `pruned ${r.pruned.join(', ')}`,
  );
  const afterList = (await run(stack.engine.superseded.list()[0]!.cmd)).stdout.split('\n').filter(Boolean);
  assert.deepEqual(
    afterList.sort(),
    [...stack.engine.superseded.inUse()].filter((n) => afterList.includes(n)).sort(),
    'every config left is one the stack uses',
  );
  stack.plan = p.plan;
});

test(
  'losing the leader: a new leader, the stack reconverges, requests through another node keep answering',
  { skip, timeout: 15 * 60_000 },
  async () => {
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
    log(
      `stopped ${leader} (docker stop took ${numbers.failoverStopSeconds}s); new leader ${newLeader} after ${numbers.failoverNewLeaderSeconds}s; reconverged after ${numbers.failoverReconvergeSeconds}s (${conv.detail})`,
    );
    log(`${results.length} requests, ${failed.length} failed${failed.length ? `: ${failures(failed)}` : ''}`);
    assert.ok(results.length > 100, 'the load did not run');
    // Goal 0 (issue 10); until retries cover every case, report and bound it.
    assert.ok(failed.length <= results.length * 0.05, `${failed.length} of ${results.length} requests failed`);

    // Bring the node back so the fixture stays a 3-manager swarm.
    await execa('docker', ['start', leader]);
    const back = performance.now();
    let rows: Array<{ Hostname: string; Status: string; ManagerStatus: string }> = [];
    const rejoined = () =>
      rows.length === fx.nodes.length &&
      rows.every((x) => x.Status === 'Ready' && (x.ManagerStatus === 'Leader' || x.ManagerStatus === 'Reachable'));
    while (performance.now() - back < 180_000) {
      const r = await run(survivor.nodes(), { reject: false });
      rows = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as (typeof rows)[number]);
      if (rejoined()) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    numbers.rejoinSeconds = +((performance.now() - back) / 1000).toFixed(1);
    assert.ok(rejoined(), `${leader} did not rejoin within 180 s: ${JSON.stringify(rows)}`);
  },
);

test(
  "wharf down --target swarm --volumes: services, networks and every node's volumes of the stack are gone",
  { skip, timeout: 5 * 60_000 },
  async () => {
    const r = await down(ctx(), { volumes: true, onLine: (l) => log(`  down: ${l}`) });
    log(`down in ${(r.durationMs / 1000).toFixed(1)}s: removed ${r.removedContainers} containers; left ${JSON.stringify(r.remaining)}`);
    assert.ok(r.removedContainers > 0, JSON.stringify(r));
    assert.deepEqual(
      { ...r.remaining, unreachableNodes: r.unreachableNodes },
      { containers: 0, networks: 0, volumes: [], unreachableNodes: [] },
      JSON.stringify(r),
    );
    for (const n of fx.nodes) {
      const v = await execa('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack.plan.name}`], {
        env: { DOCKER_HOST: n.dockerHost },
      });
      assert.equal(v.stdout.trim(), '', `volumes left on ${n.name}`);
    }
  },
);

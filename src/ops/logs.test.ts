// `wharf logs` against a recorded Docker: each replica read on its own engine with timestamps,
// lines attributed and merged by time, secrets masked by the executor (the op hands it every
// secret form), --grep on the masked line, and a followed read taking in a rollout's replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redact, type Cmd } from '../engine/command.js';
import { ComposeEngine } from '../engine/compose.js';
import type { OpsContext } from '../engine/context.js';
import type { Runner, RunResult } from '../engine/run.js';
import { SwarmEngine } from '../engine/swarm.js';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import { connectionUrl } from '../escape/url.js';
import { compareLines, formatLine, jsonLine, normalTime, parseLine, ReorderWindow, type LogLine } from './log-merge.js';
import { readLogs } from './logs.js';

interface Box {
  id: string;
  service: string;
  labels?: Record<string, string>;
  lines: string[];
}

const PASSWORD = 'Qx7.*(p@ss)+$';

/** A Docker answering ps/inspect from `world()` and `docker logs` from each box's lines, masking as run() does. */
function fakeDocker(world: () => Box[], project = 't') {
  const calls: Cmd[] = [];
  const runner: Runner = async (c, opts = {}) => {
    calls.push(c);
    const a = c.argv;
    const done = (stdout = ''): RunResult => ({ cmd: c, exitCode: 0, stdout, stderr: '', durationMs: 0, timedOut: false });
    if (a[1] === 'ps')
      return done(
        world()
          .map((b) => b.id)
          .join('\n'),
      );
    if (a[1] === 'inspect')
      return done(
        JSON.stringify(
          world()
            .filter((b) => a.includes(b.id))
            .map((b) => inspectOf(b, project)),
        ),
      );
    if (a[1] === 'logs') {
      const box = world().find((b) => b.id === a.at(-1));
      for (const l of box?.lines ?? []) opts.onLine?.(redact(l, c.redact), l.includes('ERR') ? 'stderr' : 'stdout');
      if (a.includes('--follow') && opts.signal)
        await new Promise<void>((resolve) => opts.signal!.addEventListener('abort', () => resolve(), { once: true }));
      return done();
    }
    return done();
  };
  return { runner, calls };
}

function inspectOf(b: Box, project: string) {
  return {
    Id: b.id,
    Name: `/${project}-${b.service}-${b.id}`,
    Image: 'sha256:img',
    State: { Status: 'running', StartedAt: '2026-12-07T10:00:00Z', ExitCode: 0 },
    Config: {
      Image: 'x',
      Env: [],
      Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': b.service, ...b.labels },
    },
    NetworkSettings: { Networks: {}, Ports: {} },
  };
}

function context(runner: Runner): { ctx: OpsContext; done: () => void } {
  const plan = tinyPlan('t');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-logs-'));
  writeFileSync(join(dir, 'db_password'), PASSWORD);
  const url = connectionUrl({ scheme: 'postgres', user: 'app', password: PASSWORD, host: 'db', port: 5432, database: 'app' });
  writeFileSync(join(dir, 'database_url'), url);
  const compose = { kind: 'v2' as const, argv: ['docker', 'compose'], version: '2.26.1' };
  const engine = new ComposeEngine({ compose, project: 't', dir, services: plan.components });
  return {
    ctx: { plan, outDir: dir, projectDir: dir, engine, secretsDir: dir, runner },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const n = (k: number) => ({ 'com.docker.compose.container-number': String(k) });
const at = (s: number) => `2026-12-07T10:00:0${s}.000000000Z`;

test('every replica read with timestamps, merged by time, each line attributed; secrets in every form masked', async () => {
  const encoded = encodeURIComponent(PASSWORD);
  const boxes: Box[] = [
    { id: 'a1', service: 'api', labels: n(1), lines: [`${at(1)} one`, `${at(4)} url postgres://app:${encoded}@db:5432/app`] },
    {
      id: 'a2',
      service: 'api',
      labels: n(2),
      lines: [`${at(2)} two`, `${at(3)} ERR pw=${PASSWORD} b64=${Buffer.from(PASSWORD).toString('base64')}`],
    },
    { id: 'd1', service: 'db', labels: n(1), lines: [`${at(0)} not asked for`] },
  ];
  const { runner, calls } = fakeDocker(() => boxes);
  const { ctx, done } = context(runner);
  try {
    const got: LogLine[] = [];
    const r = await readLogs(ctx, { services: ['api'], tail: 20, since: '10m' }, (l) => void got.push(l));
    assert.deepEqual(r, { failed: [], replicas: 2 });
    assert.deepEqual(
      calls.filter((c) => c.argv[1] === 'logs').map((c) => c.argv.join(' ')),
      ['docker logs --tail 20 --timestamps --since 10m a1', 'docker logs --tail 20 --timestamps --since 10m a2'],
    );
    assert.deepEqual(got.map(jsonLine), [
      JSON.stringify({ time: at(1), service: 'api', replica: '1', node: null, stream: 'stdout', line: 'one' }),
      JSON.stringify({ time: at(2), service: 'api', replica: '2', node: null, stream: 'stdout', line: 'two' }),
      JSON.stringify({ time: at(3), service: 'api', replica: '2', node: null, stream: 'stderr', line: 'ERR pw=*** b64=***' }),
      JSON.stringify({
        time: at(4),
        service: 'api',
        replica: '1',
        node: null,
        stream: 'stdout',
        line: 'url postgres://app:***@db:5432/app',
      }),
    ]);
    const grep: LogLine[] = [];
    await readLogs(ctx, { services: ['api'], tail: 'all', grep: /pw=\*\*\*/ }, (l) => void grep.push(l));
    assert.deepEqual(
      grep.map((l) => l.line),
      ['ERR pw=*** b64=***'],
      '--grep sees the masked line',
    );
  } finally {
    done();
  }
});

test('--follow: a replica a rollout starts joins from its first line, and everything stops when aborted', async () => {
  let boxes: Box[] = [{ id: 'old', service: 'api', labels: n(1), lines: [`${at(1)} old serving`] }];
  const { runner, calls } = fakeDocker(() => boxes);
  const { ctx, done } = context(runner);
  try {
    const got: string[] = [];
    const stop = new AbortController();
    const following = readLogs(
      ctx,
      { services: ['api'], tail: 5, follow: true, pollMs: 5, windowMs: 1, signal: stop.signal },
      (l) => void got.push(formatLine(l)),
    );
    await new Promise((r) => setTimeout(r, 30));
    boxes = [{ id: 'new', service: 'api', labels: n(2), lines: [`${at(2)} new ${PASSWORD}`] }];
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    const r = await following;
    assert.deepEqual(got, ['api.1 | old serving', 'api.2 | new ***']);
    assert.equal(r.replicas, 2);
    const logs = calls.filter((c) => c.argv[1] === 'logs').map((c) => c.argv.join(' '));
    assert.deepEqual(logs, ['docker logs --tail 5 --timestamps --follow old', 'docker logs --tail all --timestamps --follow new']);
    assert.ok(logs.every((l, i) => calls.filter((c) => c.argv[1] === 'logs')[i]!.timeoutMs === undefined));
  } finally {
    done();
  }
});

test('timestamps: fixed width, offsets turned to UTC, a line without one kept whole', () => {
  assert.equal(normalTime('2026-12-07T10:00:00.5Z'), '2026-12-07T10:00:00.500000000Z');
  assert.equal(normalTime('2026-12-07T11:00:00.123+01:00'), '2026-12-07T10:00:00.123000000Z');
  const src = { service: 'api', replica: '1', node: 'n1' };
  assert.deepEqual(parseLine('no stamp here', src, 'stdout'), { time: '', ...src, stream: 'stdout', line: 'no stamp here' });
  assert.equal(parseLine(`${at(1)} \x1b[2Khello`, src, 'stdout').line, 'hello');
  assert.equal(formatLine(parseLine(`${at(1)} x`, src, 'stdout'), 12), 'api.1@n1     | x');
});

test('the reorder window releases lines that waited long enough, in time order', () => {
  const out: string[] = [];
  const w = new ReorderWindow(100, (l) => void out.push(l.line));
  const l = (t: number, line: string, replica = '1'): LogLine => ({
    time: at(t),
    service: 'api',
    replica,
    node: null,
    stream: 'stdout',
    line,
  });
  w.add(l(3, 'c', '2'), 0);
  w.add(l(1, 'a'), 10);
  w.add(l(5, 'late'), 150);
  w.flush(120);
  assert.deepEqual(out, ['a', 'c']);
  w.flush();
  assert.deepEqual(out, ['a', 'c', 'late']);
  assert.ok(compareLines(l(1, 'x', '1'), l(1, 'x', '2')) < 0, 'the same instant: by replica');
});

test('compose: a one-off container (wharf run, a hook) is no replica of its service', () => {
  const e = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 't', dir: '/d' });
  const labels = { 'com.docker.compose.project': 't', 'com.docker.compose.service': 'api' };
  assert.equal(e.serviceOf({ ...labels, 'com.docker.compose.oneoff': 'False' }), 'api');
  assert.equal(e.serviceOf({ ...labels, 'com.docker.compose.oneoff': 'True' }), undefined);
});

test('swarm: a replica is its task slot, on its node', () => {
  const e = new SwarmEngine({ project: 'shop', dir: '/d' });
  const base = {
    id: 'x',
    name: 'x',
    service: 'api',
    state: 'running',
    health: 'none' as const,
    startedAt: '',
    restartCount: 0,
    exitCode: 0,
  };
  const c = { ...base, image: '', imageId: '', networks: [], env: {}, ports: [], node: 'n2' };
  assert.equal(e.replica({ ...c, labels: { 'com.docker.swarm.task.name': 'shop_api.3.k2j4' } }), '3');
  assert.equal(e.replica({ ...c, labels: { 'com.docker.swarm.task.name': 'shop_api.u8d1x0abcdefgh.k2j4' } }), 'n2');
  assert.deepEqual(e.replicaLogs({ id: 'x', host: 'tcp://n2:2375' }, 'all', { follow: true, timestamps: true }).env, {
    DOCKER_HOST: 'tcp://n2:2375',
  });
});

// `up` against a recorded Docker (no engine): what it asks, in which order, and that a rerun
// with nothing changed reads the live state once and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cmd } from '../engine/command.js';
import { ComposeEngine } from '../engine/compose.js';
import { recordingRunner } from '../engine/run.js';
import { tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { up } from './up.js';
import { readApplied } from './applied.js';

const HASH = 'com.docker.compose.config-hash';

/** A one-host Docker holding api x1 and db x2 of project t, each carrying `hashes[service]`. */
function world(hashes: Record<string, string>, want: Record<string, string>) {
  const containers = [
    ['a1', 'api'],
    ['d1', 'db'],
    ['d2', 'db'],
  ].map(([id, service]) => ({
    Id: id,
    Name: `/t-${service}-${id}`,
    Image: 'sha256:img',
    RestartCount: 0,
    State: { Status: 'running', StartedAt: '2026-12-07T10:00:00Z', ExitCode: 0, Health: { Status: 'healthy' } },
    Config: {
      Image: 'local/debian:bookworm',
      Env: [],
      Labels: { 'com.docker.compose.project': 't', 'com.docker.compose.service': service!, [HASH]: hashes[service!]! },
    },
    NetworkSettings: { Networks: {}, Ports: {} },
  }));
  return recordingRunner((c: Cmd) => {
    const a = c.argv.join(' ');
    if (a.startsWith('docker image ls')) return { stdout: 'local/debian:bookworm sha256:img\nother/x:1 sha256:other' };
    if (a.startsWith('docker ps')) return { stdout: 'a1\nd1\nd2' };
    if (a.startsWith('docker inspect')) return { stdout: JSON.stringify(containers) };
    if (a.endsWith('config --hash *'))
      return {
        stdout: Object.entries(want)
          .map(([s, h]) => `${s} ${h}`)
          .join('\n'),
      };
    return undefined;
  });
}

function setup() {
  const plan = tinyPlan('t');
  const dir = writeCompose(plan);
  const projectDir = mkdtempSync(join(tmpdir(), 'wharf-up-rec-'));
  const engine = new ComposeEngine({
    compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' },
    project: 't',
    dir,
    services: plan.components,
  });
  return {
    plan,
    dir,
    projectDir,
    engine,
    done: () => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(projectDir, { recursive: true, force: true });
    },
  };
}

const verb = (c: Cmd) => c.argv.slice(c.argv[1] === 'compose' ? 6 : 1).join(' ');

test('a rerun with nothing changed: one read of what runs, the images and the hashes at once; the engine is not asked to deploy', async () => {
  const s = setup();
  try {
    const { runner, calls } = world({ api: 'h1', db: 'h2' }, { api: 'h1', db: 'h2' });
    const r = await up({ plan: s.plan, outDir: s.dir, projectDir: s.projectDir, engine: s.engine, runner }, { pollMs: 10 });
    assert.deepEqual(r.changed, []);
    assert.deepEqual(
      r.services.map((x) => [x.service, x.desired, x.healthy, x.state]),
      [
        ['api', 1, 1, 'healthy'],
        ['db', 2, 2, 'healthy'],
      ],
    );
    assert.deepEqual(
      calls.map(verb).sort(),
      [
        'config --hash *',
        'config --quiet',
        'image ls --no-trunc --format {{.Repository}}:{{.Tag}} {{.ID}}',
        'inspect a1 d1 d2',
        'ps -a -q --no-trunc --filter label=com.docker.compose.project=t',
      ],
      'what runs read once (the wait starts from it); every image found in one listing, its ID reused for the comparison',
    );
    assert.ok(!calls.some((c) => c.argv.includes('up')), 'no compose up');
  } finally {
    s.done();
  }
});

test('a changed database is deployed by name, stop-first; the unchanged app is left alone', async () => {
  const s = setup();
  try {
    const { runner, calls } = world({ api: 'h1', db: 'old' }, { api: 'h1', db: 'new' });
    const events: string[] = [];
    await up(
      { plan: s.plan, outDir: s.dir, projectDir: s.projectDir, engine: s.engine, runner },
      {
        pollMs: 10,
        onProgress: (e) => {
          if (e.kind === 'step' && e.status !== 'start') events.push(`${e.step} ${e.status}`);
        },
      },
    );
    const deploys = calls.filter((c) => c.argv.includes('up'));
    assert.deepEqual(
      deploys.map((c) => c.argv),
      [['docker', 'compose', '-p', 't', '-f', 'compose.yaml', 'up', '-d', '--remove-orphans', '--no-build', 'db']],
    );
    assert.equal(deploys[0]!.cwd, s.dir);
    assert.deepEqual(events.sort(), ['build skipped', 'deploy done', 'images done', 'validate done', 'wait done']);
  } finally {
    s.done();
  }
});

test('up decides with the planner: the plan it reports before acting names exactly what it deploys; it records what it applied', async () => {
  const s = setup();
  try {
    const { runner, calls } = world({ api: 'h1', db: 'old' }, { api: 'h1', db: 'new' });
    const planned: string[] = [];
    const r = await up(
      { plan: s.plan, outDir: s.dir, projectDir: s.projectDir, engine: s.engine, runner },
      { pollMs: 10, onProgress: (e) => e.kind === 'plan' && planned.push(...e.changes.map((c) => `${c.service} ${c.action}`)) },
    );
    assert.deepEqual(planned, ['api none', 'db recreate'], 'the plan, emitted before acting');
    assert.deepEqual(r.plan.changes, [
      { service: 'api', action: 'none', downtime: false, reasons: [] },
      { service: 'db', action: 'recreate', downtime: true, reasons: ['definition: differs from what runs'] },
    ]);
    assert.deepEqual(
      calls.filter((c) => c.argv.includes('up')).map((c) => c.argv.at(-1)),
      ['db'],
      'deployed exactly the service the plan changes',
    );
    const applied = readApplied(s.projectDir)!;
    assert.deepEqual(Object.keys(applied.services), ['api', 'db']);
    assert.equal(applied.services.db!.spec.replicas, 2);
  } finally {
    s.done();
  }
});

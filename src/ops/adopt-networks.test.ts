// Adoption's last step against a recorded Docker: the old project's networks that Compose created
// (its `<project>_default`) go once nothing is attached; wharf's own networks, a network still in
// use and one Compose did not create (no network label: external) stay. And `-p` reaches Compose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Cmd } from '../engine/command.js';
import type { OpsContext } from '../engine/context.js';
import type { RunResult } from '../engine/run.js';
import type { Plan } from '../plan/model.js';
import { ComposeEngine } from '../engine/compose.js';
import { composeConfig } from '../engine/compose-config.js';
import { recordingRunner } from '../engine/run.js';
import { tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { refuseProjectName } from '../import/project.js';
import { InputError } from '../errors.js';
import { removeOldNetworks } from './adopt.js';

/** A tiny compose stack of project t, its engine, and a recorded Docker answering `answer`. */
async function withStack(answer: (c: Cmd) => Partial<RunResult> | undefined, fn: (x: Stack) => Promise<void>): Promise<void> {
  const plan = tinyPlan('t');
  const dir = writeCompose(plan);
  try {
    const engine = new ComposeEngine({
      compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' },
      project: 't',
      dir,
      services: plan.components,
    });
    const { runner, calls } = recordingRunner(answer);
    await fn({ ctx: { plan, outDir: dir, projectDir: dir, engine, runner }, calls });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
interface Stack {
  ctx: OpsContext & { engine: ComposeEngine; plan: Plan };
  calls: Cmd[];
}

const label = (network: string) => ({ 'com.docker.compose.project': 't', 'com.docker.compose.network': network });

test('the old project networks with nothing attached are removed; wharf networks, one in use and an unlabelled one stay', async () => {
  let networks: Array<{ Name: string; Labels: Record<string, string>; Containers: object | null }> = [];
  const ids = () => networks.map((_, i) => `id${i}`);
  const answer = (c: Cmd) => {
    const a = c.argv.join(' ');
    if (a.startsWith('docker network ls')) return { stdout: ids().join('\n') };
    if (a.startsWith('docker network inspect')) return { stdout: JSON.stringify(networks) };
    return undefined;
  };
  await withStack(answer, async ({ ctx, calls }) => {
    const ours = ctx.plan.networks.map((n) => ctx.engine.networkName(n.name));
    assert.ok(ours.length > 0);
    networks = [
      { Name: 't_default', Labels: label('default'), Containers: {} },
      { Name: 't_front', Labels: label('front'), Containers: null },
      { Name: 't_jobs', Labels: label('jobs'), Containers: { abc: { Name: 'someone' } } },
      { Name: 't_shared', Labels: { 'com.docker.compose.project': 't' }, Containers: {} },
      ...ours.map((Name) => ({ Name, Labels: label(Name.slice(2)), Containers: {} })),
    ];
    const lines: string[] = [];
    assert.deepEqual(await removeOldNetworks(ctx, (l) => lines.push(l)), ['t_default', 't_front']);
    assert.deepEqual(
      calls.map((c) => c.argv.join(' ')),
      [
        'docker network ls -q --filter label=com.docker.compose.project=t',
        `docker network inspect --verbose ${ids().join(' ')}`,
        'docker network rm t_default t_front',
      ],
    );
    assert.match(lines.join('\n'), /t_default, t_front/);
  });
});

test('a project with no network of its own left: nothing inspected or removed', async () => {
  await withStack(
    () => ({ stdout: '' }),
    async ({ ctx, calls }) => {
      assert.deepEqual(await removeOldNetworks(ctx), []);
      assert.equal(calls.length, 1);
    },
  );
});

test('import -p NAME: Compose reads the project under that name; a name Compose refuses is exit 2 before anything runs', () => {
  const bin = { kind: 'v2' as const, argv: ['docker', 'compose'], version: '2.26.1' };
  const argv = composeConfig(bin, {
    projectDir: '/p',
    files: ['/p/compose.yaml'],
    envFiles: [],
    profiles: ['*'],
    projectName: 'shop-2',
  }).argv;
  assert.deepEqual(argv.slice(0, 4), ['docker', 'compose', '-p', 'shop-2']);
  assert.ok(!composeConfig(bin, { projectDir: '/p', files: [], envFiles: [], profiles: [] }).argv.includes('-p'));
  refuseProjectName('shop_2');
  for (const bad of ['Shop', '-x', '', 'a b', '../x']) assert.throws(() => refuseProjectName(bad), InputError, bad);
});

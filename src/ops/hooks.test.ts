// Release hooks against a recorded Docker: a hook is an argv list (the spec refuses a string),
// runs as a one-off of the service with its env from secret files, and a failing beforeRollout
// stops the rollout before the engine is asked to start or stop anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ComposeEngine } from '../engine/compose.js';
import type { OpsContext } from '../engine/context.js';
import { recordingRunner } from '../engine/run.js';
import { tinyPlan, writeCompose } from '../engine/testing/tiny-stack.js';
import { ENV_WRAPPER } from '../plan/build/services.js';
import { validateSpec } from '../spec/load.js';
import { HookError, hookArgv } from './hooks.js';
import { rollout } from './rollout.js';

function setup() {
  const plan = tinyPlan('t');
  const api = plan.components.find((c) => c.name === 'api')!;
  api.entrypoint = ['/bin/sh', '-c', ENV_WRAPPER, 'wharf-env'];
  api.command = ['DATABASE_URL=/run/secrets/db-url', '--', 'node', 'server.js'];
  api.hooks = { beforeRollout: ['node', 'migrate.js', '$(reboot)'], afterRollout: ['true'] };
  const dir = writeCompose(plan);
  const compose = { kind: 'v2' as const, argv: ['docker', 'compose'], version: '2.26.1' };
  const engine = new ComposeEngine({ compose, project: 't', dir, services: plan.components });
  const ctx = (runner: OpsContext['runner']): OpsContext => ({ plan, outDir: dir, projectDir: dir, engine, runner });
  return { ctx, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a hook runs as the service runs its command: the env-from-secrets arguments, then its argv untouched', () => {
  const s = setup();
  try {
    const ctx = s.ctx(undefined);
    assert.deepEqual(hookArgv(ctx, 'api', 'beforeRollout'), ['DATABASE_URL=/run/secrets/db-url', '--', 'node', 'migrate.js', '$(reboot)']);
    assert.equal(hookArgv(ctx, 'db', 'beforeRollout'), undefined);
  } finally {
    s.done();
  }
});

test('a failing beforeRollout hook: HookError with its output, and nothing started, stopped or removed', async () => {
  const s = setup();
  try {
    const { runner, calls } = recordingRunner((c) =>
      c.argv.includes('run') ? { exitCode: 3, stdout: 'relation "x" already exists' } : undefined,
    );
    const err = await rollout(s.ctx(runner), ['api']).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HookError, String(err));
    assert.equal(err.exitCode, 3);
    assert.deepEqual(
      calls.map((c) => c.argv.slice(6)),
      [['run', '--rm', '--no-deps', '-T', 'api', 'DATABASE_URL=/run/secrets/db-url', '--', 'node', 'migrate.js', '$(reboot)']],
    );
    assert.equal(calls[0]!.describe, 'run the beforeRollout hook of api');
  } finally {
    s.done();
  }
});

test('the spec takes a hook only as an argv list', () => {
  const spec = (hooks: unknown) => ({ name: 'shop', domain: 'shop.localhost', services: { api: { image: 'x/api:1', port: 3000, hooks } } });
  assert.deepEqual(validateSpec(spec({ beforeRollout: ['npm', 'run', 'migrate'] })).issues, []);
  const bad = validateSpec(spec({ beforeRollout: 'npm run migrate' })).issues;
  assert.ok(
    bad.some((i) => i.path === 'services.api.hooks.beforeRollout' && i.severity === 'error'),
    JSON.stringify(bad),
  );
  assert.ok(validateSpec(spec({ before: ['x'] })).issues.some((i) => i.severity === 'error'));
});

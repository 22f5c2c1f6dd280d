// A one-off task on Swarm against a recorded Docker: the `service create` it makes from the
// stack file (argv after the image untouched), then wait, relay, exit code, remove, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { cmd, redact, type Cmd } from './command.js';
import { recordingRunner, type RunResult, type Runner } from './run.js';
import { oneOffArgs, objectsOf, parseTaskEnd, runOneOff, type StackDoc } from './swarm-run.js';
import { SwarmEngine } from './swarm.js';
import type { OpsContext } from './context.js';
import { HookError } from '../ops/hooks.js';
import { rollout } from '../ops/rollout.js';
import { tinyPlan } from './testing/tiny-stack.js';

const doc: StackDoc = {
  services: {
    api: {
      image: 'reg:5000/api:1',
      entrypoint: ['/bin/sh', '-c', 'exec "$@"', "it's"],
      environment: { PORT: '3000', DB_URL_FILE: '/run/secrets/db-url' },
      networks: ['backend', 'edge'],
      secrets: ['db-url', { source: 'db-password', target: 'pw', mode: 256 }],
      configs: [{ source: 'app-config', target: '/etc/app.json' }],
      deploy: { placement: { constraints: ['node.labels.app == true'] } },
      init: true,
      logging: { driver: 'json-file' },
    },
  },
  networks: { backend: { name: 'shop_backend' } },
  secrets: { 'db-url': { name: 'shop_db-url_1a2b', file: '../secrets/db-url' }, 'db-password': { name: 'shop_db-password_3c4d' } },
  configs: { 'app-config': { name: 'shop_app-config_5e6f', file: 'app.json' } },
};

const hostile = ['sh', '-c', 'echo "$1"', 'x', '--network=host', '$(id)'];

test('a one-off task: the service image, entrypoint, env, secrets, configs, networks and constraints; argv after the image as given', () => {
  const a = oneOffArgs(doc, 'api', 'shop', 'shop_api-run-1', hostile);
  assert.deepEqual(a, [
    ...['service', 'create', '--detach', '--quiet', '--with-registry-auth', '--name', 'shop_api-run-1', '--restart-condition', 'none'],
    ...['--label', 'dev.wharf.oneoff=api', '--label', 'dev.wharf.stack=shop', '--no-healthcheck'],
    ...['--secret', 'source=shop_db-url_1a2b,target=db-url', '--secret', 'source=shop_db-password_3c4d,target=pw,mode=256'],
    ...['--config', 'source=shop_app-config_5e6f,target=/etc/app.json'],
    ...['--env', 'PORT=3000', '--env', 'DB_URL_FILE=/run/secrets/db-url'],
    ...['--network', 'shop_backend', '--network', 'shop_edge', '--constraint', 'node.labels.app == true'],
    ...['--entrypoint', `'/bin/sh' '-c' 'exec "$@"' 'it'\\''s'`, '--init', '--log-driver', 'json-file'],
    'reg:5000/api:1',
    ...hostile,
  ]);
  assert.deepEqual(objectsOf(doc, 'api', 'shop'), [
    { kind: 'secret', name: 'shop_db-url_1a2b', file: '../secrets/db-url' },
    { kind: 'secret', name: 'shop_db-password_3c4d' },
    { kind: 'config', name: 'shop_app-config_5e6f', file: 'app.json' },
  ]);
  assert.deepEqual(parseTaskEnd('failed 3 task: non-zero exit (3)\n'), { state: 'failed', exitCode: 3, err: 'task: non-zero exit (3)' });
});

/** A recorded manager: the task runs `states` one per poll, then prints `lines`. */
function manager(states: string[], lines: string[], objects = 'shop_db-url_1a2b\nshop_app-config_5e6f') {
  let poll = 0;
  const rec = recordingRunner((c): Partial<RunResult> | undefined => {
    const a = c.argv.slice(1).join(' ');
    if (/^(secret|config) ls/.test(a)) return { stdout: objects };
    if (a.startsWith('service ps')) return { stdout: 'task1\n' };
    if (a.startsWith('inspect')) return { stdout: states[Math.min(poll++, states.length - 1)]! };
    if (a.startsWith('service logs')) return { stdout: lines.join('\n') };
    return undefined;
  });
  // each line to onLine, masked, as the executor hands them on
  const runner: Runner = async (c, o = {}) => {
    const r = await rec.runner(c, o);
    for (const l of r.stdout.split('\n')) if (l && o.onLine) o.onLine(redact(l, c.redact), 'stdout');
    return r;
  };
  return { runner, calls: rec.calls };
}

const d = {
  c: (args: string[], describe: string, extra?: Omit<Cmd, 'argv' | 'describe'>) => cmd(['docker', ...args], describe, extra),
  dir: '/s',
  pollMs: 1,
};

test('wharf run on swarm: waits for the task, relays its lines masked, passes its exit code on, removes it', async () => {
  const m = manager(['running 0 ', 'failed 3 task: non-zero exit (3)'], ['migrating', 'password hunter2', 'failed']);
  const lines: string[] = [];
  const x = { doc, service: 'api', project: 'shop', argv: ['migrate'], extra: { describe: 'run the hook', redact: ['hunter2'] } };
  const r = await runOneOff(m.runner, d, x, { reject: false, onLine: (l) => void lines.push(l) });
  assert.equal(r.exitCode, 3);
  assert.deepEqual(lines, ['migrating', 'password ***', 'failed']);
  const verbs = m.calls.map((c) => c.argv.slice(1, 3).join(' '));
  assert.deepEqual(verbs, [
    'secret ls',
    'config ls',
    'service create',
    'service logs',
    'service ps',
    'inspect --type',
    'service ps',
    'inspect --type',
    'service logs',
    'service rm',
  ]);
  assert.ok(m.calls[3]!.argv.includes('--follow'), 'followed from the start');
  assert.ok(!m.calls.at(-2)!.argv.includes('--follow'), 'then read whole once the task ended');
  assert.equal(m.calls[2]!.describe, 'run the hook');
  assert.match(m.calls.at(-1)!.argv.at(-1)!, /^shop_api-run-[0-9a-f]{8}$/);
  assert.equal(m.calls.at(-1)!.argv.at(-1), m.calls[2]!.argv[m.calls[2]!.argv.indexOf('--name') + 1]);
});

test('wharf run on swarm streams: each line is relayed, masked, while the task still runs; the ones the follower missed come after, none twice', async () => {
  let poll = 0;
  const seen: Array<[string, number]> = [];
  const rec = recordingRunner((c): Partial<RunResult> | undefined => {
    const a = c.argv.slice(1).join(' ');
    if (/^(secret|config) ls/.test(a)) return { stdout: 'shop_db-url_1a2b\nshop_app-config_5e6f' };
    if (a.startsWith('service ps')) return { stdout: 'task1\n' };
    if (a.startsWith('inspect')) return { stdout: ++poll < 3 ? 'running 0 ' : 'complete 0 ' };
    if (a.startsWith('service logs')) return { stdout: 'step 1\nsecret hunter2\nlast line' };
    return undefined;
  });
  // the follower gets the first two lines at once (the task runs on); the last arrives after it ends
  const runner: Runner = async (c, o = {}) => {
    if (c.argv.includes('--follow')) {
      for (const l of ['step 1', 'secret hunter2']) {
        o.onLine?.(redact(l, c.redact), 'stdout');
        o.onOutput?.(`${redact(l, c.redact)}\n`, 'stdout');
      }
      await new Promise<void>((r) => o.signal?.addEventListener('abort', () => r()));
    }
    // the executor masks what it returns, too
    const r = await rec.runner(c, o);
    return { ...r, stdout: redact(r.stdout, c.redact) };
  };
  const x = { doc, service: 'api', project: 'shop', argv: ['migrate'], extra: { describe: 'run', redact: ['hunter2'] } };
  let chunks = '';
  const r = await runOneOff(runner, d, x, {
    reject: false,
    onLine: (l) => void seen.push([l, poll]),
    onOutput: (t) => void (chunks += t),
  });
  assert.equal(r.exitCode, 0);
  assert.deepEqual(seen, [
    ['step 1', 0],
    ['secret ***', 0],
    ['last line', 3],
  ]);
  assert.equal(chunks, 'step 1\nsecret ***\nlast line\n');
});

test('a secret the deploy has not created yet is created first, labelled for the stack; a task no node takes is exit 125', async () => {
  const m = manager(['rejected 0 no suitable node (scheduling constraints not satisfied)'], [], 'shop_app-config_5e6f');
  const x = { doc, service: 'api', project: 'shop', argv: ['true'], extra: { describe: 'run' } };
  const r = await runOneOff(m.runner, d, x, { reject: false });
  assert.equal(r.exitCode, 125);
  assert.match(r.stderr, /did not start: rejected: no suitable node/);
  const create = m.calls.find((c) => c.argv[1] === 'secret' && c.argv[2] === 'create')!;
  assert.deepEqual(create.argv, [
    'docker',
    'secret',
    'create',
    '--label',
    'com.docker.stack.namespace=shop',
    'shop_db-url_1a2b',
    '../secrets/db-url',
  ]);
  assert.equal(create.cwd, '/s');
  assert.equal(m.calls.filter((c) => c.argv[2] === 'create').length, 2, 'the one secret, then the task; the config exists');
  assert.equal(m.calls.at(-1)!.argv[2], 'rm', 'removed all the same');
});

test('a failing beforeRollout hook on swarm stops the rollout before the scheduler is asked to update anything', async () => {
  const plan = tinyPlan('shop');
  const api = plan.components.find((c) => c.name === 'api')!;
  api.hooks = { beforeRollout: ['node', 'migrate.js'] };
  const dir = mkdtempSync(join(tmpdir(), 'wharf-swarm-run-'));
  try {
    writeFileSync(join(dir, 'stack.yaml'), stringify({ services: { api: { image: 'api:2', networks: ['backend'] } } }));
    const engine = new SwarmEngine({ project: 'shop', dir, services: plan.components });
    const m = manager(['failed 1 task: non-zero exit (1)'], ['relation "x" already exists']);
    const ctx: OpsContext = { plan, outDir: dir, projectDir: dir, engine, runner: m.runner };
    const err = await rollout(ctx, ['api']).catch((e: unknown) => e);
    assert.ok(err instanceof HookError, String(err));
    assert.equal(err.exitCode, 1);
    assert.deepEqual(err.output, ['relation "x" already exists'], "the hook's output is shown");
    const create = m.calls.find((c) => c.argv[2] === 'create')!;
    assert.deepEqual(create.argv.slice(-3), ['api:2', 'node', 'migrate.js']);
    assert.ok(!m.calls.some((c) => c.argv[2] === 'update'), 'no service update');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

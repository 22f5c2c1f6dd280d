// The CLI's one error boundary, run in-process with a recording executor: each refusal exits 2
// with a message naming what was wrong, and runs nothing (no command recorded, no file written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { recordingRunner, type RunResult } from '../engine/run.js';
import { InputError, OperationError } from '../errors.js';
import { UserInputError } from '../spec/issues.js';
import { dirSnapshot, tempProject } from '../../test/support/project.js';
import { templateText } from '../../test/support/templates.js';
import { main, reportError } from './main.js';
import type { Out } from './output.js';
import { wharfInProcess } from '../../test/support/cli-in-process.js';
import { commandTargets } from './targets.js';

function recorder(): Out & { text: () => string; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    log: (l = '') => void lines.push(l),
    error: (l) => void (lines.push(l), errors.push(l)),
    text: () => lines.join('\n'),
    errors,
  };
}

const composeVersion = (argv: string[]) => argv.join(' ') === 'docker compose version';

const wharf = wharfInProcess;

test('the boundary maps each kind of error to its exit code and one line', () => {
  const cases: Array<[unknown, number, RegExp]> = [
    [new InputError('no service "x"', { hint: 'name one' }), 2, /^error: no service "x"\n {2}hint: name one$/],
    [new OperationError('rollout of api failed'), 1, /^error: rollout of api failed$/],
    [new UserInputError([{ path: 'name', severity: 'error', message: 'bad' }]), 2, /^error: name: bad$/],
    [new UserInputError([{ path: 'name', severity: 'warning', message: 'meh' }]), 0, /^warning: name: meh$/],
    [Object.assign(new Error('EACCES: permission denied, open x'), { code: 'EACCES', syscall: 'open' }), 1, /permission denied/],
    [new CommanderError(1, 'commander.unknownOption', 'unknown option'), 2, /^$/],
    [new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), 0, /^$/],
  ];
  for (const [err, code, text] of cases) {
    const out = recorder();
    assert.equal(reportError(out, err, false), code, String(err));
    assert.match(out.text(), text);
  }
});

test('anything else is a bug: exit 70, "please report", the stack only when verbose', () => {
  const quiet = recorder();
  assert.equal(reportError(quiet, new TypeError('x is undefined'), false), 70);
  assert.match(quiet.text(), /^error: x is undefined\n {2}hint: this is a bug in wharf, please report it/);
  assert.doesNotMatch(quiet.text(), /at .*main\.test/);
  const loud = recorder();
  assert.equal(reportError(loud, new TypeError('x is undefined'), true), 70);
  assert.match(loud.text(), /TypeError: x is undefined\n\s+at /);
  const odd = recorder();
  assert.equal(reportError(odd, 'a string', false), 70);
  assert.match(odd.text(), /non-Error was thrown: a string/);
});

test('colour only on a terminal', () => {
  const tty = { ...recorder(), colour: true };
  const lines: string[] = [];
  tty.error = (l) => void lines.push(l);
  reportError(tty, new OperationError('failed'), false);
  assert.equal(lines[0], '\x1b[31merror:\x1b[39m failed');
});

test('unknown service, unknown backup target, unknown or unsupported target: exit 2 naming it, nothing run or written', async () => {
  const p = tempProject(templateText('api'));
  try {
    const before = dirSnapshot(p.dir);
    const cases: Array<[string[], RegExp]> = [
      [['rollout', 'nosuch'], /no service "nosuch" in shop \(services: .*api.*\)/],
      [['rollback', 'apii'], /no service "apii".*did you mean "api"/s],
      [['logs', 'api', 'nosuch'], /no service "nosuch"/],
      [['restore', 'nosuch', '--yes'], /no database, cache or volume "nosuch" is backed up \(backups: db\)/],
      [['backup', 'nosuch'], /"nosuch" is backed up/],
      [['restore', 'db', '--snapshot', 'x;rm', '--yes'], /--snapshot should be a snapshot id/],
      [['status', '--target', 'nope'], /argument 'nope' is invalid\. Allowed choices are compose, swarm, k8s/],
      [['down', '--volumes'], /refusing to delete volumes without confirmation\n {2}hint: pass --yes/],
    ];
    // every command that cannot take k8s (check, render and plan can)
    for (const command of Object.keys(commandTargets).filter((c) => !['check', 'render', 'plan'].includes(c))) {
      const args = ['rollback', 'restore'].includes(command)
        ? [command, 'db']
        : ['exec', 'run'].includes(command)
          ? [command, 'api', 'x']
          : command === 'secrets rotate'
            ? ['secrets', 'rotate', 'db-password']
            : [command];
      const supported = commandTargets[command as keyof typeof commandTargets].join(', ');
      cases.push([
        [...args, '--target', 'k8s'],
        new RegExp(`wharf ${command} does not support the k8s target \\(--target k8s\\); it supports ${supported}`),
      ]);
    }
    for (const [args, message] of cases) {
      const r = await wharf(p.spec, ...args);
      assert.equal(r.code, 2, `wharf ${args.join(' ')}: ${r.text}`);
      assert.match(r.text, message, `wharf ${args.join(' ')}`);
      assert.deepEqual(
        r.calls.map((c) => c.argv.join(' ')),
        [],
        `wharf ${args.join(' ')} ran nothing`,
      );
    }
    assert.deepEqual(dirSnapshot(p.dir), before, 'nothing written');
  } finally {
    p.cleanup();
  }
});

test('rollback with no earlier revision recorded: exit 2 naming it, after reads only', async () => {
  const p = tempProject(templateText('api'));
  try {
    const r = await wharf(p.spec, 'rollback', 'api');
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /no earlier revision of api recorded/);
    for (const c of r.calls) assert.match(c.argv.join(' '), /^docker (compose version|ps|inspect)/, 'only reads');
  } finally {
    p.cleanup();
  }
});

test('a spec whose target: a command cannot drive is refused the same way', async () => {
  const p = tempProject(`${templateText('api')}\ntarget: k8s\n`);
  try {
    const r = await wharf(p.spec, 'up');
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /wharf up does not support the k8s target \(the spec's target: k8s\).*\n {2}hint: .*wharf render --target k8s/);
    assert.deepEqual(r.calls, []);
    assert.deepEqual(readdirSync(p.dir).sort(), ['apps', 'wharf.yaml']);
  } finally {
    p.cleanup();
  }
});

/** A one-host Docker running api replicas 1 and 2 of project shop; `logs` answers each replica's lines. */
function shopDocker(logs: (id: string) => Partial<RunResult> = () => ({}), user: Partial<RunResult> = {}) {
  const box = (id: string, n: number) => ({
    Id: id,
    Name: `/shop-api-${n}`,
    Image: 'sha256:i',
    State: { Status: 'running', StartedAt: '2026-12-07T10:00:00Z', ExitCode: 0 },
    Config: {
      Image: 'x',
      Labels: {
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'api',
        'com.docker.compose.container-number': String(n),
      },
    },
    NetworkSettings: {},
  });
  return recordingRunner((c) => {
    const a = c.argv;
    if (composeVersion(a)) return { stdout: 'Docker Compose version v2.26.1' };
    if (a[1] === 'ps') return { stdout: 'c1\nc2' };
    if (a[1] === 'inspect') return { stdout: JSON.stringify([box('c1', 1), box('c2', 2)]) };
    if (a[1] === 'logs') return logs(a.at(-1)!);
    if (a[1] === 'exec' || a.includes('run')) return user;
    return undefined;
  });
}

test('wharf logs: each replica read with timestamps on its engine, --since/--tail/--follow as given, secrets handed to the executor', async () => {
  const p = tempProject(templateText('api'));
  try {
    mkdirSync(join(p.dir, '.wharf', 'secrets'), { recursive: true });
    writeFileSync(join(p.dir, '.wharf', 'secrets', 'db-password'), 's3cret-value-of-db\n');
    const logsOf = async (...args: string[]) => {
      const out = recorder();
      const rec = shopDocker();
      const code = await main(['node', 'wharf', 'logs', ...args, '--file', p.spec], out, { runner: rec.runner, interactive: false });
      assert.equal(code, 0, out.text());
      return rec.calls.filter((c) => c.argv[1] === 'logs');
    };
    const named = await logsOf('api', '--since', '10m', '--tail', '5');
    assert.deepEqual(
      named.map((c) => c.argv),
      [
        ['docker', 'logs', '--tail', '5', '--timestamps', '--since', '10m', 'c1'],
        ['docker', 'logs', '--tail', '5', '--timestamps', '--since', '10m', 'c2'],
      ],
    );
    assert.equal(named[0]!.timeoutMs, 20_000);
    assert.ok(named[0]!.redact?.includes('s3cret-value-of-db'));
    assert.deepEqual(
      (await logsOf()).map((c) => c.argv.slice(2, 4)),
      [
        ['--tail', '100'],
        ['--tail', '100'],
      ],
      'every app service, 100 lines per replica by default',
    );
    for (const bad of [
      ['--since', '-x'],
      ['--since', 'yesterday'],
      ['--tail', '0'],
      ['--grep', '(unclosed'],
    ]) {
      const r = await wharf(p.spec, 'logs', ...bad);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.text}`);
      assert.deepEqual(r.calls, []);
    }
  } finally {
    p.cleanup();
  }
});

test('a failed log read is an operation failure (exit 1) naming the replica', async () => {
  const p = tempProject(templateText('api'));
  try {
    const out = recorder();
    const rec = shopDocker((id) => (id === 'c2' ? { exitCode: 1, stderr: 'no such container' } : {}));
    const code = await main(['node', 'wharf', 'logs', '--file', p.spec], out, { runner: rec.runner });
    assert.equal(code, 1);
    assert.match(out.text(), /could not read the logs of api\.2 \(exit 1\)\n {2}hint: .*wharf status/);
  } finally {
    p.cleanup();
  }
});

test('wharf exec and run: argv as given after --, the exit code passed through; an unknown replica is exit 2', async () => {
  const p = tempProject(templateText('api'));
  try {
    const go = async (...args: string[]) => {
      const out = recorder();
      const rec = shopDocker(undefined, { exitCode: 42 });
      const code = await main(['node', 'wharf', args[0]!, '--file', p.spec, ...args.slice(1)], out, {
        runner: rec.runner,
        interactive: false,
      });
      return { code, text: out.text(), calls: rec.calls.filter((c) => c.argv.includes('exec') || c.argv.includes('run')) };
    };
    const hostile = ['sh', '-c', 'echo "$1"', 'x', '$(rm -rf /); `id`'];
    const e = await go('exec', 'api', '--replica', '2', '--', ...hostile);
    assert.equal(e.code, 42, e.text);
    assert.deepEqual(e.calls[0]!.argv, ['docker', 'exec', '--interactive', 'c2', ...hostile]);
    assert.equal(e.calls[0]!.timeoutMs, undefined);
    const shell = await go('exec', 'api');
    assert.deepEqual(shell.calls[0]!.argv.slice(0, 5), ['docker', 'exec', '--interactive', 'c1', 'sh'], 'a shell in the first replica');
    const r = await go('run', 'api', '--', 'node', 'migrate.js', '--to', 'latest');
    assert.equal(r.code, 42, r.text);
    assert.deepEqual(r.calls[0]!.argv, [
      ...['docker', 'compose', '-p', 'shop', '-f', 'compose.yaml', 'run', '--rm', '--no-deps', '-T', 'api'],
      ...['node', 'migrate.js', '--to', 'latest'],
    ]);
    const unknown = await go('exec', 'api', '--replica', '7', '--', 'true');
    assert.equal(unknown.code, 2);
    assert.match(unknown.text, /no running replica 7 of api \(running: 1, 2\)/);
    assert.deepEqual(unknown.calls, []);
  } finally {
    p.cleanup();
  }
});

test('--help of each command that drives a stack lists its targets', async () => {
  for (const [command, targets] of Object.entries(commandTargets)) {
    const out = recorder();
    assert.equal(await main(['node', 'wharf', ...command.split(' '), '--help'], out), 0);
    assert.match(out.text(), new RegExp(`\\nTargets: ${targets.join(', ')}`), command);
  }
});

test('no command sets the exit code itself, and every hint names a command that exists', async () => {
  const out = recorder();
  await main(['node', 'wharf', '--help'], out);
  const commands = new Set([...out.text().matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]));
  const src = join(import.meta.dirname, '..');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  for (const f of files(src).filter((x) => x.endsWith('.ts') && !x.endsWith('.test.ts'))) {
    const text = readFileSync(f, 'utf8');
    if (f.includes(`${join('src', 'cli')}`) && !f.endsWith('run.ts')) assert.doesNotMatch(text, /process\.exitCode\s*=/, f);
    for (const m of text.matchAll(/`wharf ([a-z]+)/g)) assert.ok(commands.has(m[1]), `${f} names \`wharf ${m[1]}\``);
  }
});

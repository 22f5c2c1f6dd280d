// scripts/requirements.txt lists what wharf runs on a user's host, requirements-test.txt what the
// tests add: every program shipped code spawns must be on the first (the quick start installs
// only that), every program a test names on one of them (so install.sh --with-tests installs it
// on a new machine), and in CI every listed command must be there. Found missing once:
// node-exporter came as a Recommends on the machine CI last passed on, and install.sh never
// asked for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeclared, requirements, requirementsFile, testRequirementsFile } from '../support/requirements.js';
import { toolPath } from '../support/tools.js';

const repo = join(import.meta.dirname, '..', '..');
// Programs of Debian's essential set and Node itself: on every machine the suite can run on.
const essential = new Set([
  'sh',
  '/bin/sh',
  'bash',
  'dash',
  'cat',
  'id',
  'getconf',
  'env',
  'true',
  'false',
  'sleep',
  'tar',
  'grep',
  'sed',
  'cp',
  'dd',
  'mount',
  'umount',
  'node',
  'npm',
  'npx',
  'git',
]);

function sources(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (n === 'node_modules' || n === 'dist' || n === 'snapshots' || n === 'fixtures') continue;
    if (statSync(p).isDirectory()) sources(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Programs code names literally: toolPath('x'), have('x'), spawn('x'...), execa('x'...), cmd(['x', ...]), argv = ['x', ...]. */
export function programsNamed(text: string): string[] {
  const found = new Set<string>();
  const re =
    /\b(?:(?:toolPath|have|execa|execaSync|spawn|spawnSync|execFile|execFileSync)\(\s*|cmd\(\s*\[\s*|\bargv\s*=\s*\[\s*)'([A-Za-z0-9_./-]+)'/g;
  for (const m of text.matchAll(re)) found.add(m[1]!);
  return [...found];
}

// Programs shipped code runs only for a command that is not `wharf up` on one host: they are
// in requirements-test.txt (the tests run them), and the README says who needs them.
const optionalAtRuntime: Record<string, string> = {
  'ansible-playbook': 'wharf cluster (multi-host bootstrap): README, "Many hosts"',
};

const testCode = [
  ...sources(join(repo, 'test')),
  ...sources(join(repo, 'apps', 'api', 'test')),
  ...sources(join(repo, 'src')).filter((f) => f.endsWith('.test.ts') || f.includes('/testing/')),
].filter((f) => !f.endsWith('requirements.tools.test.ts'));

test('the scanner finds the programs code names', () => {
  assert.deepEqual(
    programsNamed(
      `toolPath('promtool'); spawnSync('haproxy', ['-c']); execa( 'redis-cli', []); run('backup'); cmd(['docker', 'ps']); const argv = ['ansible-playbook', '-i']`,
    ).sort(),
    ['ansible-playbook', 'docker', 'haproxy', 'promtool', 'redis-cli'],
  );
});

test('every program shipped code spawns is in scripts/requirements.txt (what the quick start installs)', () => {
  const runtime = new Set(requirements([requirementsFile]).flatMap((r) => r.commands));
  const shipped = ['engine', 'ops', 'secrets', 'cli']
    .flatMap((d) => sources(join(repo, 'src', d)))
    .filter((f) => !f.endsWith('.test.ts') && !f.includes('/testing/'));
  const named = new Set<string>();
  const missing: string[] = [];
  for (const f of shipped) {
    for (const p of programsNamed(readFileSync(f, 'utf8'))) {
      named.add(p);
      if (!essential.has(p) && !runtime.has(p) && !(p in optionalAtRuntime)) missing.push(`${f.slice(repo.length + 1)}: ${p}`);
    }
  }
  assert.deepEqual(missing, [], `add these to ${requirementsFile}`);
  // the scan sees what the CLI runs: Docker for every target, openssl for the generated TLS and HAProxy credentials
  for (const p of ['docker', 'openssl', 'ansible-playbook']) assert.ok(named.has(p), `${p} not found by the scan`);
  for (const p of Object.keys(optionalAtRuntime)) assert.ok(isDeclared(p), `${p} (${optionalAtRuntime[p]}) is in neither list`);
});

test('the runtime list starts no server beside the platform: only the Docker Engine', () => {
  const servers = ['postgresql', 'mariadb-server', 'redis-server', 'prometheus', 'prometheus-alertmanager', 'haproxy', 'ansible'];
  const runtime = requirements([requirementsFile]).map((r) => r.pkg);
  assert.deepEqual(
    runtime.filter((p) => servers.includes(p) || p.startsWith('prometheus-')),
    [],
  );
  assert.ok(runtime.includes('docker.io'));
});

test('every program a test names is in scripts/requirements.txt or requirements-test.txt (or essential)', () => {
  const missing: string[] = [];
  for (const f of testCode) {
    for (const p of programsNamed(readFileSync(f, 'utf8'))) {
      // a program named to be missing (the executor's ENOENT test) is no requirement
      if (!essential.has(p) && !isDeclared(p) && !p.includes('no-such')) missing.push(`${f.slice(repo.length + 1)}: ${p}`);
    }
  }
  assert.deepEqual(missing, [], `add these to ${testRequirementsFile} (or ${requirementsFile} if wharf itself runs them)`);
});

test('toolPath refuses a program the list does not name', () => {
  assert.throws(() => toolPath('surely-not-a-wharf-requirement'), /not in scripts\/requirements\.txt/);
});

test('install.sh installs the runtime list, and with --with-tests both lists', () => {
  const parse = (...args: string[]) => {
    const r = spawnSync(
      'bash',
      ['-c', 'source <(sed -n "/^LISTS=(/,/^done$/p" scripts/install.sh); printf "%s\\n" "${PACKAGES[@]}"', 'bash', ...args],
      { cwd: repo, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  };
  assert.deepEqual(
    parse(),
    requirements([requirementsFile]).map((x) => x.pkg),
  );
  assert.deepEqual(
    parse('--with-tests'),
    requirements().map((x) => x.pkg),
  );
});

test('every listed command is installed', { skip: process.env.CI === 'true' ? false : 'outside CI: run scripts/install.sh' }, () => {
  const missing: string[] = [];
  for (const r of requirements()) {
    for (const c of r.commands) {
      const ok = c.includes('/') ? existsSync(c) : spawnSync('sh', ['-c', 'command -v "$1"', 'sh', c]).status === 0;
      if (!ok) missing.push(`${c} (package ${r.pkg}, line ${r.line})`);
    }
  }
  assert.deepEqual(missing, []);
});

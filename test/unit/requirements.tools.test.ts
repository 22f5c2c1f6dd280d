// scripts/requirements.txt is the one list of what the tests run: every program a test names
// must be on it (so install.sh installs it on a new machine), and in CI every listed command
// must be there. Found missing once: node-exporter came as a Recommends on the machine CI
// last passed on, and install.sh never asked for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeclared, requirements, requirementsFile } from '../support/requirements.js';
import { toolPath } from '../support/tools.js';

const repo = join(import.meta.dirname, '..', '..');
// Programs of Debian's essential set and Node itself: on every machine the suite can run on.
const essential = new Set(['sh', '/bin/sh', 'bash', 'dash', 'cat', 'id', 'getconf', 'env', 'true', 'false', 'sleep', 'tar', 'grep', 'sed', 'cp', 'dd', 'mount', 'umount', 'node', 'npm', 'npx', 'git']);

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

/** Programs the suite's code names literally: toolPath('x'), have('x'), spawn('x'...), execa('x'...). */
export function programsNamed(text: string): string[] {
  const found = new Set<string>();
  const re = /\b(?:toolPath|have|execa|execaSync|spawn|spawnSync|execFile|execFileSync)\(\s*'([A-Za-z0-9_./-]+)'/g;
  for (const m of text.matchAll(re)) found.add(m[1]!);
  return [...found];
}

const testCode = [...sources(join(repo, 'test')), ...sources(join(repo, 'apps', 'api', 'test')),
  ...sources(join(repo, 'src')).filter((f) => f.endsWith('.test.ts') || f.includes('/testing/'))]
  .filter((f) => !f.endsWith('requirements.tools.test.ts'));

test('the scanner finds the programs a test names', () => {
  assert.deepEqual(programsNamed(`toolPath('promtool'); spawnSync('haproxy', ['-c']); execa( 'redis-cli', []); run('backup')`).sort(), ['haproxy', 'promtool', 'redis-cli']);
});

test('every program a test names is in scripts/requirements.txt (or essential)', () => {
  const missing: string[] = [];
  for (const f of testCode) {
    for (const p of programsNamed(readFileSync(f, 'utf8'))) {
      if (!essential.has(p) && !isDeclared(p)) missing.push(`${f.slice(repo.length + 1)}: ${p}`);
    }
  }
  assert.deepEqual(missing, [], `add these to ${requirementsFile}`);
});

test('toolPath refuses a program the list does not name', () => {
  assert.throws(() => toolPath('surely-not-a-wharf-requirement'), /not in scripts\/requirements\.txt/);
});

test('install.sh installs exactly the packages of the list', () => {
  const r = spawnSync('bash', ['-c', 'source <(sed -n "/^PACKAGES=()/,/^done < scripts\\/requirements.txt/p" scripts/install.sh); printf "%s\\n" "${PACKAGES[@]}"'], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), requirements().map((x) => x.pkg));
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

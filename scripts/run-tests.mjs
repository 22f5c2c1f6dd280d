#!/usr/bin/env node
// Finds *.test.ts under the given roots (default: everything) and runs them with
// node's own test runner through tsx. Node 20's --test has no glob for .ts files.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const defaults = ['src', 'test/unit', 'test/integration', 'apps/api/test', 'test/e2e'];
const skipDirs = new Set(['node_modules', 'dist', '.git', '.wharf']);

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  if (!statSync(dir).isDirectory()) { if (dir.endsWith('.test.ts')) out.push(dir); return out; }
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (!skipDirs.has(name)) walk(p, out); }
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = (roots.length ? roots : defaults).flatMap((r) => walk(r, []));
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
// --test-force-exit: a file whose tests are done exits even if it leaked a handle (a load
// loop left running once held a CI run until its time limit).
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', ...passthrough, ...files],
  { stdio: 'inherit' });
process.exit(r.status ?? 1);

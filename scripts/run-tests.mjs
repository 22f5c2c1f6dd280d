#!/usr/bin/env node
// Runs the test files of the given tiers (or paths) with node's own test runner through tsx.
// A file's tier is in its name: *.e2e.test.ts (whole stacks), *.engine.test.ts (starts
// containers), *.tools.test.ts (real validators, CLIs, loopback servers), plain *.test.ts (pure:
// no process, no socket; test/support/tier-guard.mjs makes either throw there).
//
//   node scripts/run-tests.mjs [fast|pure|tools|engine|e2e|all ...] [paths ...] [--node-test-flags]
//
// fast = pure + tools in parallel; all (the default) = fast, then engine, then e2e, each timed.
// Engine and e2e files run one at a time: they share one Docker engine and the machine's ports.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const guard = join(import.meta.dirname, '..', 'test', 'support', 'tier-guard.mjs');
const fileTimes = join(import.meta.dirname, 'ci', 'file-times.mjs');
const roots = ['src', 'test', 'apps/api/test'];
const skipDirs = new Set(['node_modules', 'dist', '.git', '.wharf', 'snapshots', 'fixtures', 'data']);
const tierOf = (f) => f.match(/\.(tools|engine|e2e)\.test\.ts$/)?.[1] ?? 'pure';
const concurrency = { fast: Number(process.env.WHARF_TEST_CONCURRENCY ?? 3), engine: 1, e2e: 1 };
const groups = { fast: ['pure', 'tools'], pure: ['pure'], tools: ['tools'], engine: ['engine'], e2e: ['e2e'] };

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  if (!statSync(dir).isDirectory()) {
    if (dir.endsWith('.test.ts')) out.push(dir);
    return out;
  }
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!skipDirs.has(name)) walk(p, out);
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('-'));
const words = args.filter((a) => !a.startsWith('-'));
const paths = words.filter((w) => !(w in groups) && w !== 'all');
let tiers = words.filter((w) => w in groups);
if (words.includes('all') || (tiers.length === 0 && paths.length === 0)) tiers = ['fast', 'engine', 'e2e'];
const everything = roots.flatMap((r) => walk(r, []));

// --test-force-exit: a file whose tests are done exits even if it leaked a handle (a load
// loop left running once held a CI run until its time limit). But then a file's process ends
// once the tests registered so far are done: a test() before a top-level await drops every
// test after it, silently (it happened to up's and doctor's engine tests). Refused here.
function lateAwait(f) {
  const text = readFileSync(f, 'utf8');
  const firstTest = text.search(/^(test|describe|it|suite)\(/m);
  return firstTest >= 0 && /^(?:(?:const|let|var) [^=\n]+= )?await /m.test(text.slice(firstTest));
}

function run(name, files, n) {
  if (files.length === 0) return { status: 1, line: `[tests] ${name}: no test files` };
  const late = files.filter(lateAwait);
  if (late.length) {
    const line = `[tests] ${name}: FAILED, a top-level await after the first test() in ${late.join(', ')}: move it above`;
    console.log(line);
    return { status: 1, line };
  }
  const t0 = Date.now();
  // TAP as before, then each file's time (unless the caller chose its own reporter).
  const reporters = flags.some((f) => f.startsWith('--test-reporter'))
    ? []
    : ['--test-reporter=tap', '--test-reporter-destination=stdout', `--test-reporter=${fileTimes}`, '--test-reporter-destination=stdout'];
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', guard, '--test', `--test-concurrency=${n}`, '--test-force-exit', ...reporters, ...flags, ...files],
    { stdio: 'inherit' },
  );
  const s = Math.round((Date.now() - t0) / 1000);
  const line = `[tests] ${name}: ${files.length} files in ${Math.floor(s / 60)} min ${s % 60} s, ${r.status === 0 ? 'passed' : 'FAILED'}`;
  console.log(line);
  return { status: r.status ?? 1, line };
}

const results = [];
if (paths.length) {
  const files = paths.flatMap((p) => walk(p, []));
  results.push(run('files', files, files.some((f) => ['engine', 'e2e'].includes(tierOf(f))) ? 1 : concurrency.fast));
}
for (const t of tiers) {
  results.push(
    run(
      t,
      everything.filter((f) => groups[t].includes(tierOf(f))),
      concurrency[t] ?? concurrency.fast,
    ),
  );
}
if (results.length > 1) for (const r of results) console.log(r.line);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);

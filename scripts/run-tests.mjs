#!/usr/bin/env node
// Runs the test files of the given tiers (or paths) with node's own test runner through tsx.
// A file's tier is in its name: *.e2e.test.ts (whole stacks), *.engine.test.ts (starts
// containers), *.tools.test.ts (real validators, CLIs, loopback servers), plain *.test.ts (pure:
// no process, no socket; test/support/tier-guard.mjs makes either throw there).
//
//   node scripts/run-tests.mjs [fast|pure|tools|engine|e2e|all ...] [paths ...] [--node-test-flags]
//
// fast = pure + tools in parallel; slow = engine + e2e in lanes; all (the default) = fast, then
// slow, each timed. Engine files alone run one at a time. The e2e tier runs in lanes
// (WHARF_E2E_LANES, default 3; 1 = one serial lane): the multi-node files (DinD nodes of their
// own, on networks of their own) in one, the one-host files (and, under `slow`, the engine files)
// dealt over the others by their last measured time (scripts/ci/file-weights.json), longest
// first; within a lane one file at a time. They do not
// collide: each file has its own project/stack names and DinD node prefixes, the edges bind free
// loopback ports, the host engine never enters swarm mode, image builds are serialised by
// build-test-images.sh's lock, and the API bundle both lanes build from is made before they start.
// Each lane's lines are prefixed with its name.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { bundleTests, removeBundles } from './test-bundle.mjs';

const guard = join(import.meta.dirname, '..', 'test', 'support', 'tier-guard.mjs');
const fileTimes = join(import.meta.dirname, 'ci', 'file-times.mjs');
const roots = ['src', 'test', 'apps/api/test'];
const skipDirs = new Set(['node_modules', 'dist', '.git', '.wharf', 'snapshots', 'fixtures', 'data']);
const tierOf = (f) => f.match(/\.(tools|engine|e2e)\.test\.ts$/)?.[1] ?? 'pure';
const concurrency = { fast: Number(process.env.WHARF_TEST_CONCURRENCY ?? 3), engine: 1, e2e: 1 };
const groups = { fast: ['pure', 'tools'], pure: ['pure'], tools: ['tools'], engine: ['engine'], e2e: ['e2e'], slow: ['engine', 'e2e'] };
// seconds each engine/e2e file took in the last cold run; a file not listed counts as a minute
const weights = JSON.parse(readFileSync(join(import.meta.dirname, 'ci', 'file-weights.json'), 'utf8'));
const weightOf = (f) => weights[f] ?? 60;
// Compiled, the fast tier starts its longest files first (seconds in the last cold run; the rest
// after, by path): started last, the minute-long ones were the run's tail while other slots idled.
const fastWeights = JSON.parse(readFileSync(join(import.meta.dirname, 'ci', 'fast-weights.json'), 'utf8'));
const longestFirst = (files) => [...files].sort((a, b) => (fastWeights[b] ?? 0) - (fastWeights[a] ?? 0));
// Multi-node e2e files: Docker-in-Docker swarms and clusters, CPU-heavy and mostly waiting on schedulers.
const nodesLane = /\/(swarm|cluster[a-z-]*)\.e2e\.test\.ts$/;
const lanes = Math.max(1, Number(process.env.WHARF_E2E_LANES ?? 3));

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
if (words.includes('all') || (tiers.length === 0 && paths.length === 0)) tiers = ['fast', 'slow'];
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

function check(name, files) {
  if (files.length === 0) return `[tests] ${name}: no test files`;
  const late = files.filter(lateAwait);
  if (late.length) return `[tests] ${name}: FAILED, a top-level await after the first test() in ${late.join(', ')}: move it above`;
}

const summary = (name, files, t0, status) => {
  const s = Math.round((Date.now() - t0) / 1000);
  return `[tests] ${name}: ${files.length} files in ${Math.floor(s / 60)} min ${s % 60} s, ${status === 0 ? 'passed' : 'FAILED'}`;
};

// TAP as before, then each file's time (unless the caller chose its own reporter).
function nodeTestArgs(files, n, bundled = false) {
  const reporters = flags.some((f) => f.startsWith('--test-reporter'))
    ? []
    : ['--test-reporter=tap', '--test-reporter-destination=stdout', `--test-reporter=${fileTimes}`, '--test-reporter-destination=stdout'];
  const loader = bundled ? ['--enable-source-maps'] : ['--import', 'tsx'];
  return [...loader, '--import', guard, '--test', `--test-concurrency=${n}`, '--test-force-exit', ...reporters, ...flags, ...files];
}

// Pure and tools files run from one esbuild build of them all (scripts/test-bundle.mjs): tsx in
// every process cost more CPU than most of their tests. Engine and e2e files keep tsx.
const bundling = process.env.WHARF_TEST_TSX !== '1';

async function run(name, files, n) {
  const bad = check(name, files);
  if (bad) {
    console.log(bad);
    return { status: 1, line: bad };
  }
  const t0 = Date.now();
  const bundled = bundling && files.every((f) => ['pure', 'tools'].includes(tierOf(f)));
  const targets = bundled ? await bundleTests(longestFirst(files)) : files;
  if (bundled) console.log(`[tests] ${name}: ${files.length} files compiled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const r = spawnSync(process.execPath, nodeTestArgs(targets, n, bundled), { stdio: 'inherit' });
  if (bundled) removeBundles();
  const line = summary(name, files, t0, r.status ?? 1);
  console.log(line);
  return { status: r.status ?? 1, line };
}

/** One lane: its files one at a time, every line of its output prefixed with its name. */
function lane(name, files) {
  const bad = check(name, files);
  if (bad) return Promise.resolve({ status: 1, line: bad });
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeTestArgs(files, 1), { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ])
      createInterface({ input: from }).on('line', (l) => to.write(`[${name}] ${l}\n`));
    child.on('close', (code) => {
      const line = summary(name, files, t0, code ?? 1);
      console.log(line);
      resolve({ status: code ?? 1, line });
    });
  });
}

async function runLanes(name, files) {
  if (lanes === 1 || files.length < 2) return await run(name, files, 1);
  const split = [files.filter((f) => nodesLane.test(f)), files.filter((f) => !nodesLane.test(f))];
  // the one-host files over the other lanes: longest first, each to the lane with the least
  // work so far; within a lane engine files first (short, they fail early), then by path as before
  const host = Array.from({ length: lanes - 1 }, () => ({ files: [], load: 0 }));
  for (const f of [...split[1]].sort((a, b) => weightOf(b) - weightOf(a))) {
    const least = host.reduce((a, b) => (b.load < a.load ? b : a));
    least.files.push(f);
    least.load += weightOf(f);
  }
  const engineFirst = (fs) =>
    [...fs].sort((a, b) => (tierOf(a) === 'engine' ? 0 : 1) - (tierOf(b) === 'engine' ? 0 : 1) || a.localeCompare(b));
  const named = [
    [`${name}/nodes`, split[0]],
    ...host.map((h, i) => [host.length > 1 ? `${name}/host${i + 1}` : `${name}/host`, engineFirst(h.files)]),
  ].filter(([, fs]) => fs.length);
  if (process.env.WHARF_TEST_LIST) {
    for (const [n, fs] of named) console.log(`${n} (${fs.reduce((a, f) => a + weightOf(f), 0)} s): ${fs.join(' ')}`);
    return { status: 0, line: `${name}: listed` };
  }
  // Both lanes bring up stacks that build apps/api from its bundle: make it once, before them.
  spawnSync(
    process.execPath,
    ['--input-type=module', '--import', 'tsx', '-e', `(await import('./test/e2e/support/stack.ts')).ensureApiBundle()`],
    {
      stdio: 'inherit',
    },
  );
  const t0 = Date.now();
  const rs = await Promise.all(named.map(([n, fs]) => lane(n, fs)));
  const status = rs.every((r) => r.status === 0) ? 0 : 1;
  const line = `${summary(name, files, t0, status)} (lanes: ${rs.map((r) => r.line.replace('[tests] ', '')).join('; ')})`;
  console.log(line);
  return { status, line };
}

// every failed test of every tier, reprinted after the tiers' summaries (see file-times.mjs)
const failuresDir = mkdtempSync(join(tmpdir(), 'wharf-test-failures-'));
process.env.WHARF_TEST_FAILURES = join(failuresDir, 'failed.txt');

const results = [];
if (paths.length) {
  const files = paths.flatMap((p) => walk(p, []));
  results.push(await run('files', files, files.some((f) => ['engine', 'e2e'].includes(tierOf(f))) ? 1 : concurrency.fast));
}
for (const t of tiers) {
  const files = everything.filter((f) => groups[t].includes(tierOf(f)));
  results.push(t === 'e2e' || t === 'slow' ? await runLanes(t, files) : await run(t, files, concurrency[t] ?? concurrency.fast));
}
if (results.length > 1) for (const r of results) console.log(r.line);
if (existsSync(process.env.WHARF_TEST_FAILURES))
  console.log(`[tests] failed tests:\n${readFileSync(process.env.WHARF_TEST_FAILURES, 'utf8')}`);
rmSync(failuresDir, { recursive: true, force: true });
process.exit(results.every((r) => r.status === 0) ? 0 : 1);

#!/usr/bin/env node
// `wharf render` and `wharf check` of the largest template against the floor of any Node CLI
// (`node -e 0`), interleaved in the same run so machine load hits all alike. Wall time and the
// child's CPU time (user+sys, from /proc: steadier than wall time on a loaded machine).
//   node bench/render/run.mjs [--runs 30] [--bin path/to/wharf.js] [--base path/to/other/bin/wharf.js (an older build, side by side)]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
// (Hand-parsed flags once read `Number(argv[indexOf('--runs') + 1] || 30)`: with no --runs that is
// Number(argv[0]), the node path, so NaN runs and a crash at the first percentile.)
const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, bin: { type: 'string' }, base: { type: 'string' } },
});
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs: a whole number of at least 1, got ${flags.runs}`);
  process.exit(2);
}
const bin = flags.bin ?? join(root, 'bin', 'wharf.js');
const base = flags.base;

// CPU time of the children this process has waited for, in ms (Linux; 10 ms ticks).
const childCpu = () => {
  if (!existsSync('/proc/self/stat')) return NaN;
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime, at the usual 100 Hz
};

// Largest template = most rendered components.
let largest;
let most = -1;
for (const t of readdirSync(join(root, 'templates')).filter((f) => f.endsWith('.yaml'))) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  cpSync(join(root, 'templates', t), join(dir, 'wharf.yaml'));
  symlinkSync(join(root, 'apps'), join(dir, 'apps'));
  const r = spawnSync(process.execPath, [bin, 'render'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const n = (r.stdout.match(/│ /g) ?? []).length;
  if (n > most) {
    most = n;
    largest = { t, dir };
  } else rmSync(dir, { recursive: true });
}

const loadavg = () => (existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : '?');
const loadBefore = loadavg();
const cases = [
  { name: 'node -e 0 (floor)', argv: ['-e', '0'] },
  { name: `wharf render (${largest.t})`, argv: [bin, 'render'] },
  { name: `wharf check (${largest.t})`, argv: [bin, 'check'] },
  ...(base
    ? [
        { name: `base render (${largest.t})`, argv: [base, 'render'] },
        { name: `base check (${largest.t})`, argv: [base, 'check'] },
      ]
    : []),
];
const samples = cases.map(() => []);
const cpu = cases.map(() => []);
for (let i = 0; i < runs + 3; i++) {
  cases.forEach((c, k) => {
    const t0 = performance.now();
    const c0 = childCpu();
    const r = spawnSync(process.execPath, c.argv, { cwd: largest.dir, stdio: 'ignore' });
    const ms = performance.now() - t0;
    const cpuMs = childCpu() - c0;
    if (r.status !== 0) {
      console.error(`${c.name} failed`);
      process.exit(1);
    }
    if (i >= 3) {
      samples[k].push(ms); // 3 warm-up rounds
      cpu[k].push(cpuMs);
    }
  });
}
rmSync(largest.dir, { recursive: true });

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => `${x.toFixed(0)} ms`;
console.log(`runs: ${runs} each, interleaved; cwd holds a rendered ${largest.t} project (secrets kept, files unchanged)`);
console.log(`load average before: ${loadBefore}, after: ${loadavg()}`);
console.log(['case', 'p50', 'p95', 'min', 'cpu p50'].join('\t'));
cases.forEach((c, k) =>
  console.log([c.name, fmt(pct(samples[k], 50)), fmt(pct(samples[k], 95)), fmt(Math.min(...samples[k])), fmt(pct(cpu[k], 50))].join('\t')),
);
const floor = pct(samples[0], 50);
const floorCpu = pct(cpu[0], 50);
for (const k of cases.keys()) {
  if (k === 0) continue;
  const p50 = pct(samples[k], 50);
  const c50 = pct(cpu[k], 50);
  const what = cases[k].name.split(' (')[0];
  console.log(
    `ratio ${what}/floor (p50): ${(p50 / floor).toFixed(2)}x wall, ${(c50 / floorCpu).toFixed(2)}x cpu (target 3x: ${p50 / floor <= 3 ? 'met' : 'NOT met'}); own work: ${fmt(p50 - floor)}`,
  );
}

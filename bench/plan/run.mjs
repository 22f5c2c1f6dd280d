#!/usr/bin/env node
// `wharf plan` on the api template against `docker compose config` of the same rendered files,
// interleaved in the same run so machine load hits both alike. Nothing needs to run: plan
// then reads an empty live state, which costs what a no-op plan's reads cost on one host.
//   node bench/plan/run.mjs [--runs 10]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = join(import.meta.dirname, '..', '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 10);
const bin = join(root, 'bin', 'wharf.js');
const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-plan-'));
cpSync(join(root, 'templates', 'api.yaml'), join(dir, 'wharf.yaml'));
symlinkSync(join(root, 'apps'), join(dir, 'apps'));
const must = (r) => {
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
};
must(spawnSync(process.execPath, [bin, 'render'], { cwd: dir, encoding: 'utf8' }));
const timed = (argv, cwd) => {
  const t = performance.now();
  must(spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8' }));
  return performance.now() - t;
};
const plan = [];
const config = [];
for (let i = 0; i < runs; i++) {
  plan.push(timed([process.execPath, bin, 'plan', '--json'], dir));
  config.push(timed(['docker', 'compose', 'config', '-q'], join(dir, '.wharf', 'compose')));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p = median(plan);
const c = median(config);
console.log(`wharf plan (api template, compose): median ${(p / 1000).toFixed(2)} s over ${runs} runs`);
console.log(`docker compose config -q:           median ${(c / 1000).toFixed(2)} s`);
console.log(`ratio ${(p / c).toFixed(1)}x`);
rmSync(dir, { recursive: true, force: true });

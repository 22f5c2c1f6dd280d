// A no-op `wharf plan` on the api template while it runs (HAProxy edge, substitute images),
// against `docker compose config -q` of the same rendered files, interleaved in the same run so
// machine load hits both alike. Prints median, p90 and max of each and their ratio. Holds
// containers: run it under the Docker lock.
//   flock /tmp/wharf-docker.lock npx tsx bench/plan/run.ts [--runs 10]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { ensureTestImages, repoRoot } from '../../test/e2e/support/images.js';
import { freePort } from '../../test/e2e/support/stack.js';
import { median, pct } from '../stats.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 10);
// --keep: leave the stack up and print its directory (to profile one plan by hand; `wharf down --volumes` after)
const keep = process.argv.includes('--keep');
const bin = join(repoRoot, 'bin', 'wharf.js');

const images = await ensureTestImages({ progress: null });
const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-plan-'));
symlinkSync(join(repoRoot, 'apps'), join(dir, 'apps'));
const spec = parse(readFileSync(join(repoRoot, 'templates', 'api.yaml'), 'utf8'));
spec.name = 'benchplan';
spec.images = images;
spec.proxy = { kind: 'haproxy', bind: '127.0.0.1', httpPort: await freePort(), httpsPort: await freePort() };
spec.monitoring = { ...spec.monitoring, grafana: false, cadvisor: false }; // images not obtainable here
spec.services.api.build.args = { NODE_IMAGE: images.node };
writeFileSync(join(dir, 'wharf.yaml'), stringify(spec));

const timed = (argv: string[], cwd: string) => {
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}\n${r.stdout}`);
  return { ms: performance.now() - t, out: r.stdout };
};

try {
  console.error('up: builds the API image, creates volumes');
  timed([process.execPath, bin, 'up'], dir);
  const plan: number[] = [];
  const config: number[] = [];
  for (let i = 0; i < runs; i++) {
    const p = timed([process.execPath, bin, 'plan', '--json', '--exit-code'], dir);
    const r = JSON.parse(p.out) as { changes: Array<{ action: string }>; drift: unknown[] };
    if (r.changes.some((c) => c.action !== 'none') || r.drift.length) throw new Error(`not a no-op plan:\n${p.out}`);
    plan.push(p.ms);
    config.push(timed(['docker', 'compose', '-p', 'benchplan', '-f', 'compose.yaml', 'config', '-q'], join(dir, '.wharf', 'compose')).ms);
  }
  const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const row = (name: string, xs: number[]) => console.log([name, sec(median(xs)), sec(pct(xs, 90)), sec(Math.max(...xs))].join('\t'));
  console.log(`no-op plan, api template running (compose), ${runs} runs interleaved`);
  console.log(['case', 'median', 'p90', 'max'].join('\t'));
  row('wharf plan --json', plan);
  row('docker compose config -q', config);
  console.log(
    `ratio ${(median(plan) / median(config)).toFixed(1)}x; target: no-op plan < 2 s -> ${median(plan) < 2000 ? 'met' : 'NOT met'}`,
  );
} finally {
  if (keep) console.log(`kept: ${dir}`);
  else spawnSync(process.execPath, [bin, 'down', '--volumes', '--yes'], { cwd: dir, stdio: 'ignore' });
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

// `wharf up` of the api template (HAProxy edge, substitute images already built): time from
// the command to every replica healthy, next to plain `docker compose up -d --wait` on the
// very same rendered files (the floor: Compose's own work), then the idle memory per service
// next to what seed 000 reports for its hand-built stack (~1 GB).
// Then --noop N more no-op runs (nothing changed) for their percentiles: the 2 s target.
//   npx tsx bench/up/run.ts [--rounds 3] [--noop 10]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { ensureTestImages, repoRoot } from '../../test/e2e/support/images.js';
import { freePort } from '../../test/e2e/support/stack.js';
import { pct } from '../stats.js';
import { containerMiB } from '../memory.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3);
const noops = process.argv.includes('--noop') ? Number(process.argv[process.argv.indexOf('--noop') + 1]) : 10;
const bin = join(repoRoot, 'bin', 'wharf.js');

const images = await ensureTestImages({ progress: null });
const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-up-'));
symlinkSync(join(repoRoot, 'apps'), join(dir, 'apps'));
const spec = parse(readFileSync(join(repoRoot, 'templates', 'api.yaml'), 'utf8'));
spec.name = 'benchup';
spec.images = images;
spec.proxy = { kind: 'haproxy', bind: '127.0.0.1', httpPort: await freePort(), httpsPort: await freePort() };
spec.monitoring = { ...spec.monitoring, grafana: false, cadvisor: false }; // images not obtainable here
spec.services.api.build.args = { NODE_IMAGE: images.node };
writeFileSync(join(dir, 'wharf.yaml'), stringify(spec));

const wharf = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wharf ${args.join(' ')} failed:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
};
const composeArgv = (() => {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
})();
const compose = (...args: string[]) =>
  execFileSync(composeArgv[0]!, [...composeArgv.slice(1), '-p', 'benchup', '-f', 'compose.yaml', ...args], {
    cwd: join(dir, '.wharf', 'compose'),
    stdio: 'pipe',
  });
const timed = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

try {
  console.error('first up: builds the API image, creates volumes');
  wharf('up');
  const samples = { fresh: [] as number[], restart: [] as number[], rerun: [] as number[], composeWait: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    wharf('down', '--volumes', '--yes');
    samples.fresh.push(timed(() => wharf('up'))); // new containers and volumes: databases initialise
    samples.rerun.push(timed(() => wharf('up'))); // nothing to do: must be a no-op
    wharf('down');
    samples.restart.push(timed(() => wharf('up'))); // new containers, data volumes kept
    if (composeArgv.length === 2) {
      // v1 has no --wait
      wharf('down');
      samples.composeWait.push(timed(() => compose('up', '-d', '--wait')));
    }
    console.error(`round ${i + 1}/${rounds} done`);
  }
  for (let i = 0; i < noops; i++) samples.rerun.push(timed(() => wharf('up')));
  // Idle memory: let the stack settle, then one reading per container, summed per service.
  await new Promise((r) => setTimeout(r, 20_000));
  const stats = execFileSync('docker', ['stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('benchup-'));
  const perService = new Map<string, number | undefined>();
  for (const l of stats) {
    const [name, usage] = l.split('\t');
    const svc = name!.replace(/^benchup-/, '').replace(/-\d+$/, '');
    const mib = containerMiB(name!, usage ?? '');
    // one replica that nobody could read makes its service's sum unknown, not smaller
    perService.set(
      svc,
      mib === undefined || (perService.has(svc) && perService.get(svc) === undefined) ? undefined : (perService.get(svc) ?? 0) + mib,
    );
  }

  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`wharf up, api template (9 services, api x3), HAProxy edge, images prebuilt; ${rounds} rounds, ${composeArgv.join(' ')}`);
  console.log(['case', 'median', 'max'].join('\t'));
  const row = (name: string, xs: number[]) => xs.length && console.log([name, sec(pct(xs, 50)), sec(Math.max(...xs))].join('\t'));
  row('wharf up, fresh volumes (DB init)', samples.fresh);
  row('wharf up, volumes kept', samples.restart);
  row('docker compose up -d --wait (floor)', samples.composeWait);
  row('wharf up again (no-op)', samples.rerun);
  if (samples.rerun.length) {
    const [p50, p95] = [pct(samples.rerun, 50), pct(samples.rerun, 95)];
    console.log(
      `no-op up, ${samples.rerun.length} runs: p50 ${sec(p50)}, p95 ${sec(p95)}; target p50 < 2 s -> ${p50 < 2000 ? 'met' : 'NOT met'}`,
    );
  }
  if (samples.composeWait.length)
    console.log(`ratio wharf up (volumes kept) / compose --wait: ${(pct(samples.restart, 50) / pct(samples.composeWait, 50)).toFixed(2)}x`);
  console.log(`target: all healthy in < 30 s -> ${pct(samples.fresh, 50) < 30_000 ? 'met' : 'NOT met'}`);
  console.log('\nidle memory per service (docker stats, 20 s after healthy)');
  let total = 0;
  for (const [svc, mib] of [...perService].sort((a, b) => (b[1] ?? -1) - (a[1] ?? -1))) {
    console.log(`${svc}\t${mib === undefined ? 'unknown (neither docker stats nor the cgroup answered)' : `${mib.toFixed(1)} MiB`}`);
    total += mib ?? 0;
  }
  console.log(
    `total\t${total.toFixed(0)} MiB (seed 000 reports ~1 GB for Traefik, Portainer, whoami, Prometheus, Grafana, node-exporter, cAdvisor)`,
  );
} finally {
  spawnSync(process.execPath, [bin, 'down', '--volumes', '--yes'], { cwd: dir, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

// bench/backup/cli.ts: `wharf backup db` (the CLI, end to end) on a real Compose stack (PostgreSQL and the backup
// service from the e2e images), this branch's backup scripts and a base's (BENCH_BASE, a git ref, default main)
// swapped in between runs, interleaved. Holds containers: run it under the Docker lock.
// Usage: npm run build, then flock /tmp/wharf-docker.lock npx tsx bench/backup/cli.ts   (BENCH_ROUNDS=5)
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackupDirs } from '../../src/ops/backup.js';
import { renderBackup } from '../../src/render/backup/index.js';
import { renderCompose } from '../../src/render/compose/index.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { ensureTestImages, repoRoot } from '../../test/e2e/support/images.js';
import { planFromYaml, postgresSpec } from '../../test/unit/backup-harness.js';
import { quietSchedule } from '../../test/support/schedule.js';
import { median, pct } from '../stats.js';

const BASE = process.env.BENCH_BASE ?? 'main';
const project = `benchcli${process.pid}`;
const images = await ensureTestImages({ only: ['postgres', 'restic'] });
const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-cli-'));
const spec =
  postgresSpec({ keepLast: 3, schedule: quietSchedule() }).replace('name: bk', `name: ${project}`) +
  `images:\n  postgres: ${images.postgres}\n  restic: ${backupImage}\n`;
writeFileSync(join(dir, 'wharf.yaml'), spec);
const plan = planFromYaml(spec);
plan.components = plan.components.filter((c) => ['db', 'backup'].includes(c.name));
plan.volumes = plan.volumes.filter((v) => ['db', 'backup'].includes(v.component));
plan.networks = plan.networks.filter((n) => n.name === 'backend');
const out = join(dir, '.wharf', 'compose');
mkdirSync(out, { recursive: true });
for (const f of [...renderCompose(plan), ...renderBackup(plan)]) {
  mkdirSync(join(out, f.path, '..'), { recursive: true });
  writeFileSync(join(out, f.path), f.contents, { mode: f.mode ?? 0o644 });
}
ensureBackupDirs(plan, dir);
await ensureSecrets(plan, join(dir, '.wharf', 'secrets'), dir);
const compose = (...a: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...a], { cwd: out });
const bin = join(out, 'backup', 'bin');
const versions = {
  mine: Object.fromEntries(['backup.sh', 'lib.sh'].map((f) => [f, execFileSync('cat', [join(bin, f)], { encoding: 'utf8' })])),
  base: Object.fromEntries(
    ['backup.sh', 'lib.sh'].map((f) => [f, execFileSync('git', ['show', `${BASE}:src/render/backup/sh/${f}`], { encoding: 'utf8' })]),
  ),
};
try {
  await compose('up', '-d', '--wait');
  await compose(
    'exec',
    '-T',
    'db',
    'psql',
    '-X',
    '-U',
    'wharf',
    '-d',
    'wharf',
    '-c',
    "CREATE TABLE items (id serial PRIMARY KEY, name text, body text); INSERT INTO items (name, body) SELECT 'item ' || g, md5(g::text) || md5((g*7)::text) FROM generate_series(1, 460) g",
  );
  const ms: Record<'base' | 'mine', number[]> = { base: [], mine: [] };
  const wharf = () =>
    execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'backup', 'db'], { cwd: dir, env: { NO_COLOR: '1' }, reject: false });
  const use = (v: 'base' | 'mine') => {
    for (const [f, t] of Object.entries(versions[v])) writeFileSync(join(bin, f), t);
  };
  for (const v of ['base', 'mine'] as const) {
    use(v);
    const r = await wharf();
    if (r.exitCode) throw new Error(r.stdout + r.stderr);
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? '5');
  for (let i = 0; i < rounds; i++) {
    for (const v of i % 2 ? (['mine', 'base'] as const) : (['base', 'mine'] as const)) {
      use(v);
      const t0 = performance.now();
      const r = await wharf();
      const t = performance.now() - t0;
      if (r.exitCode) throw new Error(`${v}: ${r.stdout}${r.stderr}`);
      ms[v].push(t);
      if (i === rounds - 1) console.log(`${v}: ${r.stdout.trim().split('\n').slice(-2).join(' | ')}`);
    }
  }
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  for (const v of ['base', 'mine'] as const)
    console.log(
      `wharf backup db (${v === 'base' ? `base (${BASE})` : 'this branch'}): p50 ${s(median(ms[v]!))}, p95 ${s(pct(ms[v]!, 95))}  [${ms[v]!.map(s).join(', ')}]`,
    );
  console.log(`ratio p50 ${(median(ms.base!) / median(ms.mine!)).toFixed(2)}x`);
} finally {
  await compose('down', '-v', '--remove-orphans').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

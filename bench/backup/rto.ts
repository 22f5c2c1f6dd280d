// bench/backup/rto.ts: recovery time of a small PostgreSQL database restored in place on the
// real Docker Engine (Compose): the ops layer stops the app using the database, the backup
// service restores (safety snapshot, restore, manifest check), the app starts again and is
// healthy (what the edge waits for). Floor: raw pg_restore inside the db container plus a
// restart of the app until healthy. Run it from a checkout of main too for the baseline
// (the file only uses ops and render APIs both have).
// Usage: flock /tmp/wharf-docker.lock npx tsx bench/backup/rto.ts   (BENCH_ROUNDS=3, BENCH_MB=1: table size)
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeContext } from '../../src/engine/context.js';
import { backupNow, engineServiceControl, ensureBackupDirs, restoreBackup, stackBackupExecutor } from '../../src/ops/backup.js';
import { renderBackup } from '../../src/render/backup/index.js';
import { renderCompose } from '../../src/render/compose/index.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { ensureTestImages } from '../../test/e2e/support/images.js';
import { planFromYaml, postgresSpec } from '../../test/unit/backup-harness.js';
import { median } from '../stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
// the items table's size on disk; a row of this shape takes ~110 bytes with its index
const MB = Number(process.env.BENCH_MB ?? '1');
const project = `pitr-rto${process.pid}`;
const images = await ensureTestImages({ only: ['postgres', 'restic'] });
const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
const dir = mkdtempSync(join(tmpdir(), 'wharf-rto-'));
const out = join(dir, '.wharf', 'compose');
const compose = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: out });
const sql = async (q: string) =>
  (await compose('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'wharf', '-d', 'wharf', '-c', q)).stdout.trim();
try {
  // no schedule in the way: the bench starts every backup itself
  const spec = `${postgresSpec({ keepLast: 5, schedule: '0 3 1 1 *' }).replace('name: bk', `name: ${project}`)}images:\n  postgres: ${images.postgres}\n  restic: ${backupImage}\n`;
  writeFileSync(join(dir, 'wharf.yaml'), spec);
  const plan = planFromYaml(spec);
  plan.components = plan.components.filter((c) => ['db', 'backup', 'api'].includes(c.name));
  plan.volumes = plan.volumes.filter((v) => v.component === 'db' || v.component === 'backup');
  plan.networks = plan.networks.filter((n) => n.name === 'backend');
  // the app: a tiny server on local/debian with the healthcheck timing a service gets by default
  const api = plan.components.find((c) => c.name === 'api')!;
  Object.assign(api, {
    image: 'local/debian:bookworm',
    command: [
      'perl',
      '-MIO::Socket::INET',
      '-e',
      '$s=IO::Socket::INET->new(LocalPort=>3000,Listen=>9,ReuseAddr=>1); while($c=$s->accept){close $c}',
    ],
    networks: ['backend'],
    ports: [],
    mounts: [],
    secrets: [],
    user: undefined,
    healthcheck: { ...api.healthcheck!, probe: { kind: 'exec', command: ['bash', '-c', '</dev/tcp/127.0.0.1/3000'] } },
  });
  mkdirSync(out, { recursive: true });
  for (const f of [...renderCompose(plan), ...renderBackup(plan)]) {
    mkdirSync(join(out, f.path, '..'), { recursive: true });
    writeFileSync(join(out, f.path), f.contents, { mode: f.mode ?? 0o644 });
  }
  await ensureSecrets(plan, join(dir, '.wharf', 'secrets'), dir);
  ensureBackupDirs(plan, dir);
  const ctx = await composeContext({ plan, outDir: out, projectDir: dir, secretsDir: join(dir, '.wharf', 'secrets'), prefer: 'v2' });
  console.error(`${project}: up`);
  await compose('up', '-d', '--wait');
  const ex = { ...(await stackBackupExecutor(ctx)), services: engineServiceControl(ctx) };
  await backupNow(ex, { target: 'db' }); // creates the repository (before the data: one full backup of it, in the rounds)
  let t = performance.now();
  await sql(
    `CREATE TABLE items (id bigserial PRIMARY KEY, name text, body text); INSERT INTO items (name, body) SELECT 'item ' || g, md5(g::text) FROM generate_series(1, ${Math.max(1, Math.round((MB * 1024 ** 2) / 110))}) g`,
  );
  const bytes = Number(await sql("SELECT pg_total_relation_size('items')"));
  console.error(`${project}: ${(bytes / 1024 ** 2).toFixed(0)} MB generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const backups: number[] = [];
  const restores: number[] = [];
  const floors: number[] = [];
  const phaseRows: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    console.error(`${project}: round ${i + 1}`);
    t = performance.now();
    const [b] = await backupNow(ex, { target: 'db' });
    if (!b?.ok) throw new Error(`backup failed: ${b?.error}`);
    backups.push(performance.now() - t);
    t = performance.now();
    const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
    if (!r.ok || !r.verified) throw new Error(`restore failed: ${r.error}`);
    restores.push(performance.now() - t);
    const ph = (r as { phases?: Array<{ phase: string; service?: string; ms: number }> }).phases;
    if (ph) phaseRows.push(ph.map((p) => `${p.service ? `${p.phase} ${p.service}` : p.phase} ${(p.ms / 1000).toFixed(1)}`).join(', '));
    // floor: the same data restored by pg_restore in the db container, the app restarted
    t = performance.now();
    await compose('exec', '-T', 'db', 'sh', '-c', 'pg_dump -Fc -U wharf -d wharf > /tmp/f.dump');
    const tf = performance.now();
    await compose('stop', 'api');
    await compose(
      'exec',
      '-T',
      'db',
      'pg_restore',
      '--clean',
      '--if-exists',
      '--single-transaction',
      '-U',
      'wharf',
      '-d',
      'wharf',
      '/tmp/f.dump',
    );
    await compose('start', 'api');
    await ex.services.waitHealthy(['api'], 120_000);
    floors.push(performance.now() - tf);
    void t;
  }
  const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(1)} s`;
  console.log(
    `${ROUNDS} rounds, medians; items table ${(bytes / 1024 ** 2).toFixed(1)} MB; app healthcheck interval ${api.healthcheck!.interval}; Docker ${(await execa('docker', ['version', '-f', '{{.Server.Version}}'])).stdout}`,
  );
  console.log(`wharf backup db (through docker exec): ${s(backups)}`);
  console.log(`wharf restore db in place (stop app, safety snapshot, restore, check, app healthy): ${s(restores)}`);
  console.log(
    `floor (stop app, raw pg_restore, start app until healthy): ${s(floors)}; ratio ${(median(restores) / median(floors)).toFixed(1)}x`,
  );
  for (const p of phaseRows) console.log(`  phases (s): ${p}`);
} finally {
  await compose('down', '-v', '--remove-orphans').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

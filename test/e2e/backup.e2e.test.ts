// Backups on the real Docker Engine: the plan's db and backup services only (rendered by
// renderCompose and renderBackup, secrets by ensureSecrets), run with Compose from the e2e
// substitute images; the ops functions drive `compose exec -T backup …`.
// The second suite runs the whole api template with the backup service added.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeContext, type OpsContext } from '../../src/engine/context.js';
import { backupNow, stackBackupExecutor, ensureBackupDirs, listBackups, restoreBackup, verifyBackups, type BackupExecutor } from '../../src/ops/backup.js';
import { renderBackup } from '../../src/render/backup/index.js';
import { renderCompose } from '../../src/render/compose/index.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { dockerSkipReason, ensureTestImages } from './support/images.js';
import { createStack, type E2EStack } from './support/stack.js';
import { planBackupService } from '../../src/plan/backup.js';
import { renderAll } from '../../src/render/index.js';
import { writeFiles } from '../../src/ops/write.js';
import { up } from '../../src/ops/up.js';
import { parseSpecText } from '../../src/spec/load.js';
import { planFromYaml, postgresSpec } from '../unit/backup-harness.js';
import { quietSchedule } from '../support/schedule.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backups in containers (PostgreSQL + backup service, real engine)', { skip, timeout: 900_000 }, () => {
  let dir: string;
  let ctx: OpsContext;
  let ex: BackupExecutor;
  const project = `bke2e${process.pid}`;
  const compose = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: join(dir, '.wharf', 'compose') });
  const sql = async (q: string) => (await compose('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'wharf', '-d', 'wharf', '-c', q)).stdout.trim();
  const waitHealthy = async () => {
    for (let i = 0; i < 90; i++) {
      const r = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', `${project}-db-1`], { reject: false });
      if (r.stdout.trim() === 'healthy') return;
      await sleep(1000);
    }
    assert.fail('db not healthy');
  };

  before(async () => {
    const images = await ensureTestImages({ only: ['postgres', 'restic'] });
    // the substitute keeps restic's ENTRYPOINT like the official image; wharf's backup image resets it
    const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
    await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
    dir = mkdtempSync(join(tmpdir(), 'wharf-bk-e2e-'));
    const spec = `${postgresSpec({ keepLast: 5, schedule: quietSchedule() }).replace('name: bk', `name: ${project}`)}images:\n  postgres: ${images.postgres}\n  restic: ${backupImage}\n`;
    writeFileSync(join(dir, 'wharf.yaml'), spec);
    const plan = planFromYaml(spec);
    plan.components = plan.components.filter((c) => c.name === 'db' || c.name === 'backup');
    plan.volumes = plan.volumes.filter((v) => v.component === 'db' || v.component === 'backup');
    plan.networks = plan.networks.filter((n) => n.name === 'backend');
    const out = join(dir, '.wharf', 'compose');
    mkdirSync(out, { recursive: true });
    for (const f of [...renderCompose(plan), ...renderBackup(plan)]) {
      mkdirSync(join(out, f.path, '..'), { recursive: true });
      writeFileSync(join(out, f.path), f.contents, { mode: f.mode ?? 0o644 });
    }
    await ensureSecrets(plan, join(dir, '.wharf', 'secrets'), dir);
    ensureBackupDirs(plan, dir);
    ctx = await composeContext({ plan, outDir: out, projectDir: dir, secretsDir: join(dir, '.wharf', 'secrets'), prefer: 'v2' });
    await compose('up', '-d');
    await waitHealthy();
    ex = await stackBackupExecutor(ctx);
  });
  after(async () => {
    if (dir) { await compose('down', '-v', '--remove-orphans').catch(() => undefined); rmSync(dir, { recursive: true, force: true }); }
  });

  it('items -> backup -> database volume destroyed -> restore -> every item identical', async () => {
    await sql("CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(10,2)); INSERT INTO items (name, price) SELECT 'item ' || g, g * 0.5 FROM generate_series(1, 500) g");
    const before = await sql("SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items");
    const [b] = await backupNow(ex, { target: 'db' });
    assert.ok(b?.ok, b?.error);
    // destroy the database volume
    await compose('rm', '-s', '-f', 'db');
    await execa('docker', ['volume', 'rm', `${project}_db-data`]);
    await compose('up', '-d', 'db');
    await waitHealthy();
    assert.equal(await sql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'"), '0', 'the data is gone');
    const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.verified, true);
    assert.equal(await sql("SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items"), before);
  });

  it('lists snapshots with size and verification; a verification passes, then fails loudly once the repository is corrupted', async () => {
    const [v] = await verifyBackups(ex, { target: 'db', readDataSubset: '100%' });
    assert.ok(v?.ok, v?.error);
    const [l] = await listBackups(ex, { target: 'db' });
    assert.ok(l!.snapshots.length >= 2);
    assert.ok(l!.snapshots.every((s) => (s.bytes ?? 0) > 0));
    assert.ok(l!.snapshots.some((s) => s.verification === 'restore-tested'));
    // corrupt every pack file of the repository (bind-mounted from the project)
    const data = join(dir, '.wharf', 'backups', 'db', 'data');
    await execa('sh', ['-c', `for f in $(find "${data}" -type f); do dd if=/dev/zero of="$f" bs=1 seek=200 count=64 conv=notrunc 2>/dev/null; done`]);
    const [bad] = await verifyBackups(ex, { target: 'db', readDataSubset: '100%' });
    assert.equal(bad!.ok, false);
    assert.notEqual(bad!.exitCode, 0);
    const prom = (await compose('exec', '-T', 'backup', 'cat', '/metrics/wharf_backup_db.prom')).stdout;
    assert.match(prom, /^wharf_backup_verify_last_status\{backup="db",target="db",kind="postgres"\} 0$/m);
    assert.match(prom, /^wharf_backup_last_status\{backup="db",target="db",kind="postgres"\} 1$/m);
  });
});

// The whole `api` template (HAProxy, 3 API replicas, PostgreSQL, Redis, Prometheus, node-exporter)
// with the backup service added the way build.ts will add it (planBackupService), items written
// through the API over TLS, the database volume destroyed, restored, and read back through the API.
describe('api template with backups: items through the API survive a destroyed database volume', { skip, timeout: 1_200_000 }, () => {
  let s: E2EStack;
  let host: string;
  const api = (method: string, path: string, body?: unknown) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest({
      host: '127.0.0.1', port: s.ports.https, path, method, servername: host, rejectUnauthorized: false, timeout: 10_000,
      headers: { host, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
    }, (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c: string) => { b += c; }); res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b })); });
    req.on('error', reject);
    req.end(data);
  });
  const allItems = async () => {
    const out: unknown[] = [];
    let after = '';
    for (;;) {
      const r = await api('GET', `/api/items?limit=100${after ? `&after=${after}` : ''}`);
      assert.equal(r.status, 200, r.body);
      const page = JSON.parse(r.body) as { items: Array<{ id: number }>; next_after?: number | null };
      out.push(...page.items);
      if (!page.next_after || !page.items.length) return out;
      after = String(page.next_after);
    }
  };

  before(async () => {
    const images = await ensureTestImages({ progress: null });
    const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
    await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
    s = await createStack('api', `wharf-e2e-bk${process.pid % 1000}`, (spec) => { spec.images = { ...spec.images, restic: backupImage }; });
    host = s.ctx.plan.routes.find((r) => r.service === 'api')!.host;
    const plan = s.ctx.plan;
    if (!plan.components.some((c) => c.role === 'backup')) {
      const stack = parseSpecText(readFileSync(s.specPath, 'utf8')).stack!;
      const part = planBackupService(stack, plan.backups, plan.components, plan.paths.projectDir);
      plan.components.push(...part.components);
      plan.volumes.push(...part.volumes);
      for (const x of part.secrets) if (!plan.secrets.some((y) => y.name === x.name)) plan.secrets.push(x);
      const files = renderAll(plan);
      const extra = files.some((f) => f.path.startsWith('backup/')) ? [] : renderBackup(plan);
      writeFiles(s.ctx.outDir, [...files, ...extra]);
      await ensureSecrets(plan, join(s.dir, '.wharf', 'secrets'), s.dir);
    }
    ensureBackupDirs(plan, s.dir);
    const r = await up(s.ctx, { timeoutMs: 300_000 });
    assert.deepEqual(r.services.filter((x) => x.state !== 'healthy' && x.service !== 'backup').map((x) => `${x.service}:${x.state}`), []);
  });
  after(async () => { await s?.destroy(); });

  it('write -> backup -> destroy volume -> restore -> identical, and node-exporter publishes the metrics', async () => {
    for (let i = 0; i < 40; i++) {
      const r = await api('POST', '/api/items', { name: `item ${i}`, description: `written through the API, ${'é'.repeat(i % 5)}` });
      assert.equal(r.status, 201, r.body);
    }
    const before = await allItems();
    assert.equal(before.length, 40);
    const ex = await stackBackupExecutor(s.ctx);
    const [b] = await backupNow(ex, { target: 'db' });
    assert.ok(b?.ok, b?.error);
    const project = s.ctx.plan.name;
    const dir = s.ctx.outDir;
    await execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', 'rm', '-s', '-f', 'db', 'db-exporter'], { cwd: dir, reject: false });
    await execa('docker', ['volume', 'rm', `${project}_db-data`]);
    await execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', 'up', '-d', '--no-build'], { cwd: dir });
    for (let i = 0; i < 120; i++) {
      const h = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', `${project}-db-1`], { reject: false });
      if (h.stdout.trim() === 'healthy') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.verified, true);
    assert.deepEqual(await allItems(), before);
    const metrics = (await execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', 'exec', '-T', 'node-exporter', 'wget', '-qO-', 'http://127.0.0.1:9100/metrics'], { cwd: dir })).stdout;
    assert.match(metrics, /^wharf_backup_last_status\{backup="db",kind="postgres",target="db"\} 1$/m);
    assert.match(metrics, /^wharf_backup_last_success_timestamp_seconds\{backup="db",kind="postgres",target="db"\} /m);
  });
});

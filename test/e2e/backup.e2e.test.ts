// Backups on the real Docker Engine: the plan's db, cache, files (a volume) and backup services
// only (rendered by renderCompose and renderBackup, secrets by ensureSecrets), run with Compose
// from the e2e substitute images; the ops functions drive `compose exec -T backup …`. Disaster
// recovery: the same stack on a second, empty engine (Docker-in-Docker) from the spec, the
// exported secrets and a copy of the repository, brought back by restore --all.
// The whole api template's backup (items through the API, volume destroyed, restored) runs on
// the stack of stack.e2e.test.ts, which brings that template up anyway.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeContext, type OpsContext } from '../../src/engine/context.js';
import {
  backupNow,
  stackBackupExecutor,
  ensureBackupDirs,
  listBackups,
  restoreBackup,
  verifyBackups,
  type BackupExecutor,
} from '../../src/ops/backup.js';
import { renderBackup } from '../../src/render/backup/index.js';
import { renderCompose } from '../../src/render/compose/index.js';
import { renderPitr } from '../../src/render/pitr/index.js';
import { pitrWindows, restoreToTime } from '../../src/ops/pitr.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { phaseLine } from '../../src/cli/format/units.js';
import { restoreAll } from '../../src/ops/backup-restore-all.js';
import { startDockerHost } from './support/docker-host.js';
import { dockerSkipReason, ensureTestImages, repoRoot } from './support/images.js';
import { planFromYaml, postgresSpec } from '../unit/backup-harness.js';
import { quietSchedule } from '../support/schedule.js';
import { assertRecoveredTo, ensurePitrImage, writeTicksThenDrop } from './support/pitr.js';

const skip = dockerSkipReason() ?? false;
const FILES_SERVICE = `  files:
    image: example/files:1
    port: 8080
    volumes:
      - name: uploads
        target: /data
        backup: { schedule: "0 3 1 1 *" }
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backups in containers (PostgreSQL + backup service, real engine)', { skip, timeout: 900_000 }, () => {
  let dir: string;
  let ctx: OpsContext;
  let ex: BackupExecutor;
  const project = `bke2e${process.pid}`;
  const compose = (...args: string[]) =>
    execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: join(dir, '.wharf', 'compose') });
  const sql = async (q: string) =>
    (await compose('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'wharf', '-d', 'wharf', '-c', q)).stdout.trim();
  const waitHealthy = async () => {
    for (let i = 0; i < 90; i++) {
      const r = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', `${project}-db-1`], { reject: false });
      if (r.stdout.trim() === 'healthy') return;
      await sleep(1000);
    }
    assert.fail('db not healthy');
  };

  // the plan's db, cache, files (a volume) and backup services, rendered into a project
  const renderInto = (project: string, spec: string) => {
    const plan = planFromYaml(spec);
    const keep = ['db', 'db-pitr', 'cache', 'files', 'backup'];
    plan.components = plan.components.filter((c) => keep.includes(c.name));
    plan.volumes = plan.volumes.filter((v) => keep.includes(v.component));
    plan.networks = plan.networks.filter((n) => n.name === 'backend');
    // the volume's owner: a process holding the volume, no port, running is healthy
    Object.assign(
      plan.components.find((c) => c.name === 'files')!,
      {
        image: 'local/debian:bookworm',
        command: ['sleep', 'infinity'],
        networks: ['backend'],
        ports: [],
        secrets: [],
        user: undefined,
        healthcheck: undefined,
      },
    );
    const out = join(project, '.wharf', 'compose');
    mkdirSync(out, { recursive: true });
    for (const f of [...renderCompose(plan), ...renderBackup(plan), ...renderPitr(plan)]) {
      mkdirSync(join(out, f.path, '..'), { recursive: true });
      writeFileSync(join(out, f.path), f.contents, { mode: f.mode ?? 0o644 });
    }
    ensureBackupDirs(plan, project);
    return { plan, out };
  };
  let spec: string;
  let imageRefs: string[];

  before(async () => {
    const images = await ensureTestImages({ only: ['postgres', 'redis', 'restic'] });
    // the substitute keeps restic's ENTRYPOINT like the official image; wharf's backup image resets it
    const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
    await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
    const pitrImage = await ensurePitrImage(images.postgres!);
    imageRefs = [images.postgres!, images.redis!, backupImage, pitrImage, 'local/debian:bookworm'];
    dir = mkdtempSync(join(tmpdir(), 'wharf-bk-e2e-'));
    spec =
      postgresSpec({ keepLast: 5, schedule: quietSchedule() })
        .replace('name: bk', `name: ${project}`)
        .replace('    backup:\n', '    backup:\n      pointInTime: true\n')
        .replace('services:\n', `services:\n${FILES_SERVICE}`) +
      `caches:\n  cache: { engine: redis, persistence: true, backup: { schedule: "${quietSchedule()}" } }\n` +
      `images:\n  postgres: ${images.postgres}\n  redis: ${images.redis}\n  restic: ${backupImage}\n  pgbackrest: ${pitrImage}\n`;
    writeFileSync(join(dir, 'wharf.yaml'), spec);
    const { plan, out } = renderInto(dir, spec);
    await ensureSecrets(plan, join(dir, '.wharf', 'secrets'), dir);
    ctx = await composeContext({ plan, outDir: out, projectDir: dir, secretsDir: join(dir, '.wharf', 'secrets'), prefer: 'v2' });
    await compose('up', '-d');
    await waitHealthy();
    ex = await stackBackupExecutor(ctx);
  });
  after(async () => {
    if (dir) {
      await compose('down', '-v', '--remove-orphans').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('point in time: a writer inserts a row every 100 ms, the table is dropped after T; restore --to T brings back every row up to T, none after', async () => {
    // the archiver takes the first base backup when it starts: the window opens with it
    const { acked, t } = await writeTicksThenDrop({
      sql,
      writer: [
        'docker',
        ['compose', '-p', project, '-f', 'compose.yaml', 'exec', '-T', 'db', 'psql', '-U', 'wharf', '-d', 'wharf'],
        join(dir, '.wharf', 'compose'),
      ],
      windowStart: async () => {
        const w = await pitrWindows(ex, 'db');
        return { earliest: w[0]?.earliest, detail: JSON.stringify(w) };
      },
    });
    const r = await restoreToTime(ex, { target: 'db', to: t, confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.verified, true, 'PostgreSQL stopped at T');
    const ids = (await sql('SELECT id FROM ticks ORDER BY id')).split('\n').filter(Boolean).map(Number);
    const { lost, upToT } = assertRecoveredTo(acked, ids, t);
    console.log(
      `# local PITR: ${upToT} rows up to T, ${lost} lost, ${acked.length - upToT} after T left out; phases ${JSON.stringify(r.phases)}`,
    );
  });

  it('items -> backup -> database volume destroyed -> restore -> every item identical', async () => {
    await sql(
      "CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(10,2)); INSERT INTO items (name, price) SELECT 'item ' || g, g * 0.5 FROM generate_series(1, 500) g",
    );
    const before = await sql("SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items");
    const [b] = await backupNow(ex, { target: 'db' });
    assert.ok(b?.ok, b?.error);
    // destroy the database volume
    // the WAL archiver holds the data volume too
    await compose('rm', '-s', '-f', 'db', 'db-pitr');
    await execa('docker', ['volume', 'rm', `${project}_db-data`]);
    await compose('up', '-d', 'db');
    await waitHealthy();
    assert.equal(await sql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'"), '0', 'the data is gone');
    const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.verified, true);
    assert.equal(await sql("SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items"), before);
  });

  it('disaster recovery: an empty engine given the spec, the exported secrets and the repository; restore --all brings back db, cache and volume', async () => {
    const t0 = performance.now();
    const redis = (h: (...a: string[]) => ReturnType<typeof compose>, cmd: string) =>
      h('exec', '-T', 'cache', 'sh', '-c', `REDISCLI_AUTH="$(cat /run/secrets/cache-password)" redis-cli --no-auth-warning ${cmd}`);
    const items = "SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items";
    await redis(compose, 'SET dr:key "kept across hosts"');
    await compose('exec', '-T', 'files', 'sh', '-c', 'echo uploaded > /data/report.txt');
    const rows = await sql(items);
    assert.ok(rows.length > 100);
    for (const b of await backupNow(ex)) assert.ok(b.ok, `${b.job}: ${b.error}`);
    const pass = randomBytes(18).toString('base64');
    const wharf = (cwd: string, ...a: string[]) =>
      execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), ...a], { cwd, env: { NO_COLOR: '1', WHARF_EXPORT_PASSPHRASE: pass } });
    // what is kept off the host: the encrypted secrets file; the repository is copied as a bucket would be reachable
    const away = mkdtempSync(join(tmpdir(), 'wharf-dr-away-'));
    const newDir = mkdtempSync(join(tmpdir(), 'wharf-dr-'));
    const host = await startDockerHost(`plan-dr${process.pid}`, newDir);
    try {
      await wharf(dir, 'secrets', 'export', '--out', join(away, 'secrets.age'));
      await host.load(imageRefs);
      writeFileSync(join(newDir, 'wharf.yaml'), spec);
      // the dump repositories; the WAL archive belongs to the old cluster's system identifier (a new
      // host's archiver starts its own; restore --all restores from the dumps)
      cpSync(join(dir, '.wharf', 'backups'), join(newDir, '.wharf', 'backups'), {
        recursive: true,
        filter: (src) => !src.startsWith(join(dir, '.wharf', 'backups', 'db-pitr')),
      });
      const imported = await wharf(newDir, 'secrets', 'import', join(away, 'secrets.age'));
      assert.match(imported.stdout, /secret files written/);
      const { plan, out } = renderInto(newDir, spec);
      const env = { DOCKER_HOST: host.dockerHost };
      const there = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: out, env });
      await there('up', '-d', '--wait');
      const psql = async (q: string) =>
        (await there('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'wharf', '-d', 'wharf', '-c', q)).stdout.trim();
      assert.equal(await psql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'"), '0', 'the new host starts empty');
      // the ops drive that engine as the CLI would with DOCKER_HOST set
      const saved = process.env.DOCKER_HOST;
      process.env.DOCKER_HOST = host.dockerHost;
      let r: Awaited<ReturnType<typeof restoreAll>>;
      try {
        const ctx2 = await composeContext({
          plan,
          outDir: out,
          projectDir: newDir,
          secretsDir: join(newDir, '.wharf', 'secrets'),
          prefer: 'v2',
        });
        const tr = performance.now();
        r = await restoreAll(await stackBackupExecutor(ctx2), { confirm: () => true });
        console.log(`# restore --all on the new engine: ${((performance.now() - tr) / 1000).toFixed(1)} s`);
        for (const x of r.results) console.log(`#   ${x.job}: ${phaseLine(x.phases ?? [])}`);
      } finally {
        if (saved === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = saved;
      }
      assert.ok(r.ok, r.results.map((x) => `${x.job}: ${x.error ?? 'ok'}`).join('; '));
      assert.deepEqual(
        r.results.map((x) => `${x.job} ${x.verified}`),
        ['uploads true', 'cache true', 'db true'],
      );
      assert.equal(await psql(items), rows);
      assert.equal((await redis(there, 'GET dr:key')).stdout.trim(), 'kept across hosts');
      assert.equal((await there('exec', '-T', 'files', 'cat', '/data/report.txt')).stdout.trim(), 'uploaded');
    } finally {
      await host.remove();
      rmSync(newDir, { recursive: true, force: true });
      rmSync(away, { recursive: true, force: true });
      console.log(`# disaster recovery subtest: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
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
    await execa('sh', [
      '-c',
      `for f in $(find "${data}" -type f); do dd if=/dev/zero of="$f" bs=1 seek=200 count=64 conv=notrunc 2>/dev/null; done`,
    ]);
    const [bad] = await verifyBackups(ex, { target: 'db', readDataSubset: '100%' });
    assert.equal(bad!.ok, false);
    assert.notEqual(bad!.exitCode, 0);
    const prom = (await compose('exec', '-T', 'backup', 'cat', '/metrics/wharf_backup_db.prom')).stdout;
    assert.match(prom, /^wharf_backup_verify_last_status\{backup="db",target="db",kind="postgres"\} 0$/m);
    assert.match(prom, /^wharf_backup_last_status\{backup="db",target="db",kind="postgres"\} 1$/m);
  });
});

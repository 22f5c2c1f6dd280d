// The rendered backup scripts, run for real: restic (>= 0.17) against a real PostgreSQL on
// loopback, driven through the ops functions the CLI calls (src/ops/backup.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { missingServers, startPostgres, type DbServer } from '../support/servers.js';
import { requireTool } from '../support/tools.js';
import { backupNow, listBackups, restoreBackup, verifyBackups, type BackupProgress, type RestoreRequest } from '../../src/ops/backup.js';
import {
  BACKUP_LAST_STATUS_METRIC,
  BACKUP_LAST_SUCCESS_METRIC,
  BACKUP_VERIFY_LAST_STATUS_METRIC,
} from '../../src/render/prometheus/catalogue.js';
import { makeSandbox, metricValue, planFromYaml, postgresSpec, resticBinary, type Sandbox } from './backup-harness.js';

const restic = resticBinary();
const skip =
  requireTool(!!restic, 'restic >= 0.17 (WHARF_RESTIC, or the wharf-test/restic image)') ??
  requireTool(!missingServers('postgres'), 'PostgreSQL server binaries');

async function q<T = Record<string, unknown>>(db: DbServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const items = (db: DbServer) =>
  q<{ id: number; name: string; price: string; tags: string[]; meta: unknown }>(db, 'SELECT * FROM items ORDER BY id');

describe('backup scripts against real PostgreSQL and restic', { skip, timeout: 600_000 }, () => {
  let db: DbServer;
  let sb: Sandbox;
  before(async () => {
    db = await startPostgres();
    await q(db, 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], meta jsonb)');
    await q(
      db,
      "INSERT INTO items (name, price, tags, meta) SELECT 'item ' || g, g * 1.25, ARRAY['t' || (g % 7)], jsonb_build_object('g', g, 'é', 'ünïcode') FROM generate_series(1, 2000) g",
    );
    await q(db, 'CREATE TABLE audit (at timestamptz DEFAULT now(), what text)');
    const plan = planFromYaml(postgresSpec({ keepLast: 3 }));
    sb = makeSandbox(plan, {
      restic: restic!,
      secrets: { 'db-password': db.password },
      env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port) },
    });
  });
  after(async () => {
    await db?.stop();
    sb?.cleanup();
  });

  it('backs up with progress, checks the dump, writes the metrics the alert rules read', async () => {
    const events: BackupProgress[] = [];
    const [r] = await backupNow(sb.executor, { target: 'db', onProgress: (e) => events.push(e) });
    assert.ok(r?.ok, `backup failed: ${r?.error}`);
    assert.match(r.snapshot!, /^[0-9a-f]{64}$/);
    assert.ok(r.bytes! > 10_000, `dump of 2000 rows is ${r.bytes} bytes`);
    assert.deepEqual(
      [...new Set(events.filter((e) => e.phase !== 'log').map((e) => e.phase))],
      // the first backup finds no repository (the backup is its own probe), creates it, dumps again
      ['manifest', 'dump', 'open', 'init', 'check', 'retention', 'done'],
    );
    const m = sb.metrics('db');
    assert.equal(metricValue(m, BACKUP_LAST_STATUS_METRIC), 1);
    assert.ok(Math.abs(metricValue(m, BACKUP_LAST_SUCCESS_METRIC)! - Date.now() / 1000) < 120);
    assert.match(m, /wharf_backup_last_status\{backup="db",target="db",kind="postgres"\} 1/);
    // the repository is encrypted: no table content in clear anywhere under it
    let found = '';
    try {
      found = execFileSync('grep', ['-r', '-l', '-a', 'item 1999', sb.repoDir], { encoding: 'utf8' });
    } catch {
      /* exit 1: not found */
    }
    assert.equal(found, '', 'row data in clear text in the repository');
  });

  it('the scheduler starts the jobs that are due', async () => {
    writeFileSync(join(sb.home, 'schedule'), '* * * * * backup db\n');
    const r = await sb.run('scheduler', ['--once']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /scheduler: starting backup db/);
    const [l] = await listBackups(sb.executor, { target: 'db' });
    assert.equal(l!.snapshots.length, 2, 'the scheduled run added a snapshot');
    // back to one snapshot, as the rest of this suite expects
    execFileSync(sb.env.RESTIC!, ['forget', l!.snapshots[0]!.id], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: join(sb.repoDir, 'db'),
        RESTIC_PASSWORD_FILE: join(sb.secretsDir, 'backup-restic-password'),
      },
      stdio: 'pipe',
    });
  });

  it('two runs that meet (schedule and a manual backup) are serialised, and both succeed', async () => {
    const [a, b] = await Promise.all([sb.run('backup', ['db']), sb.run('backup', ['db'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal([a, b].filter((r) => /progress wait waiting for another run of db/.test(r.stderr)).length, 1);
    const [l] = await listBackups(sb.executor, { target: 'db' });
    for (const s of l!.snapshots.slice(0, 2)) {
      execFileSync(sb.env.RESTIC!, ['forget', s.id], {
        env: {
          ...process.env,
          RESTIC_REPOSITORY: join(sb.repoDir, 'db'),
          RESTIC_PASSWORD_FILE: join(sb.secretsDir, 'backup-restic-password'),
        },
        stdio: 'pipe',
      });
    }
  });

  it('bad backups are loud: an unreachable database or a dump under the size floor fails, keeps no snapshot, and sets the failure metric', async () => {
    const down = await sb.run('backup', ['db'], { WHARF_DB_PORT: '1' });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /cannot connect/);
    assert.equal(metricValue(sb.metrics('db'), BACKUP_LAST_STATUS_METRIC), 0);
    const jobFile = join(sb.home, 'jobs', 'db.env');
    const orig = readFileSync(jobFile, 'utf8');
    writeFileSync(jobFile, orig.replace(/^MIN_BYTES=\d+$/m, 'MIN_BYTES=100000000'));
    try {
      const small = await sb.run('backup', ['db']);
      assert.notEqual(small.code, 0);
      assert.match(small.stderr, /backup rejected: dump is \d+ bytes, below the 100000000-byte floor/);
    } finally {
      writeFileSync(jobFile, orig);
    }
    const [l] = await listBackups(sb.executor, { target: 'db' });
    assert.equal(l!.snapshots.length, 1, 'the rejected snapshot was dropped');
    assert.equal(l!.lastBackup?.ok, false);
    assert.match(l!.lastBackup?.error ?? '', /floor/);
  });

  it('restores every item identically after the data is destroyed, with a safety snapshot first', async () => {
    const before = await items(db);
    assert.equal(before.length, 2000);
    // destroy: the server's data directory is gone, a fresh empty cluster takes its place
    await q(db, 'DROP TABLE items');
    await q(db, "INSERT INTO audit (what) VALUES ('after the backup')");
    const asked: RestoreRequest[] = [];
    const r = await restoreBackup(sb.executor, {
      target: 'db',
      confirm: (req) => {
        asked.push(req);
        return true;
      },
    });
    assert.ok(r.ok, `restore failed: ${r.error}`);
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.destination, 'in-place');
    assert.equal(asked[0]!.safetySnapshot, true);
    assert.equal(r.verified, true, 'restored data compared with the manifest');
    assert.match(r.safetySnapshot ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(await items(db), before);
    // the API writing to the database was stopped before the restore and started after it
    assert.deepEqual(asked[0]!.stops, [{ service: 'api', reason: 'uses database db' }]);
    assert.deepEqual(sb.serviceCalls, ['stop api', 'start api']);
    const [listing] = await listBackups(sb.executor, { target: 'db' });
    assert.equal(listing!.snapshots.length, 2);
    assert.equal(listing!.snapshots.filter((s) => s.safety).length, 1, 'the safety snapshot is listed and marked');
  });

  it('a cancelled restore writes nothing', async () => {
    await q(db, "UPDATE items SET name = 'changed' WHERE id = 1");
    const r = await restoreBackup(sb.executor, { target: 'db', confirm: () => false });
    assert.equal(r.cancelled, true);
    assert.equal((await q<{ name: string }>(db, 'SELECT name FROM items WHERE id = 1'))[0]!.name, 'changed');
  });

  it('restores into a scratch database and leaves the live one alone', async () => {
    sb.serviceCalls.length = 0;
    const r = await restoreBackup(sb.executor, { target: 'db', toScratch: true, confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.scratch, true);
    assert.deepEqual(sb.serviceCalls, [], 'a scratch restore stops nothing');
    assert.match(r.destination!, /^wharf_restore_[0-9a-f]{8}$/);
    assert.equal((await q<{ name: string }>(db, 'SELECT name FROM items WHERE id = 1'))[0]!.name, 'changed');
    const c = new pg.Client({ connectionString: db.url.replace(/\/wharf$/, `/${r.destination}`) });
    await c.connect();
    assert.equal((await c.query('SELECT name FROM items WHERE id = 1')).rows[0].name, 'item 1');
    await c.end();
  });

  it('verification passes on a good repository: restic check and a test restore matching row counts and checksums', async () => {
    const [v] = await verifyBackups(sb.executor, { target: 'db', readDataSubset: '100%' });
    assert.ok(v?.ok, v?.error);
    assert.equal(v.restoreTest, true);
    assert.equal(metricValue(sb.metrics('db'), BACKUP_VERIFY_LAST_STATUS_METRIC), 1);
    const [listing] = await listBackups(sb.executor, { target: 'db' });
    assert.equal(listing!.snapshots.filter((s) => s.verification === 'restore-tested').length, 1);
  });

  it('retention keeps the last 3 dumps, and exactly one manifest per kept dump', async () => {
    for (let i = 0; i < 4; i++) {
      const [r] = await backupNow(sb.executor, { target: 'db' });
      assert.ok(r?.ok, r?.error);
    }
    const env = {
      ...process.env,
      RESTIC_REPOSITORY: join(sb.repoDir, 'db'),
      RESTIC_PASSWORD_FILE: join(sb.secretsDir, 'backup-restic-password'),
    };
    const snaps = JSON.parse(execFileSync(sb.env.RESTIC!, ['snapshots', '--json'], { env, encoding: 'utf8' })) as Array<{
      id: string;
      tags: string[];
    }>;
    const dumps = snaps.filter((x) => x.tags.includes('wharf-dump'));
    const manifests = snaps.filter((x) => x.tags.includes('wharf-manifest'));
    assert.equal(dumps.length, 3);
    assert.deepEqual(
      manifests.map((m) => m.tags.find((t) => t.startsWith('for='))!.slice(4)).sort(),
      dumps.map((d) => d.id.slice(0, 8)).sort(),
    );
  });

  it('an unreachable destination fails loudly, creates no new repository, and leaves earlier snapshots untouched', async () => {
    const repo = join(sb.repoDir, 'db');
    const moved = `${repo}.away`;
    renameSync(repo, moved); // the disk holding the repository is gone
    try {
      const [r] = await backupNow(sb.executor, { target: 'db' });
      assert.equal(r!.ok, false);
      assert.notEqual(r!.exitCode, 0);
      assert.match(r!.error ?? '', /unreachable|unreadable/);
      assert.equal(existsSync(repo), false, 'no new empty repository was created in its place');
      assert.equal(metricValue(sb.metrics('db'), BACKUP_LAST_STATUS_METRIC), 0);
    } finally {
      renameSync(moved, repo);
    }
    const [listing] = await listBackups(sb.executor, { target: 'db' });
    assert.equal(listing!.snapshots.length, 3, 'earlier snapshots are all there');
  });

  it('a full destination fails loudly and leaves earlier backups restorable', async () => {
    // a 4 MB filesystem holding a copy of the repository, then ~15 MB of hex rows (~7 MB compressed)
    const small = join(sb.dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    try {
      execFileSync('cp', ['-a', join(sb.repoDir, 'db'), join(small, 'db')]);
      const env = { WHARF_REPO_DIR: small };
      const good = await sb.run('backup', ['db'], env);
      assert.equal(good.code, 0, good.stderr);
      const lastSuccess = metricValue(sb.metrics('db'), BACKUP_LAST_SUCCESS_METRIC);
      await q(
        db,
        "CREATE TABLE noise AS SELECT g, encode(sha512(g::text::bytea), 'hex') || encode(sha512((g + 1)::text::bytea), 'hex') AS junk FROM generate_series(1, 60000) g",
      );
      const full = await sb.run('backup', ['db'], env);
      assert.notEqual(full.code, 0, 'a backup into a full disk must fail');
      assert.match(full.stderr, /no space left|ENOSPC|dump or upload failed/i);
      const m = sb.metrics('db');
      assert.equal(metricValue(m, BACKUP_LAST_STATUS_METRIC), 0);
      assert.equal(metricValue(m, BACKUP_LAST_SUCCESS_METRIC), lastSuccess, 'last success time is not moved by a failure');
      // earlier snapshots: all listed, and the newest good one still restores and matches
      const scratch = await sb.run('restore', ['db', 'latest', '--to-scratch', 'after_full'], env);
      assert.equal(scratch.code, 0, scratch.stderr);
      assert.match(scratch.stdout, /"verified":true/);
    } finally {
      execFileSync('umount', ['-l', small]);
      await q(db, 'DROP TABLE IF EXISTS noise');
    }
  });

  it('a corrupted snapshot makes verification fail with a non-zero exit and the failure metric', async () => {
    const data = join(sb.repoDir, 'db', 'data');
    const packs = readdirSync(data).flatMap((d) => readdirSync(join(data, d)).map((f) => join(data, d, f)));
    assert.ok(packs.length > 0);
    for (const p of packs) {
      const size = statSync(p).size;
      execFileSync('dd', ['if=/dev/zero', `of=${p}`, 'bs=1', `seek=${Math.floor(size / 2)}`, 'count=64', 'conv=notrunc'], {
        stdio: 'pipe',
      });
    }
    const [v] = await verifyBackups(sb.executor, { target: 'db', readDataSubset: '100%' });
    assert.equal(v!.ok, false);
    assert.notEqual(v!.exitCode, 0);
    assert.match(v!.error ?? '', /damage|failed|does not match/);
    assert.equal(metricValue(sb.metrics('db'), BACKUP_VERIFY_LAST_STATUS_METRIC), 0);
    // and the restore test alone (without restic check) catches it too
    const rt = await sb.run('verify', ['db', '--read-data-subset', '0%']);
    assert.notEqual(rt.code, 0, rt.stderr);
  });
});

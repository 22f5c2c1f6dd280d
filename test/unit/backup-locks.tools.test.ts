// restic locks and the backup scripts, for real (restic >= 0.17, PostgreSQL on loopback): the
// scripts no longer run `restic unlock` before every command, only when an exclusive one
// (forget, prune) meets a stale lock. A lock left by a killed restic must not block retention;
// a live one must make retention fail loudly and keep the new snapshot. Retention forgets on
// every run and prunes at most once a day.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { missingServers, startPostgres, type DbServer } from '../support/servers.js';
import { requireTool } from '../support/tools.js';
import { makeSandbox, planFromYaml, postgresSpec, resticBinary, type Sandbox } from './backup-harness.js';

const restic = resticBinary();
const skip =
  requireTool(!!restic, 'restic >= 0.17 (WHARF_RESTIC, or the wharf-test/restic image)') ??
  requireTool(!missingServers('postgres'), 'PostgreSQL server binaries');

describe('restic locks in the backup scripts', { skip, timeout: 300_000 }, () => {
  let db: DbServer;
  let sb: Sandbox;
  const repo = () => join(sb.repoDir, 'db');
  const locks = () => readdirSync(join(repo(), 'locks'));
  const resticEnv = () => ({
    ...process.env,
    RESTIC_REPOSITORY: repo(),
    RESTIC_PASSWORD_FILE: join(sb.secretsDir, 'backup-restic-password'),
  });
  const dumps = () =>
    (
      JSON.parse(
        execFileSync(restic!, ['snapshots', '--no-lock', '--json', '--tag', 'wharf-dump'], { env: resticEnv(), encoding: 'utf8' }),
      ) as unknown[]
    ).length;
  /** a restic backup that holds a shared lock until it is killed or its command ends */
  const holdLock = (seconds: number) => {
    const child = spawn(restic!, ['backup', '--stdin-filename', 'hold', '--stdin-from-command', '--', 'sleep', String(seconds)], {
      env: resticEnv(),
      stdio: 'ignore',
    });
    return child;
  };
  const waitForLock = async () => {
    for (let i = 0; i < 100 && !locks().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(locks().length, 1, 'the holder took its lock');
  };

  before(async () => {
    db = await startPostgres();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('CREATE TABLE items AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 500) g');
    await c.end();
    sb = makeSandbox(planFromYaml(postgresSpec({ keepLast: 1 })), {
      restic: restic!,
      secrets: { 'db-password': db.password },
      env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port) },
    });
    const first = await sb.run('backup', ['db']);
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => {
    await db?.stop();
    sb?.cleanup();
  });

  it('a stale lock (its restic killed) is removed when retention needs the repository, and the backup succeeds', async () => {
    const holder = holdLock(60);
    await waitForLock();
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    assert.equal(locks().length, 1, 'the killed restic left its lock');
    const r = await sb.run('backup', ['db']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"snapshots":1,/, 'retention ran: one dump kept');
    assert.equal(dumps(), 1);
    assert.deepEqual(locks(), []);
  });

  it('a live lock makes retention fail loudly; the new snapshot is kept and the live lock too', async () => {
    const holder = holdLock(120);
    try {
      await waitForLock();
      const r = await sb.run('backup', ['db']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /ERROR: retention failed \(the new snapshot is kept\): .*locked/);
      assert.match(sb.metrics('db'), /wharf_backup_last_status\{[^}]*\} 0/);
      assert.equal(locks().length, 1, 'the live lock is still there');
      assert.equal(dumps(), 2, 'the new dump is kept beside the one retention would have kept');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('retention forgets on every run, and prunes (gives the space back) at most once a day', async () => {
    const packs = () =>
      execFileSync(restic!, ['list', 'packs', '--no-lock'], { env: resticEnv(), encoding: 'utf8' }).trim().split('\n').length;
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const newRows = () => c.query('INSERT INTO items SELECT g, md5(random()::text) FROM generate_series(1, 300) g');
    try {
      await newRows();
      const pruned = await sb.run('backup', ['db'], { WHARF_PRUNE_EVERY: '0' });
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.equal(dumps(), 1);
      const afterPrune = packs();
      await newRows();
      const deferred = await sb.run('backup', ['db']);
      assert.equal(deferred.code, 0, deferred.stderr);
      assert.match(deferred.stdout, /"snapshots":1,/);
      assert.equal(dumps(), 1, 'the dump retention removes is forgotten at once');
      const afterDeferred = packs();
      assert.ok(
        afterDeferred > afterPrune,
        `no prune within the day: the forgotten dump's data stays (${afterPrune} -> ${afterDeferred} packs)`,
      );
      await newRows();
      const due = await sb.run('backup', ['db'], { WHARF_PRUNE_EVERY: '0' });
      assert.equal(due.code, 0, due.stderr);
      assert.equal(dumps(), 1);
      assert.ok(packs() < afterDeferred, `the prune, once due, removes the forgotten dumps' data (${afterDeferred} -> ${packs()} packs)`);
    } finally {
      await c.end();
    }
  });
});

// The WAL archiver's script against a real PostgreSQL 15 and pgBackRest on this host: the
// rendered pgBackRest configuration and settings, moved to a temporary directory. A writer
// inserts a timestamped row every 100 ms, a table is dropped at T + 1 s, and `pitr.sh restore T`
// brings back every row up to T and none after; the archiver's metrics show a failing push.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../plan/build.js';
import { parseSpecText } from '../../spec/load.js';
import { PUSH_INTERVAL_SECONDS, archiveSettings } from '../../plan/pitr.js';
import { renderPgbackrestConf, renderPitrEnv } from './index.js';
import { PG_BIN, skipUnless } from '../../../test/support/servers.js';
import { assertDeclared } from '../../../test/support/requirements.js';

const skip = skipUnless('postgres') || (spawnSync('pgbackrest', ['version']).status === 0 ? false : 'pgbackrest is not installed');
assertDeclared('pgbackrest');

const spec = `name: app
domain: app.localhost
databases:
  db: { engine: postgres, backup: { pointInTime: true, schedule: "0 3 * * *" } }
`;

describe('pitr.sh: point-in-time recovery with pgBackRest (real PostgreSQL)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-pitr-'));
  const paths = {
    spool: join(dir, 'sock/pgbackrest-spool'),
    pgdata: join(dir, 'data'),
    socket: join(dir, 'sock'),
    repoDir: join(dir, 'repo'),
  };
  const root = process.getuid?.() === 0;
  const owner = root ? 'postgres' : '';
  const ids = root ? { uid: Number(sh('id', ['-u', 'postgres'])), gid: Number(sh('id', ['-g', 'postgres'])) } : undefined;
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const env = {
    ...process.env,
    PATH: `${PG_BIN}:${process.env.PATH}`,
    PITR_HOME: join(dir, 'pitr'),
    PITR_ENV: join(dir, 'pitr/pitr.env'),
    PITR_CONF: join(dir, 'pitr/pgbackrest.conf'),
    PITR_METRICS_DIR: join(dir, 'metrics'),
    PITR_SECRETS_DIR: join(dir, 'secrets'),
    PITR_PGPORT: port,
    PITR_RUN_AS: owner,
  };
  let server: ChildProcess | undefined;
  // archive_timeout for the servers started after a restore: short, so the timer test is short
  const TIMER_SECONDS = 3;
  const shortTimeout = ['-c', `archive_timeout=${TIMER_SECONDS}s`];

  function sh(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }
  const pitr = (...args: string[]) =>
    spawnSync(join(import.meta.dirname, 'sh/pitr.sh'), args, { env, cwd: dir, encoding: 'utf8', timeout: 90_000 });
  const psql = (sql: string) =>
    spawnSync('psql', ['-XAtq', '-h', paths.socket, '-p', port, '-U', 'app', '-d', 'app', '-c', sql], { encoding: 'utf8' }).stdout.trim();

  // extra settings come last: they win over archiveSettings
  async function startServer(...extra: string[]) {
    server = spawn(
      join(PG_BIN, 'postgres'),
      [
        '-D',
        paths.pgdata,
        '-p',
        port,
        '-k',
        paths.socket,
        '-c',
        'listen_addresses=',
        '-c',
        'fsync=off',
        ...archiveSettings(paths.spool),
        ...extra,
      ],
      { uid: ids?.uid, gid: ids?.gid, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 100 && server.exitCode === null; i++) {
      if (spawnSync('pg_isready', ['-q', '-h', paths.socket, '-p', port]).status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`PostgreSQL did not start: ${log}`);
  }
  async function stopServer() {
    const s = server!;
    server = undefined;
    if (s.exitCode !== null) return;
    const gone = new Promise((r) => s.once('exit', r));
    s.kill('SIGINT');
    await gone;
  }

  before(async () => {
    const r = parseSpecText(spec, 'wharf.yaml');
    const plan = buildPlan(r.stack!);
    const job = plan.backups[0]!;
    for (const d of ['pitr', 'metrics', 'secrets', 'sock', 'repo']) mkdirSync(join(dir, d));
    writeFileSync(env.PITR_ENV, renderPitrEnv(plan, job, paths));
    writeFileSync(env.PITR_CONF, renderPgbackrestConf(plan, job, paths));
    writeFileSync(join(dir, 'secrets/db-pitr-cipher'), 'a-cipher-pass-for-tests-only');
    writeFileSync(join(env.PITR_HOME, 'scheduler.sh'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    if (ids) for (const d of ['', 'sock', 'repo']) chownSync(join(dir, d), ids.uid, ids.gid);
    const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', paths.pgdata, '-U', 'app', '--auth-local=trust', '--no-sync'], {
      uid: ids?.uid,
      gid: ids?.gid,
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(init.status, 0, init.stderr);
    await startServer();
    spawnSync('psql', ['-XAtq', '-h', paths.socket, '-p', port, '-U', 'app', '-d', 'postgres', '-c', 'create database app']);
  });
  after(async () => {
    if (server) await stopServer();
    if (!process.env.PITR_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('restore --to T brings back every row written up to T and none after it', async () => {
    psql('create table ticks (id serial primary key, at timestamptz not null default clock_timestamp())');
    const b = pitr('backup', 'full');
    assert.equal(b.status, 0, b.stderr);
    const written: string[] = [];
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        written.push(
          psql(
            "with x as (insert into ticks default values returning at) select to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') from x",
          ),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // rows counted, not time waited: under load one psql takes longer than the writer's 100 ms
    const rows = async (n: number) => {
      while (written.length < n) await new Promise((r) => setTimeout(r, 50));
    };
    await rows(5);
    const T = psql("select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')");
    const before = written.length;
    await rows(before + 3);
    stop = true;
    await writer;
    psql('drop table ticks');
    const f = pitr('flush');
    assert.equal(f.status, 0, f.stderr);
    const w = JSON.parse(f.stdout) as { earliest: number; latest: number };
    assert.ok(w.earliest > 0 && w.latest >= Date.parse(`${T}Z`) / 1000 - 1, `window ${f.stdout} covers ${T}`);
    await stopServer();
    const r = pitr('restore', `${T}+00`);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { reachedTarget: boolean; tables: number };
    assert.equal(out.reachedTarget, true);
    await startServer(...shortTimeout);
    const back = psql("select to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') from ticks order by id").split('\n');
    const upToT = written.filter((t) => t <= T);
    assert.ok(upToT.length >= 5 && upToT.length < written.length, `${upToT.length} of ${written.length} rows before T`);
    assert.deepEqual(back, upToT);
  });

  // Found by bench/backup/rpo.ts: after a restore the database closed no segment for minutes.
  // The archiver's own loop runs (`pitr.sh run`): a segment current when it starts must reach the
  // repository within archive_timeout + the push interval while rows are written, no manual switch.
  async function closedOnTimer(): Promise<{ current: string; shipped: string }> {
    const current = psql('select pg_walfile_name(pg_current_wal_lsn())');
    const archiver = spawn(join(import.meta.dirname, 'sh/pitr.sh'), ['run'], { env, cwd: dir, stdio: 'ignore' });
    const shipped = () => {
      try {
        return readFileSync(join(paths.socket, 'pitr-state/last_segment'), 'utf8').trim();
      } catch {
        return '';
      }
    };
    try {
      const until = Date.now() + (TIMER_SECONDS + PUSH_INTERVAL_SECONDS + 2) * 1000;
      while (Date.now() < until && !(shipped() >= current)) {
        psql('insert into timer_ticks default values');
        await new Promise((r) => setTimeout(r, 200));
      }
      return { current, shipped: shipped() };
    } finally {
      const gone = new Promise((r) => archiver.once('exit', r));
      archiver.kill('SIGTERM');
      await gone;
      // stopped during a push, the loop leaves a shipped segment in the spool: drain it for the next test
      const p = pitr('push');
      assert.equal(p.status, 0, p.stderr);
    }
  }

  it('after restore --to T, archiving resumes on archive_timeout (a segment reaches the repository unasked)', async () => {
    psql('create table timer_ticks (at timestamptz default clock_timestamp())');
    const r = await closedOnTimer();
    assert.ok(r.shipped >= r.current, `segment ${r.current} shipped (last shipped: ${r.shipped || 'none'})`);
  });

  it('after restore latest, archiving resumes on archive_timeout (a segment reaches the repository unasked)', async () => {
    await stopServer();
    const l = pitr('restore', 'latest');
    assert.equal(l.status, 0, l.stderr);
    await startServer(...shortTimeout);
    const r = await closedOnTimer();
    assert.ok(r.shipped >= r.current, `segment ${r.current} shipped (last shipped: ${r.shipped || 'none'})`);
  });

  it('a repository that cannot be written shows in the metrics, and archiving resumes after', () => {
    const archive = join(paths.repoDir, 'db-pitr/archive');
    const dirs = sh('find', [archive, '-type', 'd']).split('\n');
    for (const d of dirs) chmodSync(d, 0o500);
    try {
      psql('create table after_restore (x int)');
      psql('select pg_switch_wal()');
      for (let i = 0; i < 100 && !/^0/m.test(sh('ls', [paths.spool])); i++) spawnSync('sleep', ['0.1']);
      const p = pitr('push');
      assert.notEqual(p.status, 0, `push fails: ${sh('ls', ['-la', paths.spool])} ${p.stderr}`);
      const m = readFileSync(join(dir, 'metrics/pitr-db.prom'), 'utf8');
      assert.match(m, /^wharf_pitr_archive_last_status\{database="db"\} 0$/m);
      assert.match(m, /^wharf_pitr_pending_segments\{database="db"\} [1-9]/m);
    } finally {
      for (const d of dirs) chmodSync(d, 0o750);
    }
    const ok = pitr('push');
    assert.equal(ok.status, 0, ok.stderr);
    const m = readFileSync(join(dir, 'metrics/pitr-db.prom'), 'utf8');
    assert.match(m, /^wharf_pitr_archive_last_status\{database="db"\} 1$/m);
    assert.match(m, /^wharf_pitr_pending_segments\{database="db"\} 0$/m);
  });

  it('a wrong repository key: the window cannot be read, exit 1, a clear message', () => {
    writeFileSync(join(dir, 'secrets/db-pitr-cipher'), 'not-the-key');
    const r = pitr('window');
    writeFileSync(join(dir, 'secrets/db-pitr-cipher'), 'a-cipher-pass-for-tests-only');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot read the pgBackRest repository of db \(wrong repository password, or unreachable\)/);
  });
});

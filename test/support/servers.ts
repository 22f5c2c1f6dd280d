// Real PostgreSQL, MariaDB and Redis servers for tests and benchmarks: each in its own temp
// directory, bound to 127.0.0.1 on a free port (or a given one), started from the system
// binaries (CI installs them), and stopped by PID. We run as root, so PostgreSQL and MariaDB are
// started as their own system users (spawn uid/gid, the equivalent of `runuser -u postgres`).
//
//   const pg = await startPostgres();          // pg.url, pg.env(), pg.port, ...
//   await pg.stop({ keepData: true });         // outage: the process is gone, the data kept
//   await pg.start();                          // same port, same data
//   await pg.stop();                           // gone for good, temp dir removed
//
// Every server still running when the test process exits is killed (SIGKILL) by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDeclared } from './requirements.js';

export const PG_BIN = process.env.WHARF_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export type ServerKind = 'postgres' | 'mariadb' | 'redis';

export interface StopOptions {
  /** Keep the data directory so that start() can bring the same server back (an outage). */
  keepData?: boolean;
  /** SIGKILL instead of SIGTERM (a crash rather than a clean shutdown). */
  kill?: boolean;
}

export interface ServerHandle {
  readonly kind: ServerKind;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Connection URL including the credentials. */
  readonly url: string;
  readonly password: string;
  /** PID of the running server, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it again after stop({ keepData: true }), on the same port with the same data. */
  start(): Promise<void>;
  stop(opts?: StopOptions): Promise<void>;
  /** Server output so far (for failure messages). */
  log(): string;
}

export interface DbServer extends ServerHandle {
  readonly kind: 'postgres' | 'mariadb';
  readonly driver: 'postgres' | 'mysql';
  readonly user: string;
  readonly database: string;
  /** Environment for apps/api in the DB_* form (password inline; use DB_PASSWORD_FILE yourself to test that). */
  env(): Record<string, string>;
}

export interface RedisServer extends ServerHandle {
  readonly kind: 'redis';
  env(): Record<string, string>;
}

// ------------------------------------------------------------------ tool discovery

const TOOLS: Record<ServerKind, string[]> = {
  postgres: [join(PG_BIN, 'initdb'), join(PG_BIN, 'postgres')],
  mariadb: ['mariadb-install-db', 'mariadbd'],
  redis: ['redis-server'],
};

function which(cmd: string): string | undefined {
  assertDeclared(cmd);
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin'])) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

/** Why these servers cannot be started here, or undefined when they all can. */
export function missingServers(...kinds: ServerKind[]): string | undefined {
  const missing: string[] = [];
  for (const k of kinds) for (const t of TOOLS[k]) if (!which(t)) missing.push(t);
  if (missing.length) return `missing ${missing.join(', ')}`;
  if (kinds.includes('postgres') && process.getuid?.() === 0 && userIds('postgres') === undefined) return 'no "postgres" system user';
  return undefined;
}

/**
 * For tests: the skip reason when servers are missing, or throws in CI (where they must exist).
 * Use as `test('x', { skip: skipUnless('postgres', 'redis') }, ...)`.
 */
export function skipUnless(...kinds: ServerKind[]): string | false {
  const why = missingServers(...kinds);
  if (!why) return false;
  if (process.env.CI === 'true') throw new Error(`CI must provide ${kinds.join(', ')}: ${why}`);
  return why;
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

// ------------------------------------------------------------------ ports and processes

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live)
    if (c.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(child: ChildProcess, sink: string[]) {
  const push = (b: Buffer) => {
    sink.push(b.toString());
    if (sink.length > 400) sink.splice(0, sink.length - 400);
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

interface ProcSpec {
  kind: ServerKind;
  host: string;
  port: number;
  dir: string;
  url: string;
  password: string;
  /** Spawns the server process. */
  spawn(): ChildProcess;
  /** Resolves when it answers; called repeatedly until it does or times out. */
  probe(): Promise<boolean>;
  startTimeoutMs: number;
  /** Signal for a clean stop (PostgreSQL's SIGTERM waits for clients to leave: it gets SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** Extra files to leave behind when the data dir is removed (none by default). */
  cleanup?(): void;
}

function managed(spec: ProcSpec) {
  let child: ChildProcess | undefined;
  const out: string[] = [];
  const handle = {
    kind: spec.kind,
    host: spec.host,
    port: spec.port,
    dir: spec.dir,
    url: spec.url,
    password: spec.password,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    get running() {
      return handle.pid !== undefined;
    },
    log: () => out.join(''),
    async start() {
      if (handle.running) return;
      if (!existsSync(spec.dir)) throw new Error(`${spec.kind}: data directory is gone (stopped without keepData)`);
      const c = spec.spawn();
      child = c;
      live.add(c);
      capture(c, out);
      c.once('exit', () => live.delete(c));
      const deadline = Date.now() + spec.startTimeoutMs;
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) {
          throw new Error(`${spec.kind} exited during start (code ${c.exitCode}, signal ${c.signalCode}):\n${handle.log().slice(-3000)}`);
        }
        if (await spec.probe().catch(() => false)) return;
        if (Date.now() > deadline) {
          await handle.stop({ keepData: true, kill: true });
          throw new Error(
            `${spec.kind} did not become ready on port ${spec.port} within ${spec.startTimeoutMs} ms:\n${handle.log().slice(-3000)}`,
          );
        }
        await sleep(50);
      }
    },
    async stop(opts: StopOptions = {}) {
      const c = child;
      if (c?.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, opts.kill ? 'SIGKILL' : (spec.stopSignal ?? 'SIGTERM'));
        } catch {
          /* gone */
        }
        if (!(await waitExit(c, 15_000))) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
          await waitExit(c, 5000);
        }
      }
      if (!opts.keepData) {
        spec.cleanup?.();
        rmSync(spec.dir, { recursive: true, force: true });
      }
    },
  };
  return handle;
}

function tempDir(kind: string): string {
  const d = mkdtempSync(join(tmpdir(), `wharf-${kind}-`));
  chmodSync(d, 0o755);
  return d;
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number; cwd?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    uid: opts.uid,
    gid: opts.gid,
    cwd: opts.cwd ?? '/',
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message}):\n${(r.stdout ?? '') + (r.stderr ?? '')}`.slice(
        0,
        4000,
      ),
    );
  return r.stdout;
}

// ------------------------------------------------------------------ PostgreSQL

export interface DbOptions {
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

export async function startPostgres(opts: DbOptions = {}): Promise<DbServer> {
  const why = missingServers('postgres');
  if (why) throw new Error(`cannot start PostgreSQL: ${why}`);
  const user = opts.user ?? 'wharf';
  const password = opts.password ?? `pg-${Math.random().toString(36).slice(2)}`;
  const database = opts.database ?? 'wharf';
  const port = opts.port ?? (await freePort());
  const host = '127.0.0.1';
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  const root = process.getuid?.() === 0;
  const ids = root ? userIds('postgres') : undefined;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (ids) chownSync(pwfile, ids.uid, ids.gid);
  // The cluster's superuser is our user; TCP needs its password (scram), the socket is trusted.
  run(
    join(PG_BIN, 'initdb'),
    [
      '-D',
      data,
      '-U',
      user,
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ],
    { uid: ids?.uid, gid: ids?.gid },
  );
  rmSync(pwfile);

  const { default: pg } = await import('pg');
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  let created = false;
  const h = managed({
    kind: 'postgres',
    host,
    port,
    dir,
    url,
    password,
    startTimeoutMs: 30_000,
    stopSignal: 'SIGINT',
    spawn: () =>
      spawn(
        join(PG_BIN, 'postgres'),
        [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          `listen_addresses=${host}`,
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
          '-c',
          'shared_buffers=64MB',
          '-c',
          'logging_collector=off',
        ],
        { uid: ids?.uid, gid: ids?.gid, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    probe: async () => {
      const c = new pg.Client({ host, port, user, password, database: created ? database : 'postgres', connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        if (!created) {
          const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
          if (!r.rowCount) await c.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
          created = true;
        }
        return true;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  });
  await h.start();
  return Object.assign(h, {
    kind: 'postgres' as const,
    driver: 'postgres' as const,
    user,
    database,
    env: () => ({ DB_DRIVER: 'postgres', DB_HOST: host, DB_PORT: String(port), DB_NAME: database, DB_USER: user, DB_PASSWORD: password }),
  });
}

// ------------------------------------------------------------------ MariaDB

export async function startMariadb(opts: DbOptions = {}): Promise<DbServer> {
  const why = missingServers('mariadb');
  if (why) throw new Error(`cannot start MariaDB: ${why}`);
  const user = opts.user ?? 'wharf';
  const password = opts.password ?? `my-${Math.random().toString(36).slice(2)}`;
  const database = opts.database ?? 'wharf';
  const port = opts.port ?? (await freePort());
  const host = '127.0.0.1';
  const dir = tempDir('mariadb');
  const data = join(dir, 'data');
  const sock = join(dir, 'mysqld.sock');
  const root = process.getuid?.() === 0;
  const runAs = root ? (userIds('mysql') ? 'mysql' : 'root') : undefined;
  const ids = runAs === 'mysql' ? userIds('mysql') : undefined;
  // its own temp directory: with /tmp shared by the tests running beside it, the bootstrap once
  // failed deleting its own '/tmp/#sql-temptable-…' file (Errcode 2) in a cold CI run
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  if (ids) for (const d of [dir, tmp]) chownSync(d, ids.uid, ids.gid);
  run(
    which('mariadb-install-db')!,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--tmpdir=${tmp}`,
      ...(runAs ? [`--user=${runAs}`] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { cwd: dir },
  );

  const mysql = await import('mysql2/promise');
  const url = `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  let created = false;
  const h = managed({
    kind: 'mariadb',
    host,
    port,
    dir,
    url,
    password,
    startTimeoutMs: 60_000,
    spawn: () =>
      spawn(
        which('mariadbd')!,
        [
          '--no-defaults',
          `--datadir=${data}`,
          `--tmpdir=${tmp}`,
          `--socket=${sock}`,
          `--port=${port}`,
          `--bind-address=${host}`,
          `--pid-file=${join(dir, 'mysqld.pid')}`,
          ...(runAs ? [`--user=${runAs}`] : []),
          '--skip-name-resolve',
          '--skip-log-bin',
          '--innodb-buffer-pool-size=64M',
          '--innodb-log-file-size=16M',
          '--innodb-flush-log-at-trx-commit=0',
          '--innodb-doublewrite=0',
          '--max-connections=300',
          '--log-error=',
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    probe: async () => {
      if (!created) {
        // First start: create the user and database through the socket as root.
        const c = await mysql.createConnection({ socketPath: sock, user: 'root', connectTimeout: 1000 });
        try {
          await c.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
          await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [user, password]);
          await c.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@'%'`, [user]);
          created = true;
        } finally {
          await c.end().catch(() => undefined);
        }
      }
      const c = await mysql.createConnection({ host, port, user, password, database, connectTimeout: 1000 });
      await c.end().catch(() => undefined);
      return true;
    },
  });
  await h.start();
  return Object.assign(h, {
    kind: 'mariadb' as const,
    driver: 'mysql' as const,
    user,
    database,
    env: () => ({ DB_DRIVER: 'mysql', DB_HOST: host, DB_PORT: String(port), DB_NAME: database, DB_USER: user, DB_PASSWORD: password }),
  });
}

// ------------------------------------------------------------------ Redis

export interface RedisOptions {
  port?: number;
  /** Password (requirepass); '' for none. A random one by default. */
  password?: string;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const why = missingServers('redis');
  if (why) throw new Error(`cannot start Redis: ${why}`);
  const password = opts.password ?? `rd-${Math.random().toString(36).slice(2)}`;
  const port = opts.port ?? (await freePort());
  const host = '127.0.0.1';
  const dir = tempDir('redis');
  const conf = join(dir, 'redis.conf');
  // Config file rather than argv so the password is not visible in `ps`.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      `bind ${host}`,
      `dir ${dir}`,
      'save ""',
      'appendonly no',
      'daemonize no',
      'protected-mode no',
      ...(password ? [`requirepass ${password}`] : []),
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const url = password ? `redis://:${encodeURIComponent(password)}@${host}:${port}/0` : `redis://${host}:${port}/0`;
  const h = managed({
    kind: 'redis',
    host,
    port,
    dir,
    url,
    password,
    startTimeoutMs: 15_000,
    spawn: () => spawn(which('redis-server')!, [conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }),
    probe: () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host, port });
        let buf = '';
        s.setTimeout(1000, () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(false));
        s.on('connect', () => s.write((password ? `AUTH ${password}\r\n` : '') + 'PING\r\n'));
        s.on('data', (d) => {
          buf += d.toString();
          if (buf.includes('+PONG')) {
            s.destroy();
            resolve(true);
          } else if (buf.includes('-')) {
            s.destroy();
            resolve(false);
          }
        });
      }),
  });
  await h.start();
  return Object.assign(h, {
    kind: 'redis' as const,
    env: () => ({ REDIS_HOST: host, REDIS_PORT: String(port), ...(password ? { REDIS_PASSWORD: password } : {}) }),
  });
}

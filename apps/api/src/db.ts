// Database access for PostgreSQL (pg) and MySQL/MariaDB (mysql2) behind one small interface.
// Every operation is bounded in time: pool acquisition by the connect timeout, statements by
// the statement timeout, so a dead database turns into a 503 quickly instead of a hung request.
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { DbConfig } from './config.js';

export interface Item {
  id: number;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface Db {
  readonly driver: 'postgres' | 'mysql';
  /** The database's `SELECT NOW()`, formatted as the seed did (Date#toString). */
  now(): Promise<string>;
  ping(): Promise<void>;
  /** Idempotent migrations under an advisory lock (pg_advisory_lock / GET_LOCK). */
  migrate(): Promise<number[]>;
  createItem(name: string, description: string): Promise<Item>;
  getItem(id: number): Promise<Item | undefined>;
  updateItem(id: number, name: string, description: string): Promise<Item | undefined>;
  deleteItem(id: number): Promise<boolean>;
  listItems(limit: number, after: number): Promise<Item[]>;
  close(): Promise<void>;
}

/** Raised for anything that means "the database cannot serve us right now". */
export class DbUnavailableError extends Error {
  constructor(readonly cause: unknown) {
    super(`database unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DbUnavailableError';
  }
}

const LOCK_KEY_PG = 0x77686172; // "whar"
const LOCK_NAME_MY = 'wharf_api_migrations';

/** SQL errors that indicate a bug (bad SQL, constraint) rather than an unavailable database. */
function isLogicError(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e?.code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(e.code)) return true; // PG SQLSTATE
  if (
    typeof e?.code === 'string' &&
    /^ER_(PARSE_ERROR|BAD_FIELD_ERROR|NO_SUCH_TABLE|DUP_ENTRY|DATA_TOO_LONG|TRUNCATED_WRONG_VALUE)/.test(e.code)
  )
    return true;
  return false;
}

function wrap(err: unknown): Error {
  if (err instanceof DbUnavailableError) return err;
  return isLogicError(err) ? (err as Error) : new DbUnavailableError(err);
}

function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

interface MigrationStep {
  version: number;
  pg: string[];
  mysql: string[];
}
const MIGRATIONS: MigrationStep[] = [
  {
    version: 1,
    pg: [
      `CREATE TABLE IF NOT EXISTS items (
      id BIGSERIAL PRIMARY KEY,
      name VARCHAR(200) NOT NULL,
      description VARCHAR(2000) NOT NULL DEFAULT '',
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS items (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      name VARCHAR(200) NOT NULL,
      description VARCHAR(2000) NOT NULL DEFAULT '',
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
];

// ---------------------------------------------------------------- PostgreSQL

function rowPg(r: Record<string, unknown>): Item {
  return {
    id: Number(r.id),
    name: r.name as string,
    description: r.description as string,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

const COLS = 'id, name, description, created_at, updated_at';

export function createPgDb(c: DbConfig, onError: (err: Error) => void): Db {
  const pool = new pg.Pool({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    max: c.poolMax,
    connectionTimeoutMillis: c.connectTimeoutMs, // also bounds waiting for a free client
    idleTimeoutMillis: 30_000,
    statement_timeout: c.statementTimeoutMs, // server side
    query_timeout: c.statementTimeoutMs + 1000, // client side, if the server never answers
    keepAlive: true,
    application_name: 'wharf-api',
  });
  pool.on('error', (err) => onError(err)); // idle client died (e.g. database restart)

  const q = async (name: string, text: string, values: unknown[] = []) => {
    try {
      return await pool.query({ name, text, values });
    } catch (err) {
      throw wrap(err);
    }
  };

  return {
    driver: 'postgres',
    async now() {
      const r = await q('now', 'SELECT NOW() AS now');
      return String(r.rows[0].now);
    },
    async ping() {
      await q('ping', 'SELECT 1');
    },
    async migrate() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw wrap(err);
      }
      const applied: number[] = [];
      let broken = false;
      try {
        await client.query('SET statement_timeout = 0');
        await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY_PG]);
        try {
          await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
          const done = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
          for (const m of MIGRATIONS) {
            if (done.has(m.version)) continue;
            await client.query('BEGIN');
            try {
              for (const sql of m.pg) await client.query(sql);
              await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
              await client.query('COMMIT');
            } catch (err) {
              await client.query('ROLLBACK').catch(() => undefined);
              throw err;
            }
            applied.push(m.version);
          }
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY_PG]).catch(() => {
            broken = true;
          });
          await client.query(`SET statement_timeout = ${c.statementTimeoutMs}`).catch(() => {
            broken = true;
          });
        }
      } catch (err) {
        broken = true;
        throw wrap(err);
      } finally {
        client.release(broken);
      }
      return applied;
    },
    async createItem(name, description) {
      const r = await q('item_insert', `INSERT INTO items (name, description) VALUES ($1, $2) RETURNING ${COLS}`, [name, description]);
      return rowPg(r.rows[0]);
    },
    async getItem(id) {
      const r = await q('item_get', `SELECT ${COLS} FROM items WHERE id = $1`, [id]);
      return r.rows.length ? rowPg(r.rows[0]) : undefined;
    },
    async updateItem(id, name, description) {
      const r = await q('item_update', `UPDATE items SET name = $2, description = $3, updated_at = now() WHERE id = $1 RETURNING ${COLS}`, [
        id,
        name,
        description,
      ]);
      return r.rows.length ? rowPg(r.rows[0]) : undefined;
    },
    async deleteItem(id) {
      const r = await q('item_delete', 'DELETE FROM items WHERE id = $1', [id]);
      return (r.rowCount ?? 0) > 0;
    },
    async listItems(limit, after) {
      const r = await q('item_list', `SELECT ${COLS} FROM items WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit]);
      return r.rows.map(rowPg);
    },
    async close() {
      await pool.end();
    },
  };
}

// ---------------------------------------------------------------- MySQL / MariaDB

function rowMy(r: Record<string, unknown>): Item {
  return {
    id: Number(r.id),
    name: r.name as string,
    description: r.description as string,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export function createMysqlDb(c: DbConfig, onError: (err: Error) => void): Db {
  const pool = mysql.createPool({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    connectionLimit: c.poolMax,
    maxIdle: c.poolMax,
    idleTimeout: 30_000,
    waitForConnections: true,
    queueLimit: 1000,
    connectTimeout: c.connectTimeoutMs,
    enableKeepAlive: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4',
  });
  pool.on('connection', (conn) => {
    // Session in UTC so NOW() and TIMESTAMP columns mean the same thing everywhere.
    // The core (callback) connection: pass a callback, or a failure would be an unhandled 'error' event.
    (conn as unknown as { query(sql: string, cb: (err: unknown) => void): void }).query("SET time_zone = '+00:00'", () => undefined);
  });
  (pool as unknown as { pool: { on(e: string, f: (err: Error) => void): void } }).pool?.on?.('error', onError);

  // mysql2 bounds connecting (connectTimeout) and each statement (timeout), but not the wait
  // for a free connection: add one overall deadline so nothing hangs.
  const deadlineMs = c.connectTimeoutMs + c.statementTimeoutMs;
  const q = async (sql: string, values: unknown[] = []): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const op = pool.execute({ sql, timeout: c.statementTimeoutMs }, values as never[]);
      const to = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`database operation exceeded ${deadlineMs} ms`)), deadlineMs);
      });
      const [rows] = await Promise.race([op, to]);
      return rows;
    } catch (err) {
      throw wrap(err);
    } finally {
      if (timer) clearTimeout(timer);
    }
  };

  const get = async (id: number) => {
    const rows = (await q(`SELECT ${COLS} FROM items WHERE id = ?`, [id])) as Record<string, unknown>[];
    return rows.length ? rowMy(rows[0]!) : undefined;
  };

  return {
    driver: 'mysql',
    async now() {
      const rows = (await q('SELECT NOW() AS now')) as { now: Date }[];
      return String(rows[0]!.now);
    },
    async ping() {
      await q('SELECT 1');
    },
    async migrate() {
      let conn: mysql.PoolConnection;
      try {
        conn = await pool.getConnection();
      } catch (err) {
        throw wrap(err);
      }
      const applied: number[] = [];
      let broken = false;
      try {
        const [lk] = (await conn.query('SELECT GET_LOCK(?, 60) AS ok', [LOCK_NAME_MY])) as unknown as [{ ok: number }[]];
        if (lk[0]?.ok !== 1) throw new DbUnavailableError(new Error('could not take the migration lock within 60 s'));
        try {
          await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version INT NOT NULL PRIMARY KEY, applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`);
          const [rows] = (await conn.query('SELECT version FROM schema_migrations')) as unknown as [{ version: number }[]];
          const done = new Set(rows.map((r) => Number(r.version)));
          for (const m of MIGRATIONS) {
            if (done.has(m.version)) continue;
            // MySQL DDL commits implicitly; each statement is idempotent (IF NOT EXISTS) instead.
            for (const sql of m.mysql) await conn.query(sql);
            await conn.query('INSERT IGNORE INTO schema_migrations (version) VALUES (?)', [m.version]);
            applied.push(m.version);
          }
        } finally {
          await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME_MY]).catch(() => {
            broken = true;
          });
        }
      } catch (err) {
        broken = true;
        throw wrap(err);
      } finally {
        if (broken) conn.destroy();
        else conn.release();
      }
      return applied;
    },
    async createItem(name, description) {
      const res = (await q('INSERT INTO items (name, description) VALUES (?, ?)', [name, description])) as { insertId: number };
      const item = await get(Number(res.insertId));
      if (!item) throw new Error('inserted item not found');
      return item;
    },
    getItem: get,
    async updateItem(id, name, description) {
      const res = (await q('UPDATE items SET name = ?, description = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [
        name,
        description,
        id,
      ])) as { affectedRows: number };
      if (res.affectedRows === 0) return undefined;
      return get(id);
    },
    async deleteItem(id) {
      const res = (await q('DELETE FROM items WHERE id = ?', [id])) as { affectedRows: number };
      return res.affectedRows > 0;
    },
    async listItems(limit, after) {
      // LIMIT as a literal: prepared LIMIT placeholders are awkward across MySQL versions.
      const rows = (await q(`SELECT ${COLS} FROM items WHERE id > ? ORDER BY id LIMIT ${Math.trunc(limit)}`, [after])) as Record<
        string,
        unknown
      >[];
      return rows.map(rowMy);
    },
    async close() {
      await pool.end();
    },
  };
}

export function createDb(c: DbConfig, onError: (err: Error) => void): Db {
  return c.driver === 'postgres' ? createPgDb(c, onError) : createMysqlDb(c, onError);
}

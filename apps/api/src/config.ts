// Configuration: read from the environment (each variable also as VAR_FILE, for Docker
// secrets), validated with zod. Problems are reported one line per variable, never with a
// secret's value, and the process exits 2.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';

export type Driver = 'postgres' | 'mysql';

export interface DbConfig {
  driver: Driver;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  poolMax: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export interface RedisConfig {
  host: string;
  port: number;
  password: string | undefined;
  username: string | undefined;
  db: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  /** Which finished requests get a log line: all, errors (status >= 400 or slower than 1 s), none. */
  accessLog: 'all' | 'errors' | 'none';
  shutdownTimeoutMs: number;
  /** Keep serving (readiness 503, connections closed after each response) this long before closing. */
  shutdownDrainMs: number;
  cacheTtlSeconds: number;
  instance: string;
  db: DbConfig;
  /** null: no Redis configured, the service runs without a cache (seed 003's web tier has none) */
  redis: RedisConfig | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables that may be given as VAR_FILE (contents read, trailing newline trimmed). */
const FILE_VARS = [
  'DATABASE_URL',
  'DB_DRIVER',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'REDIS_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'REDIS_PASSWORD',
  'REDIS_USERNAME',
] as const;

/** Variables whose values are secret: never echoed in an error. */
const SECRET_VARS = new Set(['DATABASE_URL', 'DB_PASSWORD', 'REDIS_URL', 'REDIS_PASSWORD']);

type Env = Record<string, string | undefined>;

function resolveFiles(env: Env, problems: string[]): Env {
  const out: Env = { ...env };
  for (const name of FILE_VARS) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE: both ${name} and ${name}_FILE are set; set only one`);
      continue;
    }
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read error';
      problems.push(`${name}_FILE: cannot read file ${JSON.stringify(file)} (${code})`);
    }
  }
  return out;
}

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer from ${min} to ${max}`);

const driverStr = z
  .enum(['postgres', 'postgresql', 'pg', 'mysql', 'mariadb'], {
    error: 'expected one of postgres, postgresql, mysql, mariadb',
  })
  .transform((v): Driver => (v === 'mysql' || v === 'mariadb' ? 'mysql' : 'postgres'));

const schema = z.object({
  PORT: intIn(1, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ACCESS_LOG: z
    .enum(['all', 'errors', 'none', 'true', 'false', '1', '0'], { error: 'expected all, errors or none' })
    .transform((v): 'all' | 'errors' | 'none' => (v === 'true' || v === '1' ? 'all' : v === 'false' || v === '0' ? 'none' : v))
    .default('errors'),
  SHUTDOWN_TIMEOUT_MS: intIn(0, 600_000).default(10_000),
  SHUTDOWN_DRAIN_MS: intIn(0, 600_000).default(0),
  CACHE_TTL_SECONDS: intIn(1, 86_400).default(60),
  INSTANCE_NAME: z.string().min(1).optional(),
  DB_DRIVER: driverStr.optional(),
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: intIn(1, 65535).optional(),
  DB_NAME: z.string().min(1).optional(),
  DB_USER: z.string().min(1).optional(),
  DB_PASSWORD: z.string().optional(),
  DB_POOL_MAX: intIn(1, 1000).default(10),
  DB_CONNECT_TIMEOUT_MS: intIn(100, 120_000).default(2000),
  DB_STATEMENT_TIMEOUT_MS: intIn(100, 600_000).default(5000),
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: intIn(1, 65535).optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_USERNAME: z.string().optional(),
  REDIS_DB: intIn(0, 1000).default(0),
  REDIS_COMMAND_TIMEOUT_MS: intIn(10, 60_000).default(250),
  REDIS_CONNECT_TIMEOUT_MS: intIn(10, 60_000).default(1000),
});

function parseUrl(name: string, raw: string, problems: string[]): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    // Never echo the value: it may hold a password.
    problems.push(`${name}: not a valid URL (expected scheme://user:password@host:port/name)`);
    return undefined;
  }
}

const dec = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

export function loadConfig(rawEnv: Env = process.env): Config {
  const problems: string[] = [];
  const env = resolveFiles(rawEnv, problems);
  // Empty strings count as unset (compose files often pass VAR= through).
  const cleaned: Env = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;

  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '?');
      const value = cleaned[name];
      const shown = SECRET_VARS.has(name) || value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;

  // ---- database
  let driver: Driver | undefined = e?.DB_DRIVER ?? driverStr.safeParse(cleaned.DB_DRIVER).data;
  // Fall back to the raw strings so one bad variable does not also report the others as unset.
  let host = e?.DB_HOST ?? cleaned.DB_HOST,
    port = e?.DB_PORT,
    database = e?.DB_NAME ?? cleaned.DB_NAME,
    user = e?.DB_USER ?? cleaned.DB_USER;
  let password = e?.DB_PASSWORD;
  if (cleaned.DATABASE_URL) {
    const u = parseUrl('DATABASE_URL', cleaned.DATABASE_URL, problems);
    if (u) {
      const scheme = u.protocol.replace(/:$/, '');
      const r = driverStr.safeParse(scheme);
      if (!r.success)
        problems.push(`DATABASE_URL: unsupported scheme "${scheme}" (expected postgres://, postgresql://, mysql:// or mariadb://)`);
      else {
        if (driver && driver !== r.data) problems.push(`DB_DRIVER: conflicts with the scheme of DATABASE_URL ("${scheme}")`);
        driver = r.data;
      }
      if (u.hostname) host = dec(u.hostname).replace(/^\[|\]$/g, '');
      if (u.port) port = Number(u.port);
      const name = dec(u.pathname.replace(/^\//, ''));
      if (name) database = name;
      if (u.username) user = dec(u.username);
      if (u.password) password = dec(u.password);
    }
  }
  // Seed 002 passes DB_HOST/DB_NAME/DB_USER/DB_PASSWORD without a driver: that means PostgreSQL.
  if (!driver && !cleaned.DATABASE_URL && !cleaned.DB_DRIVER && cleaned.DB_HOST) driver = 'postgres';
  if (!driver && !cleaned.DATABASE_URL && !cleaned.DB_DRIVER) {
    problems.push('DATABASE_URL: not set (set DATABASE_URL, or DB_HOST/DB_NAME/DB_USER/DB_PASSWORD with DB_DRIVER=postgres|mysql)');
  }
  if (driver && !host) problems.push('DB_HOST: not set (and no host in DATABASE_URL)');
  if (driver && !database) problems.push('DB_NAME: not set (and no database name in DATABASE_URL)');
  if (driver && !user) problems.push('DB_USER: not set (and no user in DATABASE_URL)');

  // ---- redis
  let rHost = e?.REDIS_HOST ?? cleaned.REDIS_HOST,
    rPort = e?.REDIS_PORT,
    rPassword = e?.REDIS_PASSWORD,
    rUser = e?.REDIS_USERNAME;
  let rDb = e?.REDIS_DB ?? 0;
  if (cleaned.REDIS_URL) {
    const u = parseUrl('REDIS_URL', cleaned.REDIS_URL, problems);
    if (u) {
      if (u.protocol !== 'redis:') problems.push(`REDIS_URL: unsupported scheme "${u.protocol.replace(/:$/, '')}" (expected redis://)`);
      if (u.hostname) rHost = dec(u.hostname).replace(/^\[|\]$/g, '');
      if (u.port) rPort = Number(u.port);
      if (u.username) rUser = dec(u.username);
      if (u.password) rPassword = dec(u.password);
      const dbPath = u.pathname.replace(/^\//, '');
      if (dbPath) {
        if (/^\d+$/.test(dbPath)) rDb = Number(dbPath);
        else problems.push('REDIS_URL: database path must be a number (e.g. redis://host:6379/0)');
      }
    }
  }
  if (!rHost && cleaned.REDIS_URL && !problems.some((p) => p.startsWith('REDIS_URL'))) problems.push('REDIS_URL: no host in the URL');
  // Neither REDIS_URL nor REDIS_HOST: no cache. Every read goes to the database.
  const cacheless = !rHost && !cleaned.REDIS_URL;

  if (problems.length || !e || !driver || !host || !database || !user || (!rHost && !cacheless)) throw new ConfigError(problems);

  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    accessLog: e.ACCESS_LOG,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    instance: e.INSTANCE_NAME ?? hostname(),
    db: {
      driver,
      host,
      port: port ?? (driver === 'postgres' ? 5432 : 3306),
      database,
      user,
      password: password ?? '',
      poolMax: e.DB_POOL_MAX,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    },
    redis:
      cacheless || !rHost
        ? null
        : {
            host: rHost,
            port: rPort ?? 6379,
            password: rPassword || undefined,
            username: rUser || undefined,
            db: rDb,
            commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
            connectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS,
          },
  };
}

/** Everything secret in a config, so log redaction can be checked against it. */
export function secretsOf(c: Config): string[] {
  return [c.db.password, c.redis?.password].filter((s): s is string => !!s);
}

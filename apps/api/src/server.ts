// Entry point: validate config (exit 2 on error), connect, listen, migrate in the background
// (readiness stays 503 until done), and shut down gracefully on SIGTERM/SIGINT.
// `node server.js migrate` only applies the migrations and exits (a release hook runs it).
import pino from 'pino';
import { buildApp, type AppState } from './app.js';
import { createCache } from './cache.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb } from './db.js';
import { createMetrics } from './metrics.js';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`config error: ${p}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The connection URL with its password, as a careless application logs it (LOG_DATABASE_URL=1, tests only). */
function databaseUrl(c: Config['db']): string {
  const scheme = c.driver === 'mysql' ? 'mysql' : 'postgres';
  return `${scheme}://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** Applies the schema migrations once: exit 0 when done, 1 when they fail (no retry: the caller decides). */
async function migrateOnly(config: Config): Promise<void> {
  const db = createDb(config.db, () => {});
  try {
    const applied = await db.migrate();
    process.stdout.write(applied.length ? `schema migrations applied: ${applied.join(', ')}\n` : 'schema up to date\n');
  } catch (err) {
    process.stderr.write(`schema migration failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await db.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  if (process.argv[2] === 'migrate') return migrateOnly(config);
  // Asynchronous destination: log lines written under load are batched into few write()s instead
  // of one synchronous write per line (a large share of the per-request CPU otherwise).
  const dest = pino.destination({ dest: 1, sync: false });
  const flushLogs = () =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      logger.flush(() => {
        clearTimeout(t);
        resolve();
      });
    });
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'wharf-api', instance: config.instance, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: nothing should ever log these, but if it does they are masked.
      redact: {
        paths: ['password', '*.password', 'config.db.password', 'config.redis.password', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    dest,
  );

  const state: AppState = { migrated: false, shuttingDown: false };
  const metrics = createMetrics();
  const db = createDb(config.db, (err) => logger.warn({ err: { message: err.message } }, 'database connection error'));
  const cache = createCache(config.redis, metrics, (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  const app = buildApp({ config, db, cache, metrics, logger, state });

  // ---- migrations: retried with backoff until they succeed or we shut down
  let migrationTimer: NodeJS.Timeout | undefined;
  const migrate = async (attempt: number): Promise<void> => {
    if (state.shuttingDown) return;
    try {
      const applied = await db.migrate();
      state.migrated = true;
      logger.info({ applied }, applied.length ? 'schema migrations applied' : 'schema up to date');
    } catch (err) {
      const delay = Math.min(250 * 2 ** Math.min(attempt, 5), 5000);
      logger.warn({ err: { message: (err as Error).message }, retryInMs: delay }, 'schema migration failed; retrying');
      migrationTimer = setTimeout(() => void migrate(attempt + 1), delay);
    }
  };

  // ---- graceful shutdown
  let shutdownStarted = false;
  const shutdown = async (signal: string) => {
    if (shutdownStarted) return;
    shutdownStarted = true;
    state.shuttingDown = true;
    if (migrationTimer) clearTimeout(migrationTimer);
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: config.shutdownTimeoutMs }, 'shutdown deadline exceeded; forcing exit');
      try {
        dest.flushSync();
      } catch {
        /* a write is in flight: best effort */
      }
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    if (config.shutdownDrainMs > 0) {
      // Drain: still serving, but /ready says 503 and every response closes its connection, so
      // health-checking proxies move traffic elsewhere before the listener goes away.
      logger.info({ signal, drainMs: config.shutdownDrainMs }, 'shutting down: draining (readiness 503, still serving)');
      await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
    }
    logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: no new connections, finishing in-flight requests');
    let code = 0;
    try {
      await app.close(); // stops listening, waits for in-flight requests, closes idle keep-alives
    } catch (err) {
      code = 1;
      logger.error({ err }, 'error while closing the HTTP server');
    }
    await Promise.allSettled([db.close(), cache.close()]);
    logger.info({ code }, 'shutdown complete');
    await flushLogs();
    clearTimeout(deadline);
    process.exitCode = code;
    // Let the event loop drain; exit explicitly in case a stray handle lingers.
    setImmediate(() => process.exit(code));
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'cannot listen');
    await Promise.allSettled([db.close(), cache.close()]);
    await flushLogs();
    process.exit(1);
  }
  logger.info(
    {
      port: config.port,
      db: {
        driver: config.db.driver,
        host: config.db.host,
        port: config.db.port,
        database: config.db.database,
        user: config.db.user,
        poolMax: config.db.poolMax,
      },
      redis: config.redis
        ? { host: config.redis.host, port: config.redis.port, db: config.redis.db }
        : 'disabled (no REDIS_URL or REDIS_HOST): every read goes to the database',
    },
    'wharf api listening',
  );
  // wharf's tests show that `wharf logs` masks a secret an application prints: never set it in production
  if (process.env.LOG_DATABASE_URL === '1') logger.warn({ url: databaseUrl(config.db) }, 'LOG_DATABASE_URL=1: the database URL');
  void migrate(0);
}

main().catch((err) => {
  process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

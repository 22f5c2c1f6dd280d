// Redis cache-aside with fail-open semantics: any Redis problem (down, slow, auth) is counted in
// app_cache_errors_total and the request carries on against the database. Commands never queue
// while Redis is offline (enableOfflineQueue: false) and time out fast (commandTimeout).
import { Redis } from 'ioredis';
import type { RedisConfig } from './config.js';
import type { Metrics } from './metrics.js';

export interface Cache {
  /** The cached value, null on a miss, undefined when Redis failed (already counted). */
  get(key: string): Promise<string | null | undefined>;
  /** Fire-and-forget set with TTL; failures are counted, never thrown. */
  set(key: string, value: string, ttlSeconds: number): void;
  /** Invalidate; resolves false when Redis failed (counted). */
  del(key: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** false when no Redis is configured: every get is a miss and nothing is stored */
  readonly enabled: boolean;
  readonly client: Redis;
}

/** The service without Redis: reads miss, writes are dropped, nothing to ping. */
export function disabledCache(): Cache {
  return {
    enabled: false,
    get client(): Redis {
      throw new Error('no Redis configured');
    },
    get: async () => null,
    set: () => {},
    del: async () => true,
    ping: async () => {},
    close: async () => {},
  };
}

export function createCache(c: RedisConfig | null, metrics: Metrics, onError: (err: Error) => void): Cache {
  if (!c) return disabledCache();
  const client = new Redis({
    host: c.host,
    port: c.port,
    password: c.password,
    username: c.username,
    db: c.db,
    enableOfflineQueue: false,
    commandTimeout: c.commandTimeoutMs,
    connectTimeout: c.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    lazyConnect: false,
    // Keep reconnecting forever, backing off to 2 s between attempts.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  });
  let lastErrorLog = 0;
  client.on('error', (err: Error) => {
    // ioredis emits one error per failed reconnect attempt: log at most once every 5 s.
    const now = Date.now();
    if (now - lastErrorLog > 5000) {
      lastErrorLog = now;
      onError(err);
    }
  });

  const errGet = metrics.cacheErrors.labels('get');
  const errSet = metrics.cacheErrors.labels('set');
  const errDel = metrics.cacheErrors.labels('del');
  const onSetError = () => {
    errSet.inc();
  };

  // Reads are coalesced: every get() issued during one turn of the event loop (typically all the
  // requests whose bytes arrived in the same poll) goes to Redis as ONE MGET, and identical keys
  // share a slot (singleflight). Nothing is cached in-process, so no reader can see a value that
  // Redis no longer has when the batch is sent; the batch only saves round trips and syscalls,
  // which dominate the CPU profile of a cache hit.
  type Waiter = { resolve(v: string | null | undefined): void };
  let batch: Map<string, Waiter[]> | undefined;
  const flush = () => {
    const current = batch!;
    batch = undefined;
    const keys = [...current.keys()];
    client.mget(keys).then(
      (values) => {
        keys.forEach((k, i) => {
          for (const w of current.get(k)!) w.resolve(values[i] ?? null);
        });
      },
      () => {
        for (const ws of current.values())
          for (const w of ws) {
            errGet.inc();
            w.resolve(undefined);
          }
      },
    );
  };

  return {
    enabled: true,
    client,
    get(key) {
      return new Promise<string | null | undefined>((resolve) => {
        if (batch === undefined) {
          batch = new Map();
          setImmediate(flush);
        }
        const ws = batch.get(key);
        if (ws) ws.push({ resolve });
        else batch.set(key, [{ resolve }]);
      });
    },
    set(key, value, ttl) {
      client.set(key, value, 'EX', ttl).catch(onSetError);
    },
    async del(key) {
      try {
        await client.del(key);
        return true;
      } catch {
        errDel.inc();
        return false;
      }
    },
    async ping() {
      await client.ping();
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

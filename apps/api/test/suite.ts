// The behaviour suite, run once against PostgreSQL and once against MariaDB (api.*.test.ts), each
// with its own real database and Redis processes and the bundled server as a child process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hostname } from 'node:os';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { skipUnless, startMariadb, startPostgres, startRedis, type DbServer, type RedisServer } from '../../../test/support/servers.js';
import { buildServer, getJson, metric, postJson, secretFile, sleep, startApi, type RunningApi } from './support.js';

type Kind = 'postgres' | 'mariadb';

/** Holds an exclusive lock on `items` from another session so that reads block, until release(). */
async function lockItems(db: DbServer): Promise<() => Promise<void>> {
  if (db.kind === 'postgres') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('BEGIN');
    await c.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await c.query('COMMIT');
      await c.end();
    };
  }
  const c = await mysql.createConnection({ uri: db.url });
  await c.query('LOCK TABLES items WRITE');
  return async () => {
    await c.query('UNLOCK TABLES');
    await c.end();
  };
}

/** Item reads of the API blocked on the lock (from the server's own view of its sessions). */
async function waitingItemQueries(db: DbServer): Promise<number> {
  if (db.kind === 'postgres') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const r = await c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'wharf-api' AND state = 'active' AND query LIKE 'SELECT id, name%FROM items WHERE id = $1'",
      );
      return r.rows[0].n as number;
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({ uri: db.url });
  try {
    const [rows] = await c.query(
      "SELECT count(*) AS n FROM information_schema.processlist WHERE info LIKE 'SELECT id, name%FROM items WHERE id = ?' AND id <> CONNECTION_ID()",
    );
    return Number((rows as { n: number }[])[0]!.n);
  } finally {
    await c.end();
  }
}

async function migrationRows(db: DbServer): Promise<number[]> {
  if (db.kind === 'postgres') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version));
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({ uri: db.url });
  try {
    const [rows] = await c.query('SELECT version FROM schema_migrations ORDER BY version');
    return (rows as { version: number }[]).map((r) => Number(r.version));
  } finally {
    await c.end();
  }
}

export function apiSuite(kind: Kind): void {
  const skip = skipUnless(kind, 'redis');
  describe(`apps/api on ${kind} + redis`, { skip, timeout: 120_000 }, () => {
    let db: DbServer;
    let redis: RedisServer;
    let api: RunningApi;
    let rc: Redis;
    const secrets: { remove(): void }[] = [];
    let env: Record<string, string>;

    before(async () => {
      buildServer();
      [db, redis] = await Promise.all([kind === 'postgres' ? startPostgres() : startMariadb(), startRedis()]);
      const dbPw = secretFile(db.password);
      const rdPw = secretFile(redis.password);
      secrets.push(dbPw, rdPw);
      // Exactly the variable names the wharf plan passes to the container.
      env = {
        DB_DRIVER: db.driver,
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_NAME: db.database,
        DB_USER: db.user,
        DB_PASSWORD_FILE: dbPw.path,
        REDIS_HOST: redis.host,
        REDIS_PORT: String(redis.port),
        REDIS_PASSWORD_FILE: rdPw.path,
      };
      api = await startApi(env);
      rc = new Redis({ host: redis.host, port: redis.port, password: redis.password, maxRetriesPerRequest: 1, lazyConnect: true });
      rc.on('error', () => undefined);
      await rc.connect();
    });

    after(async () => {
      rc?.disconnect();
      if (api) await api.stop('SIGKILL');
      await Promise.allSettled([db?.stop(), redis?.stop()]);
      for (const s of secrets) s.remove();
    });

    test('liveness, readiness, X-Instance and request ids', async () => {
      const h = await getJson(api.url + '/health');
      assert.equal(h.status, 200);
      assert.deepEqual(h.body, { status: 'healthy' });
      assert.equal(h.headers.get('x-instance'), hostname());
      assert.match(h.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      const given = await getJson(api.url + '/health', { headers: { 'x-request-id': 'trace-abc.123' } });
      assert.equal(given.headers.get('x-request-id'), 'trace-abc.123');
      const missing = await getJson(api.url + '/nope', { headers: { 'x-request-id': 'trace-abc.404' } });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-request-id'), 'trace-abc.404');
      const r = await getJson(api.url + '/ready');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'ready', failing: [], checks: { database: 'ok', redis: 'ok' } });
    });

    test('migrations ran once and are idempotent across restarts', async () => {
      assert.deepEqual(await migrationRows(db), [1]);
      // A second instance on the same database migrates concurrently-safely and changes nothing.
      const second = await startApi(env);
      assert.equal(await second.stop(), 0);
      assert.deepEqual(await migrationRows(db), [1]);
      assert.ok(
        second.logs().some((l) => l.msg === 'schema up to date'),
        'second instance saw the schema up to date',
      );
    });

    test('GET /api/data: database on a miss, then cache (60 s TTL), seed-compatible body', async () => {
      await rc.del('data_cache');
      const first = await getJson(api.url + '/api/data');
      assert.equal(first.status, 200);
      assert.equal(first.body.source, 'database');
      assert.equal(typeof first.body.data, 'string');
      assert.ok(!Number.isNaN(Date.parse(first.body.data)), `data is a date string: ${first.body.data}`);
      await sleep(50); // the cache write is fire-and-forget
      const ttl = await rc.ttl('data_cache');
      assert.ok(ttl > 55 && ttl <= 60, `TTL ${ttl}`);
      const second = await getJson(api.url + '/api/data');
      assert.deepEqual(second.body, { data: first.body.data, source: 'cache' });
      assert.ok((await metric(api.url, 'app_cache_lookups_total', { endpoint: '/api/data', result: 'hit' })) >= 1);
    });

    test('items: create, read through the cache, list with pagination, invalidate on write', async () => {
      const created = await postJson(api.url + '/api/items', { name: 'first', description: 'one' });
      assert.equal(created.status, 201);
      assert.equal(created.body.name, 'first');
      assert.equal(created.body.description, 'one');
      assert.ok(Number.isInteger(created.body.id) && created.body.id > 0);
      assert.equal(created.headers.get('location'), `/api/items/${created.body.id}`);
      const id = created.body.id as number;

      const miss = await getJson(`${api.url}/api/items/${id}`);
      assert.equal(miss.status, 200);
      assert.equal(miss.headers.get('x-cache'), 'miss');
      assert.deepEqual(miss.body, created.body);
      await sleep(50);
      assert.ok(await rc.exists(`item:${id}`), 'item cached after a miss');
      const hit = await getJson(`${api.url}/api/items/${id}`);
      assert.equal(hit.headers.get('x-cache'), 'hit');
      assert.deepEqual(hit.body, created.body);
      assert.match(hit.headers.get('content-type') ?? '', /application\/json/);

      // Update invalidates: the next read is a miss with the new value.
      const upd = await getJson(`${api.url}/api/items/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'renamed' }),
      });
      assert.equal(upd.status, 200);
      assert.equal(upd.body.name, 'renamed');
      assert.equal(await rc.exists(`item:${id}`), 0, 'cache entry removed on update');
      const after1 = await getJson(`${api.url}/api/items/${id}`);
      assert.equal(after1.headers.get('x-cache'), 'miss');
      assert.equal(after1.body.name, 'renamed');

      // Pagination over more items.
      for (let i = 0; i < 4; i++) assert.equal((await postJson(api.url + '/api/items', { name: `n${i}` })).status, 201);
      const p1 = await getJson(`${api.url}/api/items?limit=2`);
      assert.equal(p1.status, 200);
      assert.equal(p1.body.items.length, 2);
      assert.equal(p1.body.items[0].id, id);
      const p2 = await getJson(`${api.url}/api/items?limit=2&after=${p1.body.next_after}`);
      assert.equal(p2.body.items.length, 2);
      assert.ok(p2.body.items[0].id > p1.body.next_after);
      const p3 = await getJson(`${api.url}/api/items?limit=2&after=${p2.body.next_after}`);
      assert.equal(p3.body.items.length, 1);
      assert.equal(p3.body.next_after, null);

      // Delete invalidates and 404s afterwards.
      await getJson(`${api.url}/api/items/${id}`); // cache it again
      await sleep(50);
      const del = await fetch(`${api.url}/api/items/${id}`, { method: 'DELETE' });
      assert.equal(del.status, 204);
      assert.equal(await rc.exists(`item:${id}`), 0);
      const gone = await getJson(`${api.url}/api/items/${id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.field, 'id');
    });

    test('a stampede of misses for one item makes one database query', async () => {
      const created = await postJson(api.url + '/api/items', { name: 'hot' });
      const id = created.body.id as number;
      await rc.del(`item:${id}`);
      const release = await lockItems(db);
      let released = false;
      try {
        const all = Array.from({ length: 30 }, () => getJson(`${api.url}/api/items/${id}`));
        await sleep(400);
        assert.equal(await waitingItemQueries(db), 1, 'one query for 30 concurrent misses');
        await release();
        released = true;
        const results = await Promise.all(all);
        assert.ok(results.every((r) => r.status === 200 && r.body.name === 'hot'));
        assert.ok(results.every((r) => r.headers.get('x-cache') === 'miss'));
      } finally {
        if (!released) await release();
      }
      await sleep(50);
      assert.equal((await getJson(`${api.url}/api/items/${id}`)).headers.get('x-cache'), 'hit');
    });

    test('bad input: 400 with a JSON error naming the field', async () => {
      const cases: [string, RequestInit | undefined, string][] = [
        ['/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 'name'],
        ['/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":42}' }, 'name'],
        [
          '/api/items',
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(201) }) },
          'name',
        ],
        [
          '/api/items',
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a","description":7}' },
          'description',
        ],
        ['/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a","colour":"red"}' }, 'colour'],
        ['/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }, 'body'],
        ['/api/items/abc', undefined, 'id'],
        ['/api/items/0', undefined, 'id'],
        ['/api/items?limit=0', undefined, 'limit'],
        ['/api/items?limit=101', undefined, 'limit'],
        ['/api/items?after=-1', undefined, 'after'],
      ];
      for (const [path, init, field] of cases) {
        const r = await getJson(api.url + path, init);
        assert.equal(r.status, 400, `${path} ${init?.body ?? ''}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.field, field, `${path} ${init?.body ?? ''}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body.message, 'string');
      }
      assert.equal((await getJson(api.url + '/api/items/999999999')).status, 404);
      assert.equal((await getJson(api.url + '/nope')).status, 404);
    });

    test('metrics: defaults plus app_requests_total and ms-resolving latency buckets', async () => {
      const text = await (await fetch(api.url + '/metrics')).text();
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^nodejs_eventloop_lag_seconds /m);
      assert.match(text, /^app_requests_total\{endpoint="\/api\/items\/:id",method="GET",status_code="200"\} \d+/m);
      assert.match(text, /^app_requests_total\{endpoint="\/api\/items",method="POST",status_code="400"\} \d+/m);
      assert.match(text, /^app_request_latency_seconds_bucket\{le="0\.001",endpoint="\/api\/data",method="GET"\} \d+/m);
      assert.match(text, /^app_cache_errors_total\{operation="get"\} 0/m);
      // Unmatched paths collapse into one series (no label cardinality blow-up).
      assert.doesNotMatch(text, /endpoint="\/nope"/);
    });

    test('logs: JSON with request ids, and never a secret', async () => {
      const logs = api.logs();
      assert.ok(logs.length > 5);
      const access = logs.filter((l) => l.msg === 'request completed');
      assert.ok(access.length > 0);
      assert.ok(access.every((l) => typeof l.reqId === 'string' && l.instance === hostname()));
      // Default ACCESS_LOG=errors: failed requests are logged (with the caller's request id), successes are only counted.
      assert.ok(access.some((l) => l.reqId === 'trace-abc.404' && l.status === 404 && l.endpoint === 'unmatched'));
      assert.ok(access.some((l) => l.status === 400 && l.endpoint === '/api/items'));
      // ...except a slow one (>= 1 s), which a loaded machine can make of any request.
      assert.ok(
        access.every((l) => (l.status as number) >= 400 || (l.ms as number) >= 1000),
        `no line for successful requests by default: ${JSON.stringify(access.filter((l) => (l.status as number) < 400))}`,
      );
      assert.ok(!api.output().includes(db.password), 'database password never logged');
      assert.ok(!api.output().includes(redis.password), 'redis password never logged');
    });

    test('Redis outage: still 200 from the database, counted, readiness names redis, then recovers', async () => {
      const created = await postJson(api.url + '/api/items', { name: 'during-outage' });
      assert.equal(created.status, 201);
      const errorsBefore = await metric(api.url, 'app_cache_errors_total');
      await redis.stop({ keepData: true });
      for (let i = 0; i < 5; i++) {
        const d = await getJson(api.url + '/api/data');
        assert.equal(d.status, 200, JSON.stringify(d.body));
        assert.equal(d.body.source, 'database');
        const it = await getJson(`${api.url}/api/items/${created.body.id}`);
        assert.equal(it.status, 200);
        assert.equal(it.body.name, 'during-outage');
        assert.ok(it.ms < 2000, `served in ${it.ms} ms`);
      }
      const upd = await getJson(`${api.url}/api/items/${created.body.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x"}',
      });
      assert.equal(upd.status, 200);
      assert.ok((await metric(api.url, 'app_cache_errors_total')) >= errorsBefore + 10, 'cache errors counted');
      const ready = await getJson(api.url + '/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.failing, ['redis']);
      assert.equal((await getJson(api.url + '/health')).status, 200, 'liveness unaffected');

      await redis.start();
      const t0 = Date.now();
      let d;
      do {
        await sleep(100);
        d = await getJson(api.url + '/api/data');
      } while (d.body.source !== 'cache' && Date.now() - t0 < 10_000);
      assert.equal(d.body.source, 'cache', 'cache used again after Redis returned');
      assert.equal((await getJson(api.url + '/ready')).status, 200);
    });

    test('database outage: 503 within a bounded time, readiness names the database, then recovers', async () => {
      const created = await postJson(api.url + '/api/items', { name: 'before-db-outage' });
      await rc.flushall();
      await db.stop({ keepData: true });
      for (let i = 0; i < 3; i++) {
        const r = await getJson(`${api.url}/api/items/${created.body.id}`);
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.dependency, 'database');
        assert.ok(r.ms < 3000, `503 after ${Math.round(r.ms)} ms`);
        const w = await postJson(api.url + '/api/items', { name: 'x' });
        assert.equal(w.status, 503);
        assert.ok(w.ms < 3000);
      }
      const ready = await getJson(api.url + '/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.failing, ['database']);
      assert.ok(ready.ms < 3000);
      assert.ok((await metric(api.url, 'app_db_errors_total')) >= 6);
      // An instance started while the database is down is live, not ready, and keeps retrying.
      const late = await startApi(env, { waitReady: false });
      // Its Redis client may still be connecting on the first look (seen on a loaded cold run):
      // what must hold is that the database, and only it, keeps it from being ready.
      const t1 = Date.now();
      let lateReady = await getJson(late.url + '/ready');
      while (lateReady.body.failing?.join() !== 'database' && Date.now() - t1 < 5000) {
        await sleep(100);
        lateReady = await getJson(late.url + '/ready');
      }
      assert.equal(lateReady.status, 503);
      assert.deepEqual(lateReady.body.failing, ['database']);

      await db.start();
      const t0 = Date.now();
      let r;
      do {
        await sleep(200);
        r = await getJson(`${api.url}/api/items/${created.body.id}`);
      } while (r.status !== 200 && Date.now() - t0 < 15_000);
      assert.equal(r.status, 200, 'recovered without a restart');
      assert.equal(r.body.name, 'before-db-outage');
      assert.equal((await getJson(api.url + '/ready')).status, 200);
      let lr;
      do {
        await sleep(200);
        lr = await getJson(late.url + '/ready');
      } while (lr.status !== 200 && Date.now() - t0 < 20_000);
      assert.equal(lr.status, 200, 'the late instance migrated and became ready once the database returned');
      assert.equal(await late.stop(), 0);
    });

    test('SIGTERM with SHUTDOWN_DRAIN_MS: keeps serving, readiness 503, connections closed, then exit 0', async () => {
      const drain = await startApi({ ...env, SHUTDOWN_DRAIN_MS: '1500' });
      drain.child.kill('SIGTERM');
      await sleep(300);
      const ready = await getJson(drain.url + '/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.failing, ['shutdown']);
      const data = await getJson(drain.url + '/api/data');
      assert.equal(data.status, 200);
      assert.equal(data.headers.get('connection'), 'close');
      assert.equal((await getJson(drain.url + '/health')).status, 200);
      assert.equal(await drain.exited, 0);
      assert.ok(drain.logs().some((l) => l.msg === 'shutting down: draining (readiness 503, still serving)'));
    });

    test('SIGTERM with requests in flight: all complete, pools closed, exit 0', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 16; i++) ids.push((await postJson(api.url + '/api/items', { name: `inflight-${i}` })).body.id);
      await rc.flushall(); // every read below is a cache miss, so it needs the database
      const release = await lockItems(db);
      let released = false;
      try {
        // Keep-alive and fresh connections alike; each read blocks on the lock.
        const inflight = ids.map((id) => getJson(`${api.url}/api/items/${id}`));
        await sleep(300);
        const t0 = Date.now();
        api.child.kill('SIGTERM');
        await sleep(300);
        // No new connections once shutdown has begun.
        await assert.rejects(fetch(api.url + '/health', { signal: AbortSignal.timeout(2000) }));
        await release();
        released = true;
        const results = await Promise.all(inflight);
        for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(
          results.map((r) => r.body.id),
          ids,
        );
        assert.equal(await api.exited, 0, api.output().slice(-4000));
        assert.ok(Date.now() - t0 < 10_000, 'exited within the shutdown deadline');
        const msgs = api.logs().map((l) => l.msg);
        assert.ok(msgs.includes('shutdown complete'));
      } finally {
        if (!released) await release();
      }
    });
  });
}

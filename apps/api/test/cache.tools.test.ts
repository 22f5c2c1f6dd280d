// The Redis cache layer against a real Redis: coalesced reads (one MGET per event-loop turn,
// identical keys sharing a slot) and fail-open behaviour when Redis is down.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCache, type Cache } from '../src/cache.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { skipUnless, startRedis, type RedisServer } from '../../../test/support/servers.js';

async function commandCalls(cache: Cache, cmd: string): Promise<number> {
  const info = await cache.client.info('commandstats');
  const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

describe('cache (real Redis)', { skip: skipUnless('redis'), timeout: 60_000 }, () => {
  let redis: RedisServer;
  let cache: Cache;
  let metrics: Metrics;

  before(async () => {
    redis = await startRedis();
    metrics = createMetrics();
    cache = createCache(
      {
        host: redis.host,
        port: redis.port,
        password: redis.password,
        username: undefined,
        db: 0,
        commandTimeoutMs: 250,
        connectTimeoutMs: 1000,
      },
      metrics,
      () => undefined,
    );
    const t0 = Date.now();
    while (cache.client.status !== 'ready' && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  });

  after(async () => {
    await cache?.close();
    await redis?.stop();
  });

  test('reads issued in one event-loop turn become one MGET; hits, misses and duplicates resolve correctly', async () => {
    await cache.client.set('a', '1');
    await cache.client.set('b', '2');
    await cache.client.config('RESETSTAT');
    const keys = ['a', 'b', 'missing', 'a', 'a', 'b'];
    const many = Array.from({ length: 100 }, (_, i) => keys[i % keys.length]!);
    const values = await Promise.all(many.map((k) => cache.get(k)));
    assert.deepEqual(
      values,
      many.map((k) => (k === 'a' ? '1' : k === 'b' ? '2' : null)),
    );
    assert.equal(await commandCalls(cache, 'mget'), 1);
    assert.equal(await commandCalls(cache, 'get'), 0);
    // A later turn is a new batch.
    assert.equal(await cache.get('a'), '1');
    assert.equal(await commandCalls(cache, 'mget'), 2);
  });

  test('set with TTL and del', async () => {
    cache.set('t', 'v', 60);
    await new Promise((r) => setTimeout(r, 50));
    const ttl = await cache.client.ttl('t');
    assert.ok(ttl > 55 && ttl <= 60);
    assert.equal(await cache.del('t'), true);
    assert.equal(await cache.get('t'), null);
  });

  test('Redis down: reads resolve undefined fast and are counted, writes never throw, then it recovers', async () => {
    const errors = async () =>
      (await metrics.registry.getSingleMetric('app_cache_errors_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    const before = await errors();
    await redis.stop({ keepData: true });
    // How fast they fail (under 1 s) is measured by bench/timings, not asserted on a loaded machine.
    const results = await Promise.all([cache.get('a'), cache.get('b'), cache.get('a')]);
    assert.deepEqual(results, [undefined, undefined, undefined]);
    cache.set('x', 'y', 60);
    assert.equal(await cache.del('x'), false);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok((await errors()) >= before + 5, 'three reads, one write and one delete counted');
    await redis.start();
    const t1 = Date.now();
    let v: string | null | undefined;
    do {
      await new Promise((r) => setTimeout(r, 100));
      v = await cache.get('nothing');
    } while (v === undefined && Date.now() - t1 < 10_000);
    assert.equal(v, null, 'reads reach Redis again after it returns');
  });
});

// Without Redis (seed 003's web tier has none) the API serves everything from the database
// and is ready; it never tries to reach a Redis that was not configured.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { skipUnless, startMariadb, type DbServer } from '../../../test/support/servers.js';
import { getJson, postJson, startApi, type RunningApi } from './support.js';

const skip = skipUnless('mariadb');
let db: DbServer;
let api: RunningApi;

before(
  async () => {
    if (skip) return;
    db = await startMariadb();
    api = await startApi({ DATABASE_URL: db.url });
  },
  { timeout: 90_000 },
);

after(async () => {
  await api?.stop();
  await db?.stop();
});

test('no REDIS_URL or REDIS_HOST: ready, /api/data and items from the database', { skip }, async () => {
  const ready = await getJson(`${api.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body.checks.redis, 'disabled');
  for (let i = 0; i < 3; i++) {
    const r = await getJson(`${api.url}/api/data`);
    assert.equal(r.status, 200);
    assert.equal(r.body.source, 'database');
  }
  const created = await postJson(`${api.url}/api/items`, { name: 'no cache' });
  assert.equal(created.status, 201);
  const got = await getJson(`${api.url}/api/items/${created.body.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.name, 'no cache');
  assert.doesNotMatch(api.output(), /redis connection error/);
});

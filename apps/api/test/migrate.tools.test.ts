// `node server.js migrate`, what a beforeRollout hook runs, against a real PostgreSQL: applies the
// migrations once and exits 0, is up to date the second time, and exits 1 when the database refuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { skipUnless, startPostgres, type DbServer } from '../../../test/support/servers.js';
import { runServerSync } from './support.js';

const skip = skipUnless('postgres');
let db: DbServer;

before(async () => {
  if (!skip) db = await startPostgres();
});
after(async () => {
  await db?.stop();
});

test('migrate: the schema applied once, exit 0, then up to date; the server does not stay up', { skip }, async () => {
  const first = runServerSync(db.env(), 30_000, ['migrate']);
  assert.deepEqual([first.status, first.stdout, first.stderr], [0, 'schema migrations applied: 1\n', '']);
  const again = runServerSync(db.env(), 30_000, ['migrate']);
  assert.deepEqual([again.status, again.stdout], [0, 'schema up to date\n']);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    assert.equal((await c.query("SELECT to_regclass('items') IS NOT NULL AS ok")).rows[0].ok, true);
  } finally {
    await c.end();
  }
});

test('migrate: a database that refuses the password is exit 1 with the reason, the password not echoed', { skip }, () => {
  const r = runServerSync({ ...db.env(), DB_PASSWORD: 'not-the-password' }, 30_000, ['migrate']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^schema migration failed: .*password authentication failed/);
  assert.ok(!r.stderr.includes('not-the-password'));
});

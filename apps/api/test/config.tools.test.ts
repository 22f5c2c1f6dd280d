// Configuration: every accepted form (DATABASE_URL, DB_* and *_FILE, REDIS_URL/REDIS_*), and
// bad configuration: a clear message per variable, no secret echoed, non-zero exit of the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { runServerSync, secretFile } from './support.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test("the wharf plan's variables, passwords from files", () => {
  const dbPw = secretFile('s3cret-db');
  const rdPw = secretFile('s3cret-redis');
  try {
    const c = loadConfig({
      DB_DRIVER: 'mysql',
      DB_HOST: 'db',
      DB_PORT: '3307',
      DB_NAME: 'app',
      DB_USER: 'u',
      DB_PASSWORD_FILE: dbPw.path,
      REDIS_HOST: 'cache',
      REDIS_PORT: '6380',
      REDIS_PASSWORD_FILE: rdPw.path,
      PORT: '8080',
    });
    assert.equal(c.port, 8080);
    assert.deepEqual({ ...c.db }, { ...c.db, driver: 'mysql', host: 'db', port: 3307, database: 'app', user: 'u', password: 's3cret-db' });
    assert.equal(c.redis!.host, 'cache');
    assert.equal(c.redis!.port, 6380);
    assert.equal(c.redis!.password, 's3cret-redis');
    assert.equal(c.cacheTtlSeconds, 60);
    assert.equal(c.accessLog, 'errors');
  } finally {
    dbPw.remove();
    rdPw.remove();
  }
});

test('DATABASE_URL and REDIS_URL, with defaults for ports', () => {
  const c = loadConfig({ DATABASE_URL: 'postgresql://app:p%40ss@pg/appdb', REDIS_URL: 'redis://:pw@r:6390/2' });
  assert.equal(c.db.driver, 'postgres');
  assert.equal(c.db.host, 'pg');
  assert.equal(c.db.port, 5432);
  assert.equal(c.db.password, 'p@ss');
  assert.equal(c.db.database, 'appdb');
  assert.equal(c.redis!.port, 6390);
  assert.equal(c.redis!.db, 2);
  assert.equal(c.port, 3000);
  const m = loadConfig({ DATABASE_URL: 'mariadb://a:b@h/d', REDIS_HOST: 'r' });
  assert.equal(m.db.driver, 'mysql');
  assert.equal(m.db.port, 3306);
  assert.equal(m.redis!.port, 6379);
});

test('ACCESS_LOG modes', () => {
  const base = { DATABASE_URL: 'postgres://u:p@h/d', REDIS_HOST: 'r' };
  assert.equal(loadConfig({ ...base, ACCESS_LOG: 'all' }).accessLog, 'all');
  assert.equal(loadConfig({ ...base, ACCESS_LOG: 'true' }).accessLog, 'all');
  assert.equal(loadConfig({ ...base, ACCESS_LOG: 'none' }).accessLog, 'none');
  assert.match(problems({ ...base, ACCESS_LOG: 'loud' }).join('\n'), /^ACCESS_LOG: expected all, errors or none \(got "loud"\)$/m);
});

test('seed 002 environment (DB_HOST without a driver) means PostgreSQL', () => {
  const c = loadConfig({ DB_HOST: 'postgres', DB_NAME: 'appdb', DB_USER: 'appuser', DB_PASSWORD: 'x', REDIS_HOST: 'redis' });
  assert.equal(c.db.driver, 'postgres');
});

test('bad configuration: one line per variable, secrets never echoed', () => {
  const p = problems({ DB_DRIVER: 'oracle', DB_PORT: 'abc', PORT: '70000', REDIS_URL: 'http://:topsecret@x' });
  const text = p.join('\n');
  assert.match(text, /^DB_DRIVER: expected one of postgres, postgresql, mysql, mariadb \(got "oracle"\)$/m);
  assert.match(text, /^DB_PORT: expected an integer from 1 to 65535 \(got "abc"\)$/m);
  assert.match(text, /^PORT: expected an integer from 1 to 65535/m);
  assert.match(text, /^REDIS_URL: unsupported scheme "http"/m);
  assert.doesNotMatch(text, /topsecret/);

  assert.deepEqual(problems({ REDIS_HOST: 'r' }), [
    'DATABASE_URL: not set (set DATABASE_URL, or DB_HOST/DB_NAME/DB_USER/DB_PASSWORD with DB_DRIVER=postgres|mysql)',
  ]);
  // No Redis at all is a valid configuration: the service runs without a cache.
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:hunter2@h/d' }).redis, null);
  const bad = problems({ DATABASE_URL: 'not a url hunter2', REDIS_HOST: 'r' }).join('\n');
  assert.match(bad, /DATABASE_URL: not a valid URL/);
  assert.doesNotMatch(bad, /hunter2/);
  assert.match(problems({ DB_DRIVER: 'postgres', DB_HOST: 'h', REDIS_HOST: 'r' }).join('\n'), /DB_NAME: not set[\s\S]*DB_USER: not set/);
  assert.match(
    problems({ DATABASE_URL: 'postgres://u@h/d', REDIS_HOST: 'r', DB_PASSWORD_FILE: '/nonexistent/pw' }).join('\n'),
    /^DB_PASSWORD_FILE: cannot read file "\/nonexistent\/pw" \(ENOENT\)$/m,
  );
  assert.match(
    problems({ DATABASE_URL: 'postgres://u@h/d', REDIS_HOST: 'r', DB_PASSWORD: 'a', DB_PASSWORD_FILE: '/x' }).join('\n'),
    /both DB_PASSWORD and DB_PASSWORD_FILE/,
  );
});

test('the built server exits 2 on bad configuration, naming each variable, without secrets', () => {
  const r = runServerSync({
    DB_DRIVER: 'postgres',
    DB_HOST: 'h',
    DB_USER: 'u',
    DB_PASSWORD: 'hunter2',
    REDIS_URL: 'redis://:topsecret@',
    PORT: 'eighty',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /config error: DB_NAME: not set/);
  assert.match(r.stderr, /config error: PORT: expected an integer/);
  assert.doesNotMatch(r.stderr + r.stdout, /hunter2|topsecret/);
  assert.equal(r.stdout, '');
});

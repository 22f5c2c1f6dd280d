// Connection URLs derived from generated passwords: every byte of a hostile password is
// encoded so the URL still points where it should, real clients (libpq, redis-cli) log in
// with them, and services name them through env { secret } without a value in any file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { execa } from 'execa';
import { connectionUrl, urlComponent } from '../../src/escape/url.js';
import { ENV_WRAPPER } from '../../src/plan/build.js';
import { renderAll } from '../../src/render/index.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { parseSpecText } from '../../src/spec/load.js';
import { loadVariant } from '../support/templates.js';
import { leaks, secretInventory } from '../support/secret-values.js';
import { skipUnless, startMariadb, startPostgres, startRedis } from '../support/servers.js';
import { toolPath } from '../support/tools.js';
import { propertyParams } from '../support/property.js';

const HOSTILE = 'p@ss:w/rd?#%25 ü&=';

test('urlComponent: only unreserved characters stay, UTF-8 bytes are %XX', () => {
  assert.equal(urlComponent(HOSTILE), 'p%40ss%3Aw%2Frd%3F%23%2525%20%C3%BC%26%3D');
  assert.equal(urlComponent('Az09-._~'), 'Az09-._~');
});

test('connectionUrl: any user, password and database survive a WHATWG parse', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'grapheme', minLength: 1 }),
      fc.string({ unit: 'grapheme', minLength: 1 }),
      (user, password, database) => {
        const u = new URL(
          connectionUrl({ scheme: 'postgres', user, password, host: 'db', port: 5432, database, options: { sslmode: 'disable' } }),
        );
        assert.equal(u.hostname, 'db');
        assert.equal(u.port, '5432');
        assert.equal(decodeURIComponent(u.username), user);
        assert.equal(decodeURIComponent(u.password), password);
        assert.equal(decodeURIComponent(u.pathname.slice(1)), database);
        assert.equal(u.searchParams.get('sslmode'), 'disable');
      },
    ),
    propertyParams(200),
  );
});

test('libpq logs in with a derived URL whose password is hostile', { skip: skipUnless('postgres') }, async () => {
  const pg = await startPostgres({ password: HOSTILE, user: 'app', database: 'shop' });
  try {
    const url = connectionUrl({
      scheme: 'postgres',
      user: 'app',
      password: HOSTILE,
      host: pg.host,
      port: pg.port,
      database: 'shop',
      options: { sslmode: 'disable' },
    });
    const r = await execa(toolPath('psql')!, ['-X', '-At', '-c', 'select current_user, current_database()', url]);
    assert.equal(r.stdout, 'app|shop');
  } finally {
    await pg.stop();
  }
});

test('mysql2 (a common MySQL/MariaDB client) logs in with a derived mysql:// URL', { skip: skipUnless('mariadb') }, async () => {
  const my = await startMariadb({ password: HOSTILE, user: 'app', database: 'shop' });
  try {
    const { createConnection } = await import('mysql2/promise');
    const c = await createConnection(
      connectionUrl({ scheme: 'mysql', user: 'app', password: HOSTILE, host: my.host, port: my.port, database: 'shop' }),
    );
    try {
      const [rows] = await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS d');
      assert.deepEqual(rows, [{ u: 'app@%', d: 'shop' }]);
    } finally {
      await c.end();
    }
  } finally {
    await my.stop();
  }
});

test('redis-cli logs in with a derived URL as the default user', { skip: skipUnless('redis') }, async () => {
  const rd = await startRedis({ password: 'r@d:is/pw#1' });
  try {
    const url = connectionUrl({ scheme: 'redis', user: 'default', password: 'r@d:is/pw#1', host: rd.host, port: rd.port, database: '0' });
    const r = await execa(toolPath('redis-cli')!, ['-u', url, '--no-auth-warning', 'ping']);
    assert.equal(r.stdout, 'PONG');
  } finally {
    await rd.stop();
  }
});

test('every used database and cache gets a URL file; env { secret } names it, never its value', async () => {
  const { plan } = loadVariant({
    template: 'api',
    change: (d) => {
      d.services.api.env = {
        ...d.services.api.env,
        DATABASE_URL_FILE: { secret: 'db.url' },
        CACHE_URL: { secret: 'cache.url' },
        APP__db__PASSWD__FILE: { secret: 'db.password' },
      };
      d.services.api.command = ['node', 'dist/server.js'];
    },
  });
  const api = plan.components.find((c) => c.name === 'api')!;
  assert.equal(api.env.DATABASE_URL_FILE, '/run/secrets/db-url');
  assert.equal(api.env.DB_URL_FILE, '/run/secrets/db-url');
  assert.equal(api.env.APP__db__PASSWD__FILE, '/run/secrets/db-password', 'the __FILE convention gets a path too');
  assert.equal(api.env.REDIS_URL_FILE, '/run/secrets/cache-url');
  assert.equal(api.env.CACHE_URL, undefined, 'a value variable is exported at start, not rendered');
  assert.deepEqual(api.entrypoint, ['/bin/sh', '-c', ENV_WRAPPER, 'wharf-env']);
  assert.deepEqual(api.command, ['CACHE_URL=/run/secrets/cache-url', '--', 'node', 'dist/server.js']);
  assert.deepEqual(api.secrets.map((s) => s.secret).sort(), ['cache-password', 'cache-url', 'db-password', 'db-url']);

  const dir = mkdtempSync(join(tmpdir(), 'wharf-url-'));
  try {
    await ensureSecrets(plan, join(dir, 'secrets'), dir);
    const url = new URL(readFileSync(join(dir, 'secrets', 'db-url'), 'utf8'));
    assert.equal(`${url.protocol}//${url.username}@${url.host}${url.pathname}${url.search}`, 'postgres://app@db:5432/shop?sslmode=disable');
    assert.equal(readFileSync(join(dir, 'secrets', 'cache-url'), 'utf8').replace(/:[^:@]+@/, ':***@'), 'redis://default:***@cache:6379/0');
    const inv = secretInventory(plan, join(dir, 'secrets'));
    assert.ok(inv.values.some((v) => v.kind === 'connection-url'));
    for (const target of ['compose', 'swarm'] as const) {
      const files = renderAll(plan, target, { secretHashes: Object.fromEntries(plan.secrets.map((s) => [s.name, 'h'])) });
      assert.deepEqual(
        leaks(
          inv,
          files.map((f) => ({ name: `${target}:${f.path}`, text: f.contents })),
        ),
        [],
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the env wrapper exports each file as its variable, then execs the command', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-envwrap-'));
  try {
    writeFileSync(join(dir, 'url'), 'postgres://u:p%40@db:5432/x');
    writeFileSync(join(dir, 'odd'), 'it\'s $HOME `x` "q"\n');
    const show = ['sh', '-c', 'printf "%s|%s|%s" "$DATABASE_URL" "$ODD" "$$"'];
    const r = await execa('/bin/sh', ['-c', ENV_WRAPPER, 'wharf-env', `DATABASE_URL=${dir}/url`, `ODD=${dir}/odd`, '--', ...show]);
    const [url, odd] = r.stdout.split('|');
    assert.equal(url, 'postgres://u:p%40@db:5432/x');
    assert.equal(odd, 'it\'s $HOME `x` "q"', 'taken literally; only the trailing newline goes');
    const missing = await execa('/bin/sh', ['-c', ENV_WRAPPER, 'wharf-env', `X=${dir}/none`, '--', 'true'], { reject: false });
    assert.equal(missing.exitCode, 70, 'a missing file stops the start instead of running with an empty variable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('env { secret } is checked against uses, declared secrets and command', () => {
  const base = { name: 'shop', domain: 'shop.localhost', databases: { db: { engine: 'postgres' } } };
  const errors = (svc: Record<string, unknown>) =>
    parseSpecText(JSON.stringify({ ...base, services: { web: { image: 'nginx:1.27', port: 80, ...svc } } }))
      .issues.filter((i) => i.severity === 'error')
      .map((i) => `${i.path}: ${i.message}`);
  assert.deepEqual(errors({ uses: ['db'], env: { DATABASE_URL_FILE: { secret: 'db.url' } } }), []);
  assert.deepEqual(errors({ env: { DATABASE_URL_FILE: { secret: 'db.url' } } }), [
    'services.web.env.DATABASE_URL_FILE.secret: "db" is not in services.web.uses',
  ]);
  assert.deepEqual(errors({ env: { TOKEN_FILE: { secret: 'token' } } }), [
    'services.web.env.TOKEN_FILE.secret: secret "token" is not declared under secrets',
  ]);
  assert.deepEqual(errors({ uses: ['db'], env: { DATABASE_URL: { secret: 'db.url' } } }), [
    'services.web.command: is required when env reads a secret value at start (as: value)',
  ]);
  assert.deepEqual(errors({ uses: ['db'], env: { DB: { secret: 'db.url', as: 'file' } } }), []);
  assert.match(errors({ uses: ['db'], env: { X: { secret: 'db.host' } } }).join(), /services\.web\.env\.X/);
});

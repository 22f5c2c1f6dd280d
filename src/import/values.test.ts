// Compose's canonical values as the spec's: names, Go durations, byte counts, password-like keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatingImage, hasUrlPassword, passwordLikeKey, specDuration, specSize, unescapeDollars, wharfName } from './values.js';
import { dataEngineOf, importDatastore } from './datastores.js';
import { Account } from './account.js';
import type { ComposeService } from './compose-schema.js';

test('Compose names become wharf names', () => {
  assert.equal(wharfName('Web_Front.1'), 'web-front-1');
  assert.equal(wharfName('9lives'), 'lives');
  assert.equal(wharfName('x'), 'x0');
  assert.equal(wharfName('___', 'svc'), 'svc');
  assert.equal(wharfName('a'.repeat(40)).length, 32);
});

test('Go durations and byte counts', () => {
  assert.equal(specDuration('1m30s'), '1m30s');
  assert.equal(specDuration('1.5s'), '1500ms');
  assert.equal(specDuration('500ms'), '500ms');
  assert.equal(specDuration('bogus'), undefined);
  assert.equal(specSize('268435456'), '256M');
  assert.equal(specSize(1073741824), '1G');
  assert.equal(specSize('1000'), '1K');
  assert.equal(specSize('0'), undefined);
});

test('password-like keys and values', () => {
  for (const k of [
    'DB_PASSWORD',
    'SESSION_SECRET',
    'API_KEY',
    'GITHUB_TOKEN',
    'MYSQL_ROOT_PASSWD',
    'N8N_ENCRYPTION_KEY',
    'JWT_SIGNING_KEY',
  ])
    assert.ok(passwordLikeKey(k), k);
  for (const k of ['DB_PASSWORD_FILE', 'DB_HOST', 'LOG_LEVEL', 'SORT_KEY']) assert.ok(!passwordLikeKey(k), k);
  assert.ok(hasUrlPassword('postgres://u:p@db/x'));
  assert.ok(!hasUrlPassword('https://example.com/a@b'));
  assert.equal(unescapeDollars('a $$HOME $${X}'), 'a $HOME ${X}');
});

test('official datastore images and their major version', () => {
  assert.deepEqual(dataEngineOf('postgres:16.4-alpine'), { engine: 'postgres', version: '16' });
  assert.deepEqual(dataEngineOf('docker.io/library/mysql:8.0.36'), { engine: 'mysql', version: '8.0' });
  assert.deepEqual(dataEngineOf('mariadb:10.11'), { engine: 'mariadb', version: '10.11' });
  assert.deepEqual(dataEngineOf('redis'), { engine: 'redis', version: undefined });
  assert.equal(dataEngineOf('bitnami/postgresql:16'), undefined);
});

test('an image with no version is written untagged whether the source said :latest or nothing; a digest pins it', () => {
  assert.deepEqual(floatingImage('nginx:latest'), { ref: 'nginx', floating: true });
  assert.deepEqual(floatingImage('nginx'), { ref: 'nginx', floating: true });
  assert.deepEqual(floatingImage('localhost:5000/team/app:latest'), { ref: 'localhost:5000/team/app', floating: true });
  assert.deepEqual(floatingImage('localhost:5000/team/app'), { ref: 'localhost:5000/team/app', floating: true });
  assert.deepEqual(floatingImage('nginx:1.27'), { ref: 'nginx:1.27', floating: false });
  assert.deepEqual(floatingImage('nginx:latest@sha256:' + 'a'.repeat(64)), {
    ref: 'nginx:latest@sha256:' + 'a'.repeat(64),
    floating: false,
  });
});

test('a PostgreSQL data volume is kept where the same major keeps it: /var/lib/postgresql from 18, .../data before; elsewhere it is changed with a hint', () => {
  const outcome = (image: string, target: string) => {
    const acc = new Account();
    const svc = { image, volumes: [{ type: 'volume', source: 'pgdata', target }] } as ComposeService;
    const r = importDatastore('db', 'db', svc, dataEngineOf(image)!, acc, () => ({ name: 'pgdata', reused: true }));
    const f = acc.fields.find((x) => x.path === 'services.db.volumes[0]')!;
    return { volume: r.spec.volume, outcome: f.outcome, why: f.why };
  };
  assert.deepEqual(outcome('postgres:18', '/var/lib/postgresql'), {
    volume: 'pgdata',
    outcome: 'kept',
    why: 'the data volume, backed up daily: the same Docker volume',
  });
  assert.equal(outcome('postgres:16', '/var/lib/postgresql/data').outcome, 'kept');
  for (const [image, target] of [
    ['postgres:18', '/var/lib/postgresql/data'],
    ['postgres:16', '/var/lib/postgresql'],
  ] as const) {
    const o = outcome(image, target);
    assert.equal(o.volume, 'pgdata');
    assert.equal(o.outcome, 'changed', `${image} ${target}`);
    assert.match(o.why, /move an existing volume's data to where PostgreSQL (18|16) keeps it/);
  }
});

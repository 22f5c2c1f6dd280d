// Secret rotation, pure parts: which names rotate and how, the statements each store gets (exact),
// the plan in which consumers log in as the twin, and the record that keeps no value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { templatePlan } from '../../test/support/templates.js';
import { mysqlLiteral, pgIdent, pgLiteral } from '../escape/sql.js';
import { InputError } from '../errors.js';
import { storeRotation } from './rotate-commands.js';
import { withLogin } from './rotate-files.js';
import { consumers, rotatable, rotationOf } from './rotate.js';
import { formatAge, readRotations, recordRotation, rotationsPath } from './rotate-state.js';

test('rotatable: database and cache passwords (and their URLs), the edge password and self-signed certificate, the restic password', () => {
  const plan = templatePlan('api');
  const r = rotatable(plan);
  assert.deepEqual(
    [...r].map(([n, t]) => `${n} -> ${t.kind} ${t.root}`),
    [
      'backup-restic-password -> restic backup-restic-password',
      'cache-password -> store cache-password',
      'cache-url -> store cache-password',
      'db-password -> store db-password',
      'db-url -> store db-password',
      'edge-admin-password -> edge edge-admin-password',
      'edge-htpasswd -> edge edge-admin-password',
      'edge-tls-cert -> edge edge-tls-key',
      'edge-tls-key -> edge edge-tls-key',
    ],
  );
});

test('rotationOf: an unknown or unrotatable name is an input error naming what can be rotated', () => {
  const plan = templatePlan('api');
  assert.throws(
    () => rotationOf(plan, 'nope'),
    (e: unknown) => e instanceof InputError && /nope: no such secret in this stack \(rotatable: backup-restic/.test(e.message),
  );
  assert.throws(() => rotationOf(plan, 'grafana-admin-password'), /grafana-admin-password: this secret cannot be rotated by wharf yet/);
});

test('consumers: the components mounting a secret, the store itself left out', () => {
  const plan = templatePlan('api');
  assert.deepEqual(consumers(plan, ['db-password', 'db-url'], 'db'), ['api', 'backup', 'db-exporter']);
  assert.deepEqual(consumers(plan, ['edge-admin-password', 'edge-htpasswd']), ['proxy']);
});

test('postgres: a twin login opened with the new password acting as the user, the user settled, the twin dropped', () => {
  const r = storeRotation({ engine: 'postgres', user: 'app', database: 'shop' }, 'OLD', "N'ew");
  assert.equal(r.mode, 'twin');
  assert.equal(r.twin, 'app_rotating');
  assert.deepEqual(r.open.argv, ['psql', '-v', 'ON_ERROR_STOP=1', '-qAt', '-U', 'app', '-d', 'shop']);
  assert.equal(
    r.open.input,
    [
      "SELECT format('CREATE ROLE %I', 'app_rotating') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_rotating')\\gexec",
      `ALTER ROLE "app_rotating" WITH LOGIN PASSWORD 'N''ew';`,
      'GRANT "app" TO "app_rotating";',
      `ALTER ROLE "app_rotating" SET role = 'app';`,
      '',
    ].join('\n'),
  );
  assert.equal(r.settle?.input, `ALTER ROLE "app" WITH PASSWORD 'N''ew';\n`);
  assert.equal(
    r.close.input,
    'ALTER ROLE "app_rotating" WITH NOLOGIN PASSWORD NULL;\nREASSIGN OWNED BY "app_rotating" TO "app";\nDROP OWNED BY "app_rotating";\nDROP ROLE "app_rotating";\n',
  );
  assert.ok(![...r.open.argv, ...r.settle!.argv, ...r.close.argv].some((a) => a.includes('ew')), 'no password in argv');
});

test('mariadb: root logs in from its secret file inside the container; the twin is granted the database', () => {
  const r = storeRotation(
    { engine: 'mariadb', user: 'app', database: 'shop', rootPasswordFile: '/run/secrets/db-root-password' },
    'OLD',
    'NEW',
  );
  assert.deepEqual(r.open.argv, [
    'sh',
    '-c',
    'MYSQL_PWD="$(cat "$1")" exec mariadb -uroot --batch',
    'wharf-rotate',
    '/run/secrets/db-root-password',
  ]);
  assert.equal(
    r.open.input,
    "CREATE USER IF NOT EXISTS 'app_rotating'@'%' IDENTIFIED BY 'NEW';\nALTER USER 'app_rotating'@'%' IDENTIFIED BY 'NEW';\nGRANT ALL PRIVILEGES ON `shop`.* TO 'app_rotating'@'%';\n",
  );
  assert.equal(r.settle?.input, "ALTER USER 'app'@'%' IDENTIFIED BY 'NEW';\n");
  assert.equal(r.close.input, "DROP USER IF EXISTS 'app_rotating'@'%';\n");
});

test('redis: both passwords on the user while the services roll, then the old removed; an error reply fails the step', () => {
  const r = storeRotation({ engine: 'redis', user: 'default', database: '0' }, 'OLD', 'NEW');
  assert.equal(r.mode, 'dual');
  assert.deepEqual(r.open.argv, ['redis-cli', '--no-auth-warning']);
  assert.equal(r.open.input, 'AUTH default OLD\nACL SETUSER default >NEW\n');
  assert.equal(r.close.input, 'AUTH default NEW\nACL SETUSER default <OLD\n');
  assert.equal(r.open.ok?.('OK\nOK\n'), true);
  assert.equal(r.open.ok?.('OK\n(error) ERR syntax error\n'), false);
});

test('SQL escaping: quotes doubled, MySQL backslashes escaped, NUL refused', () => {
  assert.equal(pgIdent('a"b'), '"a""b"');
  assert.equal(pgLiteral("it's \\"), "'it''s \\'");
  assert.equal(mysqlLiteral("it's \\"), "'it\\'s \\\\'");
  assert.throws(() => pgLiteral('a\0b'), /NUL/);
});

test('withLogin: the consumers of the store log in as the twin (user variable and URL), nothing else changes', () => {
  const plan = templatePlan('api');
  const p = withLogin(plan, 'db', 'app', 'app_rotating');
  const api = p.components.find((c) => c.name === 'api')!;
  assert.equal(api.env.DB_USER, 'app_rotating');
  assert.deepEqual(
    p.components.find((c) => c.name === 'db'),
    plan.components.find((c) => c.name === 'db'),
  );
  const url = p.secrets.find((s) => s.name === 'db-url')!;
  assert.equal(url.source.kind === 'connection-url' && url.source.user, 'app_rotating');
  const changed = p.components.filter((c, i) => c !== plan.components[i]).map((c) => c.name);
  assert.deepEqual(changed, ['api']);
});

test('the record: time and a 12-digit hash prefix per rotation, never the value; ages formatted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rotations-'));
  try {
    recordRotation(dir, 'db-password', 'secret-value-1', new Date('2026-12-07T10:00:00Z'));
    recordRotation(dir, 'db-password', 'secret-value-2', new Date('2026-12-07T11:00:00Z'));
    const r = readRotations(dir);
    assert.deepEqual(
      r['db-password']!.map((x) => x.at),
      ['2026-12-07T10:00:00.000Z', '2026-12-07T11:00:00.000Z'],
    );
    assert.ok(r['db-password']!.every((x) => /^[0-9a-f]{12}$/.test(x.hash)));
    assert.ok(!readFileSync(rotationsPath(dir), 'utf8').includes('secret-value'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual([5_000, 42 * 60_000, 5 * 3600_000 + 12 * 60_000, 3 * 86400_000 + 4 * 3600_000].map(formatAge), [
    '5s',
    '42m',
    '5h 12m',
    '3d 4h',
  ]);
});

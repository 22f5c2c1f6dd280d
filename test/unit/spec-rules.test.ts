// Cross-field rules: problems the schema alone cannot see, each with a path and a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { templateText } from '../support/templates.js';

function issuesOf(change: (d: any) => void) {
  const d = parse(templateText('api'));
  change(d);
  return parseSpecText(stringify(d)).issues.filter((i) => i.severity === 'error');
}

test('ACME with HAProxy is accepted (the edge runs an ACME client, src/plan/acme.ts)', () => {
  const i = issuesOf((d) => {
    d.domain = 'shop.example.com';
    d.services.api.routes = [{ host: 'api.shop.example.com' }];
    d.tls = { mode: 'acme', email: 'ops@example.com' };
    d.proxy.kind = 'haproxy';
  });
  assert.deepEqual(i, []);
});

test('ACME for a .localhost domain is refused', () => {
  const i = issuesOf((d) => {
    d.tls = { mode: 'acme', email: 'ops@example.com' };
  });
  assert.ok(i.some((x) => x.path === 'tls.mode' && /localhost/.test(x.message)));
});

test('a service using an undeclared database names the entry', () => {
  const i = issuesOf((d) => {
    d.services.api.uses = ['db', 'nodb'];
  });
  assert.ok(
    i.some((x) => x.path.startsWith('services.api.uses') && /nodb/.test(x.message)),
    JSON.stringify(i),
  );
});

test('same edge port twice', () => {
  const i = issuesOf((d) => {
    d.proxy.httpPort = 8443;
    d.proxy.httpsPort = 8443;
  });
  assert.ok(i.some((x) => x.path === 'proxy.httpsPort'));
});

test('retention that keeps nothing is refused instead of becoming keep-last 1', () => {
  for (const retention of [{}, { keepLast: undefined }, { keepDaily: 0, keepWeekly: 0, keepMonthly: 0 }]) {
    const i = issuesOf((d) => {
      d.databases.db.backup.retention = retention;
    });
    assert.ok(
      i.some((x) => x.path === 'databases.db.backup.retention' && /keeps nothing/.test(x.message) && /keepDaily/.test(x.hint ?? '')),
      JSON.stringify(i),
    );
  }
  assert.deepEqual(
    issuesOf((d) => {
      d.databases.db.backup.retention = { keepMonthly: 1 };
    }),
    [],
  );
});

test('encrypt: false is refused: restic always encrypts', () => {
  const i = issuesOf((d) => {
    d.databases.db.backup.encrypt = false;
  });
  assert.deepEqual(
    i.map((x) => x.path),
    ['databases.db.backup.encrypt'],
  );
  assert.match(i[0]!.hint ?? '', /can only be true/);
});

test('a Dockerfile outside the project is refused; one beside the context is fine', () => {
  assert.deepEqual(
    issuesOf((d) => {
      d.services.api.build.dockerfile = '../api/Dockerfile.dev';
    }),
    [],
  );
  for (const f of ['../../../Dockerfile', '/etc/passwd', '../../..']) {
    const i = issuesOf((d) => {
      d.services.api.build.dockerfile = f;
    });
    assert.deepEqual(
      i.map((x) => x.path),
      ['services.api.build.dockerfile'],
      f,
    );
  }
});

test("receiver names: the platform's null and heartbeat are reserved, duplicates refused; a heartbeat needs a URL", () => {
  const i = issuesOf((d) => {
    d.monitoring.alerts = {
      receivers: [
        { type: 'webhook', name: 'heartbeat', url: 'https://hc.example.com/x' },
        { type: 'webhook', name: 'null', url: 'https://hc.example.com/y' },
        { type: 'webhook', name: 'ops', url: 'https://hc.example.com/z' },
        { type: 'webhook', name: 'ops', url: 'https://hc.example.com/w' },
      ],
    };
  });
  assert.deepEqual(
    i.map((x) => x.path),
    [0, 1, 3].map((n) => `monitoring.alerts.receivers[${n}].name`),
  );
  assert.match(i[0]!.hint ?? '', /monitoring\.alerts\.heartbeat/);
  const hb = issuesOf((d) => {
    d.monitoring.alerts = { heartbeat: { url: 'not a url', interval: '5 minutes' } };
  });
  assert.deepEqual(hb.map((x) => x.path).sort(), ['monitoring.alerts.heartbeat.interval', 'monitoring.alerts.heartbeat.url']);
  assert.deepEqual(
    issuesOf((d) => {
      d.monitoring.alerts = { heartbeat: { url: 'https://hc-ping.com/abc' } };
    }),
    [],
  );
});

test('pointInTime: accepted on PostgreSQL; refused on MariaDB/MySQL and caches (rule named), and over plain-HTTP S3', () => {
  const pg = issuesOf((d) => {
    d.databases.db.backup = { pointInTime: true };
  });
  assert.deepEqual(pg, [], JSON.stringify(pg));
  const maria = issuesOf((d) => {
    d.databases.db = { engine: 'mariadb', backup: { pointInTime: true } };
  });
  assert.ok(
    maria.some(
      (x) =>
        x.path === 'databases.db.backup.pointInTime' &&
        /offered for PostgreSQL only, not for mariadb \(its binary log is not archived\) \(rule pointInTimePostgresOnly\)/.test(x.message),
    ),
    JSON.stringify(maria),
  );
  const http = issuesOf((d) => {
    d.secrets = { ...(d.secrets ?? {}), 's3-key': { generate: true }, 's3-secret': { generate: true } };
    d.databases.db.backup = {
      pointInTime: true,
      destination: { type: 's3', endpoint: 'http://moto:5000', bucket: 'b', accessKeySecret: 's3-key', secretKeySecret: 's3-secret' },
    };
  });
  assert.ok(
    http.some((x) => x.path === 'databases.db.backup.destination' && /HTTPS only/.test(x.message)),
    JSON.stringify(http),
  );
});

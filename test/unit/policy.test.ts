// Each policy rule fires on the mistake it names and stays quiet on the templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lint, policyRules } from '../../src/check/policy.js';
import { checkPlan } from '../../src/check/plan-rules.js';
import { loadVariant, variants } from '../support/templates.js';
import { Size } from '../../src/spec/units.js';

test('rule ids are unique and stable-looking', () => {
  const ids = policyRules.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^WH\d{3}$/);
});

for (const v of variants) {
  test(`template ${v.id} has no policy errors or warnings`, () => {
    const { stack, plan } = loadVariant(v);
    assert.deepEqual(lint(stack, plan), []);
  });
}

const api = () => loadVariant({ template: 'api' });
const fired = (f: ReturnType<typeof lint>, rule: string) => f.filter((x) => x.rule === rule);

test('WH001 database on the edge network', () => {
  const { stack, plan } = api();
  plan.components.find((c) => c.name === 'db')!.networks.push('edge');
  const f = fired(lint(stack, plan), 'WH001');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.path, 'databases.db.networks');
  assert.ok(f[0]!.hint);
});

test('WH002 plaintext secret in env and WH006 default credentials', () => {
  const { stack, plan } = loadVariant({
    template: 'api',
    change: (d) => {
      d.services.api.env = { DB_PASSWORD: 'apppassword', API_TOKEN: 'x1', LOG_LEVEL: 'info', DB_PASSWORD_FILE: '/run/secrets/x' };
    },
  });
  const all = lint(stack, plan);
  assert.deepEqual(
    fired(all, 'WH002').map((x) => x.path),
    ['services.api.env.API_TOKEN', 'services.api.env.DB_PASSWORD'],
  );
  assert.deepEqual(
    fired(all, 'WH006').map((x) => x.path),
    ['services.api.env.DB_PASSWORD'],
  );
});

test('WH003 unpinned and :latest images', () => {
  const { stack, plan } = loadVariant({
    template: 'lab',
    change: (d) => {
      d.images = { prometheus: 'prom/prometheus', grafana: 'grafana/grafana:latest' };
    },
  });
  const f = fired(lint(stack, plan), 'WH003');
  assert.deepEqual(
    f.map((x) => [x.path, x.severity]),
    [
      ['images.grafana', 'error'],
      ['images.prometheus', 'warning'],
    ],
  );
});

test('WH004 writable Docker socket', () => {
  const { stack, plan } = loadVariant({ template: 'lab' });
  const sock = plan.components.flatMap((c) => c.mounts).find((m) => m.type === 'bind' && m.source.endsWith('docker.sock'));
  assert.ok(sock, 'lab mounts the socket (portainer, cadvisor)');
  sock.readOnly = false;
  assert.equal(fired(lint(stack, plan), 'WH004').length, 1);
});

test('WH005 metrics path routed publicly', () => {
  const { stack, plan } = api();
  plan.routes.find((r) => r.service === 'api')!.denyPaths = [];
  const f = fired(lint(stack, plan), 'WH005');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /api\.shop\.localhost\/metrics/);
});

test('WH007 missing healthcheck, WH008 no limits, WH010 published database, WH011 privileges', () => {
  const { stack, plan } = api();
  const db = plan.components.find((c) => c.name === 'db')!;
  db.healthcheck = undefined;
  db.resources = { cpus: 0, memory: Size.bytes(0) };
  db.ports = [{ hostIp: '0.0.0.0', host: 5432, container: 5432 }];
  db.hardening.noNewPrivileges = false;
  const all = lint(stack, plan);
  for (const id of ['WH007', 'WH008', 'WH010', 'WH011'])
    assert.deepEqual(
      fired(all, id).map((x) => x.path.split('.')[1]),
      ['db'],
      id,
    );
});

test('WH009 dashboard route without auth', () => {
  const { stack, plan } = api();
  const dash = plan.routes.find((r) => r.internal && r.service === plan.proxy.component);
  assert.ok(dash, 'the proxy dashboard is routed');
  dash.auth = false;
  assert.equal(fired(lint(stack, plan), 'WH009').length, 1);
});

test('WH012 public domain with a self-signed certificate on all interfaces', () => {
  const { stack, plan } = loadVariant({
    template: 'api',
    change: (d) => {
      d.domain = 'shop.example.com';
      d.services.api.routes = [{ host: 'api.shop.example.com' }];
    },
  });
  assert.equal(fired(lint(stack, plan), 'WH012').length, 1);
});

// Plan rules: input errors only the plan can see (platform hosts, volumes, the alert catalogue).
const planErrors = (template: string, change: (d: Record<string, any>) => void) => {
  const { stack, plan } = loadVariant({ template, change });
  return checkPlan(stack, plan);
};

for (const v of variants) {
  test(`template ${v.id} passes the plan rules`, () => {
    const { stack, plan } = loadVariant(v);
    assert.deepEqual(checkPlan(stack, plan), []);
  });
}

test('a route on a platform host names both the route and the platform option', () => {
  const g = planErrors('api', (d) => {
    d.services.api.routes[0].host = 'grafana.shop.localhost';
  });
  assert.deepEqual(
    g.map((i) => i.path),
    ['services.api.routes[0].host'],
  );
  assert.match(g[0]!.message, /grafana\.shop\.localhost.*grafana.*monitoring\.grafana\.host/);
  const dash = planErrors('haproxy-mysql', (d) => {
    d.proxy.dashboard = { host: 'edge.example.test' };
    d.services.web.routes[0].host = 'edge.example.test';
  });
  assert.ok(
    dash.some((i) => i.path === 'services.web.routes[0].host' && /proxy\.dashboard\.host/.test(i.message)),
    JSON.stringify(dash),
  );
  // Grafana off: its default host is free for the app.
  assert.deepEqual(
    planErrors('api', (d) => {
      d.monitoring.grafana = false;
      d.services.api.routes[0].host = 'grafana.shop.localhost';
    }),
    [],
  );
});

test('a user volume named like a platform volume is refused', () => {
  for (const name of ['db-data', 'prometheus-data', 'grafana-data', 'alertmanager-data']) {
    const i = planErrors('api', (d) => {
      d.services.api.volumes = [
        { name: 'uploads', target: '/u' },
        { name, target: '/data' },
      ];
    });
    assert.deepEqual(
      i.map((x) => x.path),
      ['services.api.volumes[1].name'],
      name,
    );
  }
});

test('an override for an alert this stack does not have is refused with a did-you-mean', () => {
  const i = planErrors('api', (d) => {
    d.monitoring.alerts = { overrides: { TargetDwn: { disabled: true }, TargetDown: { for: '5m' } } };
  });
  assert.deepEqual(
    i.map((x) => x.path),
    ['monitoring.alerts.overrides.TargetDwn'],
  );
  assert.equal(i[0]!.hint, 'did you mean "TargetDown"?');
  const far = planErrors('api', (d) => {
    d.monitoring.alerts = { overrides: { Zzzzzzzzzz: { disabled: true } } };
  });
  assert.match(far[0]!.hint ?? '', /alerts of this stack: .*TargetDown/);
});

// Each policy rule fires on the mistake it names and stays quiet on the templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lint, policyRules } from '../../src/check/policy.js';
import { loadVariant, variants } from '../support/templates.js';

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
  const { stack, plan } = loadVariant({ template: 'api', change: (d) => { d.services.api.env = { DB_PASSWORD: 'apppassword', API_TOKEN: 'x1', LOG_LEVEL: 'info', DB_PASSWORD_FILE: '/run/secrets/x' }; } });
  const all = lint(stack, plan);
  assert.deepEqual(fired(all, 'WH002').map((x) => x.path), ['services.api.env.API_TOKEN', 'services.api.env.DB_PASSWORD']);
  assert.deepEqual(fired(all, 'WH006').map((x) => x.path), ['services.api.env.DB_PASSWORD']);
});

test('WH003 unpinned and :latest images', () => {
  const { stack, plan } = loadVariant({ template: 'lab', change: (d) => { d.images = { prometheus: 'prom/prometheus', grafana: 'grafana/grafana:latest' }; } });
  const f = fired(lint(stack, plan), 'WH003');
  assert.deepEqual(f.map((x) => [x.path, x.severity]), [['images.grafana', 'error'], ['images.prometheus', 'warning']]);
});

test('WH004 writable Docker socket', () => {
  const { stack, plan } = loadVariant({ template: 'lab' });
  const sock = plan.components.flatMap((c) => c.mounts).find((m) => m.source.endsWith('docker.sock'));
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
  db.resources = { cpus: 0, memory: '' };
  db.ports = [{ hostIp: '0.0.0.0', host: 5432, container: 5432 }];
  db.securityOpt = [];
  const all = lint(stack, plan);
  for (const id of ['WH007', 'WH008', 'WH010', 'WH011']) assert.deepEqual(fired(all, id).map((x) => x.path.split('.')[1]), ['db'], id);
});

test('WH009 dashboard route without auth', () => {
  const { stack, plan } = api();
  const dash = plan.routes.find((r) => r.internal && r.service === plan.proxy.component);
  assert.ok(dash, 'the proxy dashboard is routed');
  dash.auth = false;
  assert.equal(fired(lint(stack, plan), 'WH009').length, 1);
});

test('WH012 public domain with a self-signed certificate on all interfaces', () => {
  const { stack, plan } = loadVariant({ template: 'api', change: (d) => { d.domain = 'shop.example.com'; d.services.api.routes = [{ host: 'api.shop.example.com' }]; } });
  assert.equal(fired(lint(stack, plan), 'WH012').length, 1);
});

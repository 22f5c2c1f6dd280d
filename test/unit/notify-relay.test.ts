// ntfy, Gotify and Matrix receivers in the spec (path-named errors, tokens only in secrets) and
// what they render: a notify-relay component on every target, Alertmanager's webhook to it, and
// a receiver list that names secret files, never their contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderAll } from '../../src/render/index.js';
import { planEdges } from '../../src/render/k8s/network.js';
import { k8sView } from '../../src/render/k8s/view.js';
import { renderK8s } from '../../src/render/k8s/index.js';
import { k8sSchemaErrors } from '../support/k8s-schema.js';
import { templateText } from '../support/templates.js';

const SECRETS = { 'ntfy-url': { file: './s/ntfy' }, 'gotify-token': { file: './s/gotify' }, 'mx-token': { file: './s/mx' } };
const RECEIVERS = [
  { type: 'ntfy', name: 'phone', urlSecret: 'ntfy-url' },
  { type: 'gotify', name: 'desk', url: 'https://gotify.example.com', tokenSecret: 'gotify-token' },
  { type: 'matrix', name: 'room', homeserver: 'https://matrix.example.org', room: '!ops:example.org', tokenSecret: 'mx-token' },
];

function load(receivers: unknown[], secrets: Record<string, unknown> = SECRETS) {
  const d = parse(templateText('api'));
  d.monitoring = { ...(d.monitoring ?? {}), alerts: { receivers } };
  d.secrets = { ...(d.secrets ?? {}), ...secrets };
  return parseSpecText(stringify(d));
}
const errors = (receivers: unknown[], secrets?: Record<string, unknown>) =>
  load(receivers, secrets)
    .issues.filter((i) => i.severity === 'error')
    .map((i) => i.path);

test('ntfy, Gotify and Matrix receivers: a bad field is refused at its path, a named secret must be declared', () => {
  assert.deepEqual(errors(RECEIVERS), []);
  assert.deepEqual(errors([{ ...RECEIVERS[2], room: '#ops:example.org' }]), ['monitoring.alerts.receivers[0].room']);
  assert.deepEqual(errors([{ ...RECEIVERS[1], url: 'https://u:p@gotify.example.com' }]), ['monitoring.alerts.receivers[0].url']);
  assert.deepEqual(errors([{ type: 'ntfy', name: 'phone' }]), ['monitoring.alerts.receivers[0].url']);
  assert.deepEqual(errors([{ type: 'ntfy', name: 'phone', url: 'https://ntfy.sh/t', tokenSecret: 'nope' }]), [
    'monitoring.alerts.receivers[0]',
  ]);
  assert.deepEqual(errors([{ type: 'matrix', name: 'room', homeserver: 'https://m.example.org', room: '!a:b' }]), [
    'monitoring.alerts.receivers[0].tokenSecret',
  ]);
});

test('relayed receivers: Alertmanager posts to the notify-relay, which alone mounts their secrets', () => {
  const r = load(RECEIVERS);
  assert.ok(r.stack, JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  const relay = plan.components.find((c) => c.role === 'notify-relay')!;
  const am = plan.components.find((c) => c.role === 'alertmanager')!;
  assert.deepEqual(
    relay.secrets.map((s) => s.secret),
    ['gotify-token', 'mx-token', 'ntfy-url'],
  );
  assert.equal(relay.imageKey, 'node');
  assert.deepEqual(am.secrets, []);
  assert.deepEqual(am.networks, ['monitoring']);
  assert.deepEqual(am.dependsOn, [{ name: 'notify-relay', on: 'started' }]);
  const files = renderAll(plan, 'compose');
  const amYml = parse(files.find((f) => f.path === 'alertmanager/alertmanager.yml')!.contents);
  const urls = amYml.receivers.flatMap((x: { webhook_configs?: Array<{ url: string }> }) => (x.webhook_configs ?? []).map((w) => w.url));
  assert.deepEqual(
    [...new Set(urls)].sort(),
    ['desk', 'phone', 'room'].map((n) => `http://notify-relay:9095/${n}`),
  );
  const config = JSON.parse(files.find((f) => f.path === 'notify-relay/relay.json')!.contents);
  assert.deepEqual(config.receivers[0], { name: 'phone', type: 'ntfy', urlFile: '/run/secrets/ntfy-url' });
  assert.deepEqual(config.receivers[2], {
    name: 'room',
    type: 'matrix',
    url: 'https://matrix.example.org',
    tokenFile: '/run/secrets/mx-token',
    room: '!ops:example.org',
  });
  // on k8s: the relay is a workload (valid against the API's schema), and only Alertmanager may reach it
  const manifests = renderK8s(plan).find((f) => f.path.endsWith('/notify-relay.yaml'))!;
  const docs = parseAllDocuments(manifests.contents).map((d) => d.toJSON() as Record<string, unknown>);
  for (const kind of ['ConfigMap', 'Deployment', 'Service'])
    assert.ok(
      docs.some((d) => d.kind === kind),
      kind,
    );
  for (const d of docs) assert.deepEqual(k8sSchemaErrors(d), [], String(d.kind));
  assert.ok(!manifests.contents.includes('gotify.example.com/'), 'no secret file content');
  assert.deepEqual(
    planEdges(k8sView(plan)).filter((e) => e.to === 'notify-relay'),
    [{ from: 'alertmanager', to: 'notify-relay', port: 9095, why: 'depends-on' }],
  );
});

test('without ntfy, Gotify or Matrix receivers there is no relay', () => {
  const r = load([{ type: 'webhook', name: 'hk', url: 'http://hook:1/x' }], {});
  assert.ok(r.stack, JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  assert.ok(!plan.components.some((c) => c.role === 'notify-relay'));
  assert.ok(!renderAll(plan, 'compose').some((f) => f.path.startsWith('notify-relay/')));
});

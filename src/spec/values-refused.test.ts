// Values a user gets wrong that used to pass `check` and fail at run time (issue 22, "values
// that should be refused with their path"): each is now an error naming its spec path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpecText } from './load.js';

const base = () => ({
  name: 'shop',
  domain: 'shop.example.com',
  services: { api: { image: 'nginx:1.27', port: 80, build: undefined as unknown } },
  monitoring: { scrapeInterval: '15s' } as Record<string, unknown>,
});
type Spec = ReturnType<typeof base> & Record<string, unknown>;
const api = (s: Spec) => s.services.api as Record<string, unknown>;

const cases: Array<[string, (s: Spec) => void, string]> = [
  ['volume target /', (s) => (api(s).volumes = [{ name: 'data', target: '/' }]), 'services.api.volumes[0].target'],
  ['volume target /run/secrets', (s) => (api(s).volumes = [{ name: 'data', target: '/run/secrets' }]), 'services.api.volumes[0].target'],
  ['volume target with :', (s) => (api(s).volumes = [{ name: 'data', target: '/data:ro' }]), 'services.api.volumes[0].target'],
  ['volume target with a newline', (s) => (api(s).volumes = [{ name: 'data', target: '/da\nta' }]), 'services.api.volumes[0].target'],
  ['user with a newline', (s) => (api(s).user = '1000\n0'), 'services.api.user'],
  ['NUL in env', (s) => (api(s).env = { A: 'x\0y' }), 'services.api.env.A'],
  ['NUL in command', (s) => (api(s).command = ['a\0b']), 'services.api.command[0]'],
  ['build-arg key with a space', (s) => (api(s).build = { context: '.', args: { 'A B': '1' } }), 'services.api.build.args.A B'],
  ['duration 0s', (s) => (s.monitoring.scrapeInterval = '0s'), 'monitoring.scrapeInterval'],
  ['duration 300000y', (s) => (s.monitoring.scrapeInterval = '300000y'), 'monitoring.scrapeInterval'],
  [
    'one volume backed up by two services (render failed half-way with a raw EEXIST)',
    (s) => {
      api(s).volumes = [{ name: 'shared', target: '/data', backup: { schedule: '0 3 * * *' } }];
      (s.services as Record<string, unknown>).web = {
        image: 'nginx:1.27',
        port: 80,
        volumes: [{ name: 'shared', target: '/data', backup: { schedule: '0 3 * * *' } }],
      };
    },
    'services.web.volumes[0].backup',
  ],
  [
    'smarthost port 99999',
    (s) =>
      (s.monitoring = {
        ...s.monitoring,
        alerts: {
          receivers: [
            { type: 'email', name: 'ops', to: 'ops@example.com', from: 'wharf@example.com', smarthost: 'mail.example.com:99999' },
          ],
        },
      }),
    'monitoring.alerts.receivers[0].smarthost',
  ],
  ['node address 0.0.0.0', (s) => (s.cluster = { nodes: [{ name: 'n1', address: '0.0.0.0' }] }), 'cluster.nodes[0].address'],
  ['WireGuard subnet 0.0.0.0/0', (s) => (s.cluster = { wireguard: { subnet: '0.0.0.0/0' } }), 'cluster.wireguard.subnet'],
  ['stats port equal to the HTTP port', (s) => (s.proxy = { kind: 'haproxy', stats: { port: 80 } }), 'proxy.stats.port'],
  [
    'backup destination inside .wharf/secrets',
    (s) =>
      (s.databases = {
        db: { engine: 'postgres', backup: { schedule: '0 3 * * *', destination: { type: 'local', path: './.wharf/secrets/b' } } },
      }),
    'databases.db.backup.destination.path',
  ],
  [
    'a Kafka topic a..b (the API server refuses the KafkaTopic)',
    (s) =>
      (s.messaging = {
        kafka: {
          name: 'events',
          version: '3.9.0',
          nodePools: [{ name: 'pool', roles: ['controller', 'broker'], replicas: 3, storage: { size: '5Gi' } }],
        },
        topics: { 'a..b': { partitions: 1, replicas: 3 } },
      }),
    'messaging.topics.a..b',
  ],
  [
    'Kafka pod names over 63 characters (<cluster>-<pool>-<id>)',
    (s) =>
      (s.messaging = {
        kafka: { name: 'k'.repeat(32), nodePools: [{ name: 'p'.repeat(32), roles: ['controller', 'broker'], replicas: 3 }] },
      }),
    'messaging.kafka.nodePools[0].name',
  ],
  ['host name over 253 characters', (s) => (s.domain = `${'a'.repeat(62)}.`.repeat(5) + 'com'), 'domain'],
];

for (const [what, edit, path] of cases)
  test(`refused with its path: ${what}`, () => {
    const s = base() as Spec;
    delete api(s).build;
    edit(s);
    const { issues } = parseSpecText(stringify(s));
    const errors = issues.filter((i) => i.severity === 'error');
    assert.deepEqual(
      errors.map((i) => i.path),
      [path],
      JSON.stringify(errors.map((i) => i.message)),
    );
  });

test('the same spec without the mistake passes', () => {
  const s = base() as Spec;
  delete api(s).build;
  api(s).volumes = [{ name: 'data', target: '/var/lib/data' }];
  api(s).user = '1000:1000';
  assert.deepEqual(
    parseSpecText(stringify(s)).issues.filter((i) => i.severity === 'error'),
    [],
  );
});

test('a __proto__ key is refused, not silently dropped', () => {
  const { issues } = parseSpecText('name: shop\nservices:\n  __proto__:\n    image: nginx:1.27\n');
  assert.equal(issues[0]?.path, 'services.__proto__');
  assert.match(issues[0]!.message, /__proto__/);
});

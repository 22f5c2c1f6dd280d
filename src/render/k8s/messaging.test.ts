// messaging: end to end offline: the spec's errors name their path, Compose and Swarm refuse
// it, the Strimzi objects validate against Strimzi's CRDs (and a broken one does not), the
// generated types are current, a client service reads its Strimzi-generated credentials from
// files only, and the controllers are pinned HelmReleases that install their CRDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseSpecText } from '../../spec/load.js';
import { targetErrors } from '../../check/policy.js';
import { loadRenderer, renderAll } from '../index.js';
import { secretsNeeded } from './index.js';
import { loadVariant, repoRoot, templateText } from '../../../test/support/templates.js';
import { strimziValidator } from '../../../test/support/strimzi-crds.js';
// @ts-expect-error: a plain .mjs module without types
import { generate } from './strimzi/gen-types.mjs';

await loadRenderer('k8s');
type Doc = Record<string, any>;
const k3s = () => parse(templateText('k3s')) as Doc;
const issuesOf = (doc: Doc) =>
  parseSpecText(stringify(doc), 'wharf.yaml')
    .issues.filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);
const docs = () =>
  renderAll(loadVariant({ template: 'k3s' }).plan, 'k8s')
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml'))
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => ({ file: f.path, doc: d.toJS() as Doc })));

test('messaging: the k3s template is valid, and each mistake is an error at its path', () => {
  assert.deepEqual(issuesOf(k3s()), []);
  const cases: Array<[string, (d: Doc) => void, string]> = [
    [
      'topic replicas above the brokers',
      (d) => {
        d.messaging.topics.results.replicas = 4;
      },
      'messaging.topics.results.replicas: 4 replicas but the cluster has 3 brokers',
    ],
    [
      'a service naming an unknown user',
      (d) => {
        d.services.gateway.messaging.user = 'nobody';
      },
      'services.gateway.messaging.user: "nobody" is not a user under messaging.users',
    ],
    [
      'a user naming an unknown topic',
      (d) => {
        d.messaging.users.generation.write = ['enrichment.request'];
      },
      'messaging.users.generation.write[0]: "enrichment.request" is not a topic under messaging.topics',
    ],
    [
      'no controller pool',
      (d) => {
        d.messaging.kafka.nodePools = [d.messaging.kafka.nodePools[1]];
      },
      'messaging.kafka.nodePools: no pool has the controller role: a KRaft cluster needs controllers and brokers',
    ],
    [
      'min.insync.replicas above the replicas',
      (d) => {
        d.messaging.topics.results.config['min.insync.replicas'] = 4;
      },
      'messaging.topics.results.config.min.insync.replicas: 4 in-sync replicas required of 3: every write would fail',
    ],
    [
      'an unpinned Kafka version',
      (d) => {
        d.messaging.kafka.version = 'latest';
      },
      'messaging.kafka.version',
    ],
    [
      'a listener on a Strimzi port',
      (d) => {
        d.messaging.kafka.listeners[0].port = 9091;
      },
      'messaging.kafka.listeners[0].port',
    ],
    [
      "a service named like Strimzi's pods",
      (d) => {
        d.services.kafka = d.services.enrichment;
        delete d.services.enrichment;
      },
      'services.kafka: "kafka" is the name Strimzi gives its own pods (app.kubernetes.io/name)',
    ],
    [
      'messaging on a service without the section',
      (d) => {
        delete d.messaging;
      },
      'services.enrichment.messaging.user: there is no messaging: section',
    ],
  ];
  for (const [what, change, expected] of cases) {
    const d = k3s();
    change(d);
    const found = issuesOf(d);
    assert.ok(
      found.some((i) => i.startsWith(expected)),
      `${what}: expected "${expected}", got ${JSON.stringify(found)}`,
    );
  }
});

test('messaging: Compose and Swarm refuse it with MSG001 at messaging; k8s does not', async () => {
  const { stack, plan } = loadVariant({ template: 'k3s' });
  for (const target of ['compose', 'swarm']) {
    const f = (await targetErrors(target, stack, plan)).filter((x) => x.rule === 'MSG001');
    assert.deepEqual(
      f.map((x) => [x.path, x.severity]),
      [['messaging', 'error']],
      target,
    );
    assert.match(f[0]!.hint!, /--target k8s/);
  }
  assert.deepEqual(
    (await targetErrors('k8s', stack, plan)).filter((x) => x.rule === 'MSG001'),
    [],
  );
  // a spec without messaging is not refused for it
  const api = loadVariant({ template: 'api' });
  assert.deepEqual(
    (await targetErrors('compose', api.stack, api.plan)).filter((x) => x.rule === 'MSG001'),
    [],
  );
});

test('strimzi: every rendered Strimzi object validates against its CRD; a broken one is refused', () => {
  const strimzi = strimziValidator();
  const objects = docs()
    .filter((d) => d.doc.apiVersion === 'kafka.strimzi.io/v1beta2')
    .map((d) => d.doc);
  assert.deepEqual([...new Set(objects.map((o) => o.kind))].sort(), ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser']);
  assert.equal(objects.length, 1 + 2 + 3 + 3);
  for (const o of objects) assert.doesNotThrow(() => strimzi.check(o), `${o.kind} ${o.metadata.name}`);
  const kafka = objects.find((o) => o.kind === 'Kafka')!;
  const user = objects.find((o) => o.kind === 'KafkaUser')!;
  const pool = objects.find((o) => o.kind === 'KafkaNodePool')!;
  const broken: Doc[] = [
    {
      ...kafka,
      spec: { ...kafka.spec, kafka: { ...kafka.spec.kafka, listeners: [{ ...kafka.spec.kafka.listeners[0], type: 'public' }] } },
    },
    { ...kafka, spec: { ...kafka.spec, kafka: { ...kafka.spec.kafka, listeners: [] } } },
    { ...pool, spec: { ...pool.spec, replicas: 'three' } },
    { ...pool, spec: { ...pool.spec, roles: ['leader'] } },
    { ...user, spec: { ...user.spec, authentication: { type: 'password' } } },
    { ...user, spec: { ...user.spec, authorization: { type: 'simple', acls: [{ operations: ['Read'] }] } } },
  ];
  for (const b of broken) assert.throws(() => strimzi.check(b), `${b.kind} should be refused: ${JSON.stringify(b.spec).slice(0, 120)}`);
});

test('strimzi: types.ts is what gen-types.mjs makes from the CRDs now', async () => {
  assert.equal(
    readFileSync(join(repoRoot, 'src', 'render', 'k8s', 'strimzi', 'types.ts'), 'utf8'),
    await generate(),
    'stale: run node src/render/k8s/strimzi/gen-types.mjs',
  );
});

test('strimzi: KRaft with node pools, pinned version, simple ACLs per user, no credentials in the tree', () => {
  const all = docs();
  const kafka = all.find((d) => d.doc.kind === 'Kafka')!.doc;
  assert.deepEqual(kafka.metadata.annotations, { 'strimzi.io/kraft': 'enabled', 'strimzi.io/node-pools': 'enabled' });
  assert.equal(kafka.spec.kafka.version, '3.9.0');
  assert.equal(kafka.spec.kafka.metadataVersion, '3.9-IV0');
  assert.equal(kafka.spec.kafka.replicas, undefined, 'node pools own the replicas');
  assert.equal(kafka.spec.zookeeper, undefined);
  assert.deepEqual(kafka.spec.kafka.authorization, { type: 'simple' });
  assert.equal(kafka.spec.kafka.config['auto.create.topics.enable'], false, 'only declared topics exist');
  const pools = all.filter((d) => d.doc.kind === 'KafkaNodePool').map((d) => d.doc);
  assert.deepEqual(
    pools.map((p) => [
      p.metadata.name,
      p.spec.roles,
      p.spec.replicas,
      p.metadata.labels['strimzi.io/cluster'],
      p.spec.storage.volumes[0].class,
    ]),
    [
      ['controllers', ['controller'], 3, 'events', 'local-path'],
      ['brokers', ['broker'], 3, 'events', 'local-path'],
    ],
  );
  const users = Object.fromEntries(all.filter((d) => d.doc.kind === 'KafkaUser').map((d) => [d.doc.metadata.name, d.doc.spec]));
  assert.deepEqual(users.gateway.authentication, { type: 'scram-sha-512' });
  assert.deepEqual(
    users.gateway.authorization.acls.map(
      (a: Doc) => `${a.resource.type}:${a.resource.name}:${a.resource.patternType}:${a.operations.join('+')}`,
    ),
    ['topic:results:literal:Describe+Read', 'topic:generation.requests:literal:Describe+Write', 'group:gateway:prefix:Read'],
  );
  // the users' passwords are Strimzi's: no Secret of theirs in the tree, none for wharf to seal
  const { plan } = loadVariant({ template: 'k3s' });
  assert.ok(!all.some((d) => d.doc.kind === 'Secret'));
  for (const u of ['gateway', 'generation', 'enrichment']) assert.ok(!secretsNeeded(plan).includes(u));
});

test('messaging: a client service connects with env and files only, from the Strimzi-generated Secret and the cluster CA', () => {
  const gw = docs().find((d) => d.doc.kind === 'Deployment' && d.doc.metadata.name === 'gateway')!.doc;
  const pod = gw.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e]));
  assert.deepEqual(env.KAFKA_BOOTSTRAP_SERVERS, { name: 'KAFKA_BOOTSTRAP_SERVERS', value: 'events-kafka-bootstrap:9093' });
  assert.equal(env.KAFKA_SECURITY_PROTOCOL.value, 'SASL_SSL');
  assert.equal(env.KAFKA_USERNAME.value, 'gateway');
  assert.equal(env.KAFKA_PASSWORD_FILE.value, '/run/kafka/password');
  assert.equal(env.KAFKA_CA_FILE.value, '/run/kafka/ca.crt');
  assert.ok(!c.env.some((e: Doc) => e.valueFrom), 'no secret reaches the environment');
  assert.deepEqual(
    c.env.map((e: Doc) => e.name),
    [...c.env.map((e: Doc) => e.name)].sort(),
    'env stays sorted',
  );
  const vol = pod.volumes.find((v: Doc) => v.name === 'kafka');
  assert.deepEqual(vol.projected.sources, [
    { secret: { name: 'gateway', items: [{ key: 'password', path: 'password' }] } },
    { secret: { name: 'events-cluster-ca-cert', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
  ]);
  assert.deepEqual(
    c.volumeMounts.find((m: Doc) => m.name === 'kafka'),
    { name: 'kafka', mountPath: '/run/kafka', readOnly: true },
  );
  // a service that does not use messaging gets none of it
  const db = docs().find((d) => d.doc.metadata?.name === 'db' && d.doc.kind === 'StatefulSet')!.doc;
  assert.ok(!JSON.stringify(db).includes('KAFKA_'));
});

test('controllers: cert-manager and Strimzi as pinned HelmReleases that install their CRDs; Flux applies controllers, configs, apps in order', () => {
  const all = docs();
  const releases = all.filter((d) => d.doc.kind === 'HelmRelease').map((d) => d.doc);
  assert.deepEqual(
    releases.map((r) => [r.metadata.name, r.spec.chart.spec.chart, r.spec.chart.spec.version, r.spec.targetNamespace]),
    [
      ['cert-manager', 'cert-manager', 'v1.16.5', 'cert-manager'],
      ['strimzi', 'strimzi-kafka-operator', '0.45.2', 'strimzi'],
    ],
  );
  for (const r of releases) {
    assert.match(r.spec.chart.spec.version, /^v?\d+\.\d+\.\d+$/, 'an exact version, not a range');
    assert.equal(r.spec.install.crds, 'CreateReplace');
    assert.equal(r.spec.upgrade.crds, 'CreateReplace');
    assert.equal(r.spec.install.createNamespace, true);
    const repo = all.find((d) => d.doc.kind === 'HelmRepository' && d.doc.metadata.name === r.spec.chart.spec.sourceRef.name)!.doc;
    assert.equal(repo.metadata.namespace, r.metadata.namespace);
    assert.match(repo.spec.url, /^https:\/\//);
  }
  // the CRDs under test are the chart's: the same Strimzi version
  assert.ok(
    readFileSync(join(repoRoot, 'test', 'data', 'strimzi-0.45.2', '040-Crd-kafka.yaml'), 'utf8').includes('name: kafkas.kafka.strimzi.io'),
  );
  const flux = Object.fromEntries(all.filter((d) => d.doc.kind === 'Kustomization').map((d) => [d.doc.metadata.name, d.doc.spec]));
  assert.deepEqual(Object.keys(flux).sort(), ['apps', 'infra-configs', 'infra-controllers']);
  assert.equal(flux['infra-controllers'].dependsOn, undefined);
  assert.deepEqual(flux['infra-configs'].dependsOn, [{ name: 'infra-controllers' }]);
  assert.deepEqual(flux.apps.dependsOn, [{ name: 'infra-configs' }]);
  assert.equal(flux['infra-controllers'].wait, true, 'configs wait for the releases (and their CRDs) to be ready');
});

test("controllers: the values are ones the pinned charts read (cert-manager's values.schema.json, Strimzi's values.yaml)", async () => {
  const { Ajv } = await import('ajv');
  const releases = Object.fromEntries(
    docs()
      .filter((d) => d.doc.kind === 'HelmRelease')
      .map((d) => [d.doc.metadata.name, d.doc.spec]),
  );
  // cert-manager's chart schema refuses unknown keys (additionalProperties: false) and wrong types
  const schema = JSON.parse(readFileSync(join(repoRoot, 'test', 'data', 'cert-manager-v1.16.5', 'values.schema.json'), 'utf8'));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  assert.ok(validate(releases['cert-manager'].values), JSON.stringify(validate.errors));
  assert.ok(!validate({ ...releases['cert-manager'].values, crd: { enabled: true } }), 'a misspelt key is refused');
  assert.ok(!validate({ crds: { enabled: 'yes' } }), 'a wrong type is refused');
  assert.deepEqual(releases['cert-manager'].values, { crds: { enabled: true, keep: true } });
  // Strimzi's chart has no schema: every key set must be one its values.yaml declares, with the same type
  const defaults = parse(readFileSync(join(repoRoot, 'test', 'data', 'strimzi-0.45.2', 'values.yaml'), 'utf8')) as Doc;
  for (const [k, v] of Object.entries(releases.strimzi.values as Doc)) {
    assert.ok(k in defaults, `strimzi chart has no value ${k}`);
    assert.equal(typeof v, typeof defaults[k], k);
    assert.notEqual(v, defaults[k], `${k} is set to its default: drop it`);
  }
});

test('messaging: a client that keeps data (a StatefulSet) gets its connection too (it crashed check and render)', () => {
  const { plan } = loadVariant({
    template: 'k3s',
    change: (d) => {
      d.services.gateway.volumes = [{ name: 'gw-data', target: '/data' }];
    },
  });
  const gateway = renderAll(plan, 'k8s').find((f) => f.path.endsWith('/gateway.yaml'))!;
  const set = parseAllDocuments(gateway.contents)
    .map((d) => d.toJS() as Doc)
    .find((d) => d.kind === 'StatefulSet')!;
  const env = (set.spec.template.spec.containers[0].env as Array<{ name: string }>).map((e) => e.name);
  assert.ok(env.includes('KAFKA_BOOTSTRAP_SERVERS') && env.includes('KAFKA_PASSWORD_FILE'), env.join(','));
});

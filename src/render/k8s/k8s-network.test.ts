// The k8s target's NetworkPolicies, read back from the rendered tree: default deny, then
// exactly the edges of the plan (who reaches whom, on which port), per template.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { loadRenderer, renderAll } from '../index.js';
import type { Plan } from '../../plan/model.js';
import { hostNamespace, k8sComponents, k8sView, namespaceOfIn } from './index.js';
import { loadVariant, variants } from '../../../test/support/templates.js';

await loadRenderer('k8s');
const k8sVariants = [...variants, { id: 'k3s', template: 'k3s' }];

function render(id: string) {
  const { plan } = loadVariant(k8sVariants.find((v) => v.id === id)!);
  return { plan, files: renderAll(plan, 'k8s') };
}

type Doc = Record<string, any>;
const docsOf = (files: { path: string; contents: string }[]): Array<{ file: string; doc: Doc }> =>
  files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml') && f.path !== '.sops.yaml')
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => ({ file: f.path, doc: d.toJS() as Doc })));

/** A peer or a policy's pods by name: the wharf component, Strimzi's pod set; a pod outside the
 *  stack's namespace is written ns/name. */
function peerName(peer: Doc, policyNs: string, ns: string): string {
  const l = peer.podSelector?.matchLabels ?? {};
  const own =
    l['app.kubernetes.io/name'] ??
    l['strimzi.io/name'] ??
    (l['strimzi.io/kind'] && `${l['strimzi.io/kind']}`) ??
    (l['strimzi.io/cluster'] && `cluster:${l['strimzi.io/cluster']}`);
  const n = peer.namespaceSelector ? peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name'] : policyNs;
  return n === ns ? own : `${n}/${own}`;
}

/** Who may open a connection to whom, on which port, read from the rendered NetworkPolicies. */
function allowedIngress(docs: Doc[], ns: string): Set<string> {
  const out = new Set<string>();
  for (const p of docs.filter((d) => d.kind === 'NetworkPolicy')) {
    const to = peerName(p.spec, p.metadata.namespace, ns);
    for (const rule of p.spec.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        for (const port of rule.ports) out.add(`${peerName(peer, p.metadata.namespace, ns)}>${to}:${port.port}`);
      }
    }
  }
  return out;
}

/** Who may connect where by the egress rules (pod peers only), in the same notation. */
function allowedEgress(docs: Doc[], ns: string): Set<string> {
  const out = new Set<string>();
  for (const p of docs.filter((d) => d.kind === 'NetworkPolicy' && d.spec.podSelector.matchLabels)) {
    const from = peerName(p.spec, p.metadata.namespace, ns);
    for (const rule of p.spec.egress ?? []) {
      for (const peer of rule.to ?? []) {
        if (!peer.podSelector) continue;
        for (const port of rule.ports) out.add(`${from}>${peerName(peer, p.metadata.namespace, ns)}:${port.port}`);
      }
    }
  }
  return out;
}

/** The same edges, straight from the plan's view for K3s: dependsOn within a shared network,
 *  Prometheus scrapes and alerts, routes from the edge. */
function expectedIngress(input: Plan): Set<string> {
  const plan = k8sView(input);
  const nsOf = namespaceOfIn(plan);
  const q = (name: string) => (nsOf(name) === plan.name ? name : `${nsOf(name)}/${name}`);
  const rendered = new Set(k8sComponents(plan).map((c) => c.name));
  const byName = new Map(plan.components.map((c) => [c.name, c]));
  const out = new Set<string>();
  for (const c of plan.components) {
    for (const d of c.dependsOn) {
      const t = byName.get(d.name)!;
      if (rendered.has(t.name) && t.port && t.networks.some((n) => c.networks.includes(n))) out.add(`${q(c.name)}>${q(t.name)}:${t.port}`);
    }
  }
  for (const j of plan.monitoring.scrapeJobs)
    if (rendered.has(j.component) && j.component !== 'prometheus') out.add(`prometheus>${q(j.component)}:${j.port}`);
  if (rendered.has('alertmanager')) out.add('prometheus>alertmanager:9093');
  for (const r of plan.routes) if (rendered.has(r.service)) out.add(`kube-system/traefik>${r.service}:${r.port}`);
  const m = plan.messaging;
  if (m) {
    for (const c of m.clients) out.add(`${c.service}>${m.cluster}-kafka:${c.port}`);
    // Strimzi's own connections, as its generated policy has them (KafkaCluster.generateNetworkPolicy, 0.45.2)
    for (const e of [
      `cluster:${m.cluster}>${m.cluster}-kafka:9090`,
      `cluster:${m.cluster}>${m.cluster}-kafka:9091`,
      `strimzi/cluster-operator>${m.cluster}-kafka:9091`,
      `strimzi/cluster-operator>${m.cluster}-kafka:8443`,
    ])
      out.add(e);
  }
  return out;
}

test("k8s network policies of api: default deny, and exactly the plan's edges", () => {
  const { plan, files } = render('api');
  const docs = docsOf(files).map((d) => d.doc);
  const deny = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'default-deny')!;
  assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  assert.deepEqual([...allowedIngress(docs, plan.name)].sort(), [...expectedIngress(plan)].sort());
  // the database answers only the API, its exporter and the backup job, on 5432
  assert.deepEqual([...allowedIngress(docs, plan.name)].filter((e) => e.includes('>db:')).sort(), [
    'api>db:5432',
    'backup>db:5432',
    'db-exporter>db:5432',
  ]);
  // the edge reaches only routed services; no database or cache reaches the internet
  assert.deepEqual(
    [...allowedIngress(docs, plan.name)].filter((e) => e.startsWith('kube-system/')),
    ['kube-system/traefik>api:3000', 'kube-system/traefik>grafana:3000'],
  );
  // monitoring: Prometheus reaches what it scrapes and Alertmanager; only Grafana reaches Prometheus
  assert.deepEqual([...allowedIngress(docs, plan.name)].filter((e) => e.startsWith('prometheus>')).sort(), [
    'prometheus>alertmanager:9093',
    'prometheus>api:3000',
    'prometheus>backup-metrics:9100',
    'prometheus>cache-exporter:9121',
    'prometheus>db-exporter:9187',
    'prometheus>grafana:3000',
    'prometheus>shop-host/node-exporter:9100',
  ]);
  assert.deepEqual(
    [...allowedIngress(docs, plan.name)].filter((e) => e.includes('>prometheus:')),
    ['grafana>prometheus:9090'],
  );
  // every pod-to-pod egress is the other end of an ingress allow, and the reverse
  assert.deepEqual(
    [...allowedEgress(docs, plan.name)].sort(),
    [...allowedIngress(docs, plan.name)].filter((e) => !e.startsWith('kube-system/')).sort(),
  );
  // out of the cluster network: Prometheus only to the API server and the kubelets, by port;
  // the backup CronJobs, datastores and exporters not at all
  const policy = (n: string) => docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === `allow-${n}`)!;
  assert.deepEqual(
    policy('prometheus').spec.egress.filter((e: Doc) => e.to.some((t: Doc) => t.ipBlock)),
    [
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
        ports: [
          { protocol: 'TCP', port: 6443 },
          { protocol: 'TCP', port: 10250 },
        ],
      },
    ],
  );
  for (const n of ['backup', 'backup-metrics', 'db-exporter', 'cache-exporter', 'alertmanager']) {
    assert.ok(!policy(n).spec.egress.some((e: Doc) => e.to?.some((t: Doc) => t.ipBlock)), `${n} reaches out of the cluster network`);
  }
  // node-exporter lives in the host namespace, with its own default deny
  const host = docs.filter((d) => d.kind === 'NetworkPolicy' && d.metadata.namespace === hostNamespace(plan)).map((d) => d.metadata.name);
  assert.deepEqual(host, ['default-deny', 'allow-dns', 'allow-node-exporter']);
  for (const p of docs.filter(
    (d) => d.kind === 'NetworkPolicy' && ['db', 'cache'].includes(d.spec.podSelector.matchLabels?.['app.kubernetes.io/name']),
  )) {
    assert.ok(!(p.spec.egress ?? []).some((e: Doc) => e.to?.some((t: Doc) => t.ipBlock)), `${p.metadata.name} lets a datastore out`);
  }
});

test("k8s network policies of haproxy-mysql: exactly the plan's edges, MySQL only from its users", () => {
  const { plan, files } = render('haproxy-mysql');
  const docs = docsOf(files).map((d) => d.doc);
  assert.deepEqual([...allowedIngress(docs, plan.name)].sort(), [...expectedIngress(plan)].sort());
  assert.deepEqual([...allowedIngress(docs, plan.name)].filter((e) => e.includes('>db:')).sort(), [
    'backup>db:3306',
    'db-exporter>db:3306',
    'web>db:3306',
  ]);
});

test("k8s network policies of k3s: exactly the plan's edges, the brokers only from the services that use messaging", () => {
  const { plan, files } = render('k3s');
  const docs = docsOf(files).map((d) => d.doc);
  const ingress = allowedIngress(docs, plan.name);
  assert.deepEqual([...ingress].sort(), [...expectedIngress(plan)].sort());
  // the listener answers exactly the three APIs; nothing else of the stack reaches a broker
  assert.deepEqual([...ingress].filter((e) => e.includes('>events-kafka:9093')).sort(), [
    'enrichment>events-kafka:9093',
    'gateway>events-kafka:9093',
    'generation>events-kafka:9093',
  ]);
  assert.deepEqual(
    [...ingress]
      .filter((e) => e.includes('>events-kafka:'))
      .map((e) => e.split('>')[0])
      .filter((f) => !['enrichment', 'gateway', 'generation', 'cluster:events', 'strimzi/cluster-operator'].includes(f!)),
    [],
  );
  // and each API may open exactly that connection: egress mirrors ingress
  const egress = allowedEgress(docs, plan.name);
  for (const svc of ['enrichment', 'gateway', 'generation'])
    assert.ok(egress.has(`${svc}>events-kafka:9093`), `${svc} may reach the brokers`);
  assert.deepEqual([...egress].filter((e) => e.includes('>events-kafka:')).sort(), [
    'enrichment>events-kafka:9093',
    'events-entity-operator>events-kafka:9091',
    'events-kafka>events-kafka:9090',
    'events-kafka>events-kafka:9091',
    'gateway>events-kafka:9093',
    'generation>events-kafka:9093',
  ]);
  // the database still answers only its users
  assert.deepEqual([...ingress].filter((e) => e.includes('>db:')).sort(), [
    'backup>db:5432',
    'db-exporter>db:5432',
    'enrichment>db:5432',
    'gateway>db:5432',
    'generation>db:5432',
  ]);
  // Strimzi generates no policies of its own: the tree's are the only ones
  const release = docs.find((d) => d.kind === 'HelmRelease' && d.metadata.name === 'strimzi')!;
  assert.equal(release.spec.values.generateNetworkPolicy, false);
  const kafka = docs.find((d) => d.kind === 'Kafka')!;
  assert.deepEqual(
    kafka.spec.kafka.listeners[0].networkPolicyPeers.map((p: Doc) => p.podSelector.matchLabels['app.kubernetes.io/name']),
    ['enrichment', 'gateway', 'generation'],
  );
});

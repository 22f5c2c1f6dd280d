// The plan's messaging as Strimzi objects (KRaft, node pools), the NetworkPolicies that keep
// the brokers private, and what a client service needs to connect (env and mounted files).
//
// The brokers' policy mirrors the one Strimzi itself generates (KafkaCluster.generateNetworkPolicy
// in 0.45.2), with the listeners open only to the services that use messaging; the operator's
// own generation is switched off (controllers.ts), so this tree is the one place that decides.
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1';
import type { Messaging, Plan } from '../../plan/model.js';
import { cpuQuantity, selectorOf, sortedKeys, type K8sObject } from './objects.js';
import { CLUSTER_LABEL, Kafka, KafkaNodePool, KafkaTopic, KafkaUser } from './strimzi/objects.js';
import type { KafkaUserSpec } from './strimzi/types.js';

/** Strimzi's fixed ports: KRaft control plane, replication (also the operators'), the operator's agent. */
export const KAFKA_PORTS = { controlPlane: 9090, replication: 9091, agent: 8443 } as const;
export const STRIMZI_NAMESPACE = 'strimzi';
/** Where a client service finds its password (or certificate) and the cluster CA. */
export const KAFKA_CLIENT_DIR = '/run/kafka';

export const brokerName = (m: Messaging) => `${m.cluster}-kafka`;
export const entityOperatorName = (m: Messaging) => `${m.cluster}-entity-operator`;
export const bootstrapAddress = (m: Messaging, port: number) => `${m.cluster}-kafka-bootstrap:${port}`;
export const brokerCount = (m: Messaging) => m.nodePools.filter((p) => p.roles.includes('broker')).reduce((n, p) => n + p.replicas, 0);

/** Pods of the Kafka cluster (every node pool), as Strimzi labels them. */
export const brokerSelector = (m: Messaging) => ({
  [CLUSTER_LABEL]: m.cluster,
  'strimzi.io/kind': 'Kafka',
  'strimzi.io/name': brokerName(m),
});
const entityOperatorSelector = (m: Messaging) => ({
  [CLUSTER_LABEL]: m.cluster,
  'strimzi.io/kind': 'Kafka',
  'strimzi.io/name': entityOperatorName(m),
});
const clusterPeer = (m: Messaging): INetworkPolicyPeer => ({ podSelector: { matchLabels: { [CLUSTER_LABEL]: m.cluster } } });
export const OPERATOR_PEER: INetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': STRIMZI_NAMESPACE } },
  podSelector: { matchLabels: { 'strimzi.io/kind': 'cluster-operator' } },
};

/** KRaft metadata version of a Kafka release: 3.9.0 -> 3.9-IV0 (pinned, so an upgrade is a spec change). */
export const metadataVersion = (v: string) => `${v.split('.').slice(0, 2).join('.')}-IV0`;

export function messagingObjects(plan: Plan, m: Messaging, namespace: string, storageClass: string): K8sObject[] {
  const brokers = brokerCount(m);
  // Strimzi copies these onto its pods, which carry its own app.kubernetes.io/name (kafka, entity-operator)
  const labels = (extra: Record<string, string> = {}) =>
    sortedKeys({ 'app.kubernetes.io/part-of': plan.name, 'app.kubernetes.io/managed-by': 'wharf', ...extra });
  const clientsOf = (listener: string) =>
    m.clients
      .filter((c) => c.listener === listener)
      .map((c): INetworkPolicyPeer => ({ podSelector: { matchLabels: selectorOf(c.service) } }));
  const out: K8sObject[] = [
    new Kafka(
      {
        name: m.cluster,
        namespace,
        labels: labels(),
        annotations: { 'strimzi.io/kraft': 'enabled', 'strimzi.io/node-pools': 'enabled' },
      },
      {
        kafka: {
          version: m.version,
          metadataVersion: metadataVersion(m.version),
          listeners: m.listeners.map((l) => ({
            name: l.name,
            port: l.port,
            type: 'internal' as const,
            tls: l.tls,
            authentication: { type: l.authentication },
            // what Strimzi would open the listener to, should its own policy generation be turned back on
            ...(clientsOf(l.name).length ? { networkPolicyPeers: clientsOf(l.name) } : {}),
          })),
          authorization: { type: 'simple' },
          config: sortedKeys({
            'auto.create.topics.enable': false,
            'default.replication.factor': Math.min(3, brokers),
            'min.insync.replicas': Math.min(2, brokers),
            'offsets.topic.replication.factor': Math.min(3, brokers),
            'transaction.state.log.min.isr': Math.min(2, brokers),
            'transaction.state.log.replication.factor': Math.min(3, brokers),
          }),
        },
        entityOperator: {
          topicOperator: { resources: { limits: { cpu: '500m', memory: '512Mi' }, requests: { cpu: '100m', memory: '256Mi' } } },
          userOperator: { resources: { limits: { cpu: '500m', memory: '512Mi' }, requests: { cpu: '100m', memory: '256Mi' } } },
        },
      },
    ),
  ];
  for (const p of m.nodePools) {
    const resources = { cpu: cpuQuantity(p.resources.cpus), memory: p.resources.memory.toQuantity() };
    out.push(
      new KafkaNodePool(
        { name: p.name, namespace, labels: labels({ [CLUSTER_LABEL]: m.cluster }) },
        {
          replicas: p.replicas,
          roles: p.roles,
          resources: { limits: resources, requests: resources },
          // deleteClaim false: the data outlives a deleted pool; KRaft metadata shares the one volume
          storage: {
            type: 'jbod',
            volumes: [
              {
                id: 0,
                type: 'persistent-claim',
                size: p.storage.size,
                class: p.storage.class ?? storageClass,
                deleteClaim: false,
                kraftMetadata: 'shared',
              },
            ],
          },
        },
      ),
    );
  }
  for (const t of m.topics) {
    out.push(
      new KafkaTopic(
        { name: t.name, namespace, labels: labels({ [CLUSTER_LABEL]: m.cluster }) },
        { partitions: t.partitions, replicas: t.replicas, config: sortedKeys(t.config) },
      ),
    );
  }
  for (const u of m.users)
    out.push(new KafkaUser({ name: u.name, namespace, labels: labels({ [CLUSTER_LABEL]: m.cluster }) }, userSpec(u)));
  return out;
}

/** Simple ACLs: read = Read+Describe of the topic and its consumer groups (named after the user); write = Write+Describe. */
function userSpec(u: Messaging['users'][number]): KafkaUserSpec {
  const topic = (name: string, operations: Array<'Read' | 'Write' | 'Describe'>) => ({
    type: 'allow' as const,
    resource: { type: 'topic' as const, name, patternType: 'literal' as const },
    operations,
    host: '*',
  });
  const acls: NonNullable<KafkaUserSpec['authorization']>['acls'] = [
    ...u.read.map((t) => topic(t, ['Describe', 'Read'])),
    ...u.write.map((t) => topic(t, ['Describe', 'Write'])),
  ];
  if (u.read.length)
    acls.push({ type: 'allow', resource: { type: 'group', name: u.name, patternType: 'prefix' }, operations: ['Read'], host: '*' });
  return { authentication: { type: u.authentication }, authorization: { type: 'simple', acls } };
}

/** The brokers answer their clients on the listeners, each other and the operators on Strimzi's ports; nothing else. */
export function messagingPolicies(m: Messaging, namespace: string): K8sObject[] {
  const brokers = brokerSelector(m);
  const toBrokers = (port: number) => ({ to: [{ podSelector: { matchLabels: brokers } }], ports: [{ protocol: 'TCP' as const, port }] });
  return [
    new NetworkPolicy({
      metadata: { name: `allow-${brokerName(m)}`, namespace },
      spec: {
        podSelector: { matchLabels: brokers },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [clusterPeer(m)], ports: [{ protocol: 'TCP', port: KAFKA_PORTS.controlPlane }] },
          { from: [OPERATOR_PEER, clusterPeer(m)], ports: [{ protocol: 'TCP', port: KAFKA_PORTS.replication }] },
          { from: [OPERATOR_PEER], ports: [{ protocol: 'TCP', port: KAFKA_PORTS.agent }] },
          ...m.listeners.flatMap((l) => {
            const from = m.clients
              .filter((c) => c.listener === l.name)
              .map((c) => ({ podSelector: { matchLabels: selectorOf(c.service) } }));
            return from.length ? [{ from, ports: [{ protocol: 'TCP' as const, port: l.port }] }] : [];
          }),
        ],
        egress: [toBrokers(KAFKA_PORTS.controlPlane), toBrokers(KAFKA_PORTS.replication)],
      },
    }),
    // The topic and user operators reconcile KafkaTopics and KafkaUsers: the brokers' admin port and the API server.
    new NetworkPolicy({
      metadata: { name: `allow-${entityOperatorName(m)}`, namespace },
      spec: {
        podSelector: { matchLabels: entityOperatorSelector(m) },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        // K3s's API server listens on the servers' own addresses (6443); 443 is the kubernetes Service
        egress: [
          toBrokers(KAFKA_PORTS.replication),
          {
            ports: [
              { protocol: 'TCP', port: 443 },
              { protocol: 'TCP', port: 6443 },
            ],
          },
        ],
      },
    }),
  ];
}

/**
 * A client service's connection: the bootstrap address and how to authenticate, as env; the
 * user's Strimzi-generated Secret and the cluster CA as files (never a value in the tree).
 */
export function connectClient(d: IDeployment | IStatefulSet, m: Messaging, client: Messaging['clients'][number]): void {
  const user = m.users.find((u) => u.name === client.user)!;
  const pod = d.spec!.template.spec!;
  const c = pod.containers[0]!;
  const scram = user.authentication === 'scram-sha-512';
  const protocol = scram ? (client.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT') : 'SSL';
  const files: Record<string, string> = scram
    ? { KAFKA_PASSWORD_FILE: 'password' }
    : { KAFKA_CERT_FILE: 'user.crt', KAFKA_KEY_FILE: 'user.key' };
  if (client.tls) files.KAFKA_CA_FILE = 'ca.crt';
  const env = sortedKeys({
    KAFKA_BOOTSTRAP_SERVERS: bootstrapAddress(m, client.port),
    KAFKA_SECURITY_PROTOCOL: protocol,
    ...(scram ? { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_USERNAME: user.name } : {}),
    KAFKA_GROUP_ID: user.name,
    KAFKA_TOPICS_READ: user.read.join(','),
    KAFKA_TOPICS_WRITE: user.write.join(','),
    ...Object.fromEntries(Object.entries(files).map(([k, f]) => [k, `${KAFKA_CLIENT_DIR}/${f}`])),
  });
  c.env = [...(c.env ?? []).filter((e) => !(e.name in env)), ...Object.entries(env).map(([name, value]) => ({ name, value }))].sort(
    (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const userKeys = scram ? ['password'] : ['user.crt', 'user.key'];
  pod.volumes = [
    ...(pod.volumes ?? []),
    {
      name: 'kafka',
      projected: {
        defaultMode: 0o440,
        sources: [
          { secret: { name: user.name, items: userKeys.map((k) => ({ key: k, path: k })) } },
          ...(client.tls ? [{ secret: { name: `${m.cluster}-cluster-ca-cert`, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] : []),
        ],
      },
    },
  ];
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'kafka', mountPath: KAFKA_CLIENT_DIR, readOnly: true }];
}

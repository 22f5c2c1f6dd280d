// The plan's networks as NetworkPolicies: everything in the namespace is denied both ways,
// then each component gets exactly the connections the plan draws:
//   - a dependant -> its dependency (dependsOn), when the two share a plan network
//     (so a database answers only the services that use it);
//   - the edge (K3s's Traefik in kube-system) -> each routed service on its route port;
//   - Prometheus -> every component it scrapes, on the metrics port (monitoring network),
//     and -> Alertmanager; out of the cluster network only to the API server (service
//     discovery) and the kubelets (cAdvisor), by port: the plan does not know node addresses;
//   - a service that uses messaging -> the Kafka brokers, on its listener (messaging.ts adds
//     the brokers' own policy: each other and the Strimzi operators on Strimzi's ports);
//   - a component on a network that is not internal (edge) -> the internet, never the
//     private ranges the cluster lives in.
// DNS to kube-system is the only other thing every pod may reach. A component in another
// namespace (node-exporter, in the host namespace) is named by namespace and pod labels.
import { Namespace } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { INetworkPolicyEgressRule, INetworkPolicyIngressRule, INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1';
import type { Component, Plan } from '../../plan/model.js';
import { byCodeUnit } from '../../plan/sort.js';
import { selectorOf, type K8sObject } from './objects.js';
import { KUBELET_JOB } from './view.js';
import { brokerName, brokerSelector, messagingPolicies } from './messaging.js';

export const TRAEFIK_PEER: INetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
};
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'];
/** K3s's API server (what the `kubernetes` Service forwards to) and the kubelets. */
export const API_SERVER_PORT = 6443;
export const KUBELET_PORT = 10250;

export interface Edge {
  from: string;
  to: string;
  port: number;
  why: 'depends-on' | 'scrape' | 'alerts' | 'messaging';
}

const shareNetwork = (a: Component, b: Component) => a.networks.some((n) => b.networks.includes(n));

/** Every pod-to-pod connection the plan allows, sorted; the policies are rendered from this list. */
export function planEdges(plan: Plan): Edge[] {
  const byName = new Map(plan.components.map((c) => [c.name, c]));
  const edges: Edge[] = [];
  for (const from of plan.components) {
    // The plan's edge proxy is K3s's Traefik here: its connections are the routes (edgePorts).
    if (from.role === 'proxy') continue;
    for (const d of from.dependsOn) {
      const to = byName.get(d.name);
      if (to?.port && shareNetwork(from, to)) edges.push({ from: from.name, to: to.name, port: to.port, why: 'depends-on' });
    }
  }
  const prometheus = plan.components.find((c) => c.role === 'prometheus');
  if (prometheus && plan.monitoring.enabled) {
    for (const j of plan.monitoring.scrapeJobs) {
      const to = byName.get(j.component);
      if (!to || to === prometheus || !to.networks.includes('monitoring')) continue;
      edges.push({ from: prometheus.name, to: to.name, port: j.port, why: 'scrape' });
    }
    const am = plan.components.find((c) => c.role === 'alertmanager');
    if (am?.port && plan.monitoring.present.alertmanager) edges.push({ from: prometheus.name, to: am.name, port: am.port, why: 'alerts' });
  }
  // the brokers are Strimzi's pods, not a plan component: their edge names the Kafka cluster's pods
  for (const c of plan.messaging?.clients ?? [])
    edges.push({ from: c.service, to: brokerName(plan.messaging!), port: c.port, why: 'messaging' });
  const seen = new Set<string>();
  return edges
    .filter((e) => {
      const k = `${e.from}>${e.to}:${e.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => byCodeUnit(a.to, b.to) || byCodeUnit(a.from, b.from) || a.port - b.port);
}

/** Routed services and their ports, as the edge reaches them. */
export function edgePorts(plan: Plan, rendered: Set<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of plan.routes) {
    if (!rendered.has(r.service)) continue;
    out.set(
      r.service,
      [...new Set([...(out.get(r.service) ?? []), r.port])].sort((a, b) => a - b),
    );
  }
  return out;
}

/** Baseline is enforced (restricted reported: datastore images may need a capability); the host
 *  namespace of node agents is privileged: they read the host's /proc, /sys and / by hostPath. */
export function namespaceObject(plan: Plan, namespace: string, enforce: 'baseline' | 'privileged' = 'baseline'): K8sObject {
  return new Namespace({
    metadata: {
      name: namespace,
      labels: {
        'app.kubernetes.io/part-of': plan.name,
        'pod-security.kubernetes.io/enforce': enforce,
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    },
  });
}

/** Default-deny both ways and DNS for every pod of a namespace. */
function baseline(namespace: string): K8sObject[] {
  return [
    new NetworkPolicy({ metadata: { name: 'default-deny', namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }),
    new NetworkPolicy({
      metadata: { name: 'allow-dns', namespace },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    }),
  ];
}

/**
 * The policies of every namespace the components live in (`namespaceOf`; all in `namespace`
 * by default), in order: each namespace's baseline, then one policy per rendered component.
 */
export function networkPolicies(
  plan: Plan,
  namespace: string,
  rendered: Set<string>,
  namespaceOf: (component: string) => string = () => namespace,
): K8sObject[] {
  const edges = planEdges(plan);
  const edge = edgePorts(plan, rendered);
  const components = [...plan.components].filter((c) => rendered.has(c.name)).sort((a, b) => byCodeUnit(a.name, b.name));
  const namespaces = [...new Set([namespace, ...components.map((c) => namespaceOf(c.name))])];
  const out: K8sObject[] = [];
  for (const ns of namespaces) {
    out.push(...baseline(ns));
    for (const c of components.filter((x) => namespaceOf(x.name) === ns)) out.push(componentPolicy(plan, c, ns, edges, edge, namespaceOf));
  }
  if (plan.messaging) out.push(...messagingPolicies(plan.messaging, namespace));
  return out;
}

function componentPolicy(
  plan: Plan,
  c: Component,
  namespace: string,
  edges: Edge[],
  edge: Map<string, number[]>,
  namespaceOf: (component: string) => string,
): K8sObject {
  // a peer in another namespace is named by its namespace too (a bare podSelector means "this namespace")
  const peer = (name: string): INetworkPolicyPeer => ({
    ...(namespaceOf(name) === namespace
      ? {}
      : { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespaceOf(name) } } }),
    podSelector: { matchLabels: selectorOf(name) },
  });
  const ingress: INetworkPolicyIngressRule[] = [];
  for (const port of [...new Set(edges.filter((e) => e.to === c.name).map((e) => e.port))].sort((a, b) => a - b)) {
    const from = [...new Set(edges.filter((e) => e.to === c.name && e.port === port).map((e) => e.from))];
    ingress.push({ from: from.map(peer), ports: [{ protocol: 'TCP', port }] });
  }
  for (const port of edge.get(c.name) ?? []) ingress.push({ from: [TRAEFIK_PEER], ports: [{ protocol: 'TCP', port }] });
  const egress: INetworkPolicyEgressRule[] = edges
    .filter((e) => e.from === c.name)
    .map((e) => ({
      to: [e.why === 'messaging' ? { podSelector: { matchLabels: brokerSelector(plan.messaging!) } } : peer(e.to)],
      ports: [{ protocol: 'TCP', port: e.port }],
    }));
  if (c.role === 'prometheus') {
    const kubelet = plan.monitoring.scrapeJobs.some((j) => j.job === KUBELET_JOB);
    egress.push({
      to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
      ports: [{ protocol: 'TCP', port: API_SERVER_PORT }, ...(kubelet ? [{ protocol: 'TCP' as const, port: KUBELET_PORT }] : [])],
    });
  }
  const outside = c.networks.some((n) => !plan.networks.find((x) => x.name === n)?.internal);
  if (outside) egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_RANGES } }] });
  return new NetworkPolicy({
    metadata: { name: `allow-${c.name}`, namespace },
    spec: { podSelector: { matchLabels: selectorOf(c.name) }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
  });
}

// What the edge does with a service's replicas, read and steered through HAProxy's runtime
// API: used by rollouts (admit the new, drain the old) and by `up` (done only when the edge
// routes to every healthy replica). Slots are server-template slots (render/haproxy).
import type { OpsContext } from '../engine/context.js';
import type { ContainerRef } from '../engine/docker.js';
import { askEdge, runtime, serversOf, type EdgeServer } from '../engine/haproxy-runtime.js';
import type { ContainerState } from '../engine/live.js';
import type { Runner } from '../engine/run.js';
import type { Plan } from '../plan/model.js';

/** admin-state bits of `show servers state` we set and clear */
export const FORCED_MAINT = 0x01;
export const FORCED_DRAIN = 0x08;

export interface Edge {
  proxy?: ContainerRef;
  /** the node that proxy runs on (multi-node targets) */
  node?: string;
  /** the edge network's engine name: replicas' addresses are read there */
  network: string;
  /** the name the edge's slots resolve to reach every replica (compose: the service; swarm: tasks.<service>) */
  replicas: string;
  /** the edge is HAProxy, running, and routes to the service */
  runtimeApi: boolean;
}

/** Services behind an edge route. */
export function routedServices(plan: Plan): Set<string> {
  return new Set(plan.routes.filter((r) => r.service !== plan.proxy.component).map((r) => r.service));
}

/** The edge in front of a service, through its first running proxy (one host: the only one). */
export function edgeOf(ctx: OpsContext, service: string, live: ContainerState[]): Edge {
  return (
    edgesOf(ctx, service, live)[0] ?? {
      network: ctx.engine.networkName('edge'),
      replicas: ctx.engine.addressing.replicas(service),
      runtimeApi: false,
    }
  );
}

/** Every running proxy in front of a service, each with its own view (Swarm: one per node). */
export function edgesOf(ctx: OpsContext, service: string, live: ContainerState[]): Edge[] {
  const plan = ctx.plan;
  if (!routedServices(plan).has(service)) return [];
  return live
    .filter((c) => c.service === plan.proxy.component && c.state === 'running')
    .map((p) => ({
      proxy: { id: p.id, name: p.name, host: p.host },
      ...(p.node ? { node: p.node } : {}),
      network: ctx.engine.networkName('edge'),
      replicas: ctx.engine.addressing.replicas(service),
      runtimeApi: plan.proxy.kind === 'haproxy',
    }));
}

export async function edgeServers(runner: Runner, edge: Edge): Promise<EdgeServer[]> {
  const [st, stat] = await Promise.all([askEdge(runner, runtime.serversState(edge.proxy!)), askEdge(runner, runtime.stat(edge.proxy!))]);
  return serversOf(edge.replicas, st.stdout, stat.stdout);
}

export const addrOn = (c: ContainerState | undefined, network: string): string => c?.networks.find((n) => n.name === network)?.ip ?? '';

/** Every address is UP (op state 2, no maintenance or drain bit) in every backend routing to the service
 *  (no slot resolving the service at all is not "admitted": that edge routes to none of them). */
export function admitted(servers: EdgeServer[], ips: string[]): boolean {
  const backends = new Set(servers.map((x) => x.backend));
  return (
    backends.size > 0 &&
    ips.every(
      (ip) =>
        !!ip && [...backends].every((b) => servers.some((x) => x.backend === b && x.addr === ip && x.opState === 2 && x.adminState === 0)),
    )
  );
}

export const slotKey = (x: EdgeServer): string => `${x.backend}/${x.server}`;

/** Slots in forced maintenance that hold one of these (healthy) addresses are set ready; returns them. */
export async function readySlotsOf(runner: Runner, edge: Edge, servers: EdgeServer[], ips: string[]): Promise<EdgeServer[]> {
  const out: EdgeServer[] = [];
  for (const x of servers) {
    if (!x.addr || !ips.includes(x.addr) || (x.adminState & FORCED_MAINT) === 0) continue;
    await askEdge(runner, runtime.setState(edge.proxy!, x.backend, x.server, 'ready'));
    out.push(x);
  }
  return out;
}

export interface EdgeLag {
  service: string;
  /** the proxy container that lags, and its node on a multi-node target */
  edge: string;
  node?: string;
  /** healthy running replicas, and how many of them that edge routes to */
  healthy: number;
  admitted: number;
}

/** "the edge", or "the edge on n2" when there is one per node */
export const edgeWhere = (l: EdgeLag): string => `the edge${l.node ? ` on ${l.node}` : ''}`;

/**
 * Routed services whose healthy replicas an edge does not all route to yet (HAProxy: discovery
 * by DNS and its own checks lag Docker's). Every running proxy is asked: on Swarm each node's
 * edge resolves and checks the tasks itself, and a client may land on any of them. A slot an
 * interrupted rollout left in maintenance while it holds a healthy replica is set ready: `up`
 * converges to "every healthy replica serves, through every edge".
 */
export async function edgeLag(
  ctx: OpsContext,
  runner: Runner,
  containers: ContainerState[],
  onFix?: (line: string) => void,
  only?: string[],
): Promise<EdgeLag[]> {
  const services = [...routedServices(ctx.plan)].sort().filter((s) => !only || only.includes(s));
  // every service and every edge asked at once: each answer is independent of the others
  const lags = await Promise.all(
    services.map(async (service) => {
      const edges = edgesOf(ctx, service, containers).filter((e) => e.runtimeApi);
      if (!edges.length) return [];
      // every edge of a target sits on the same edge network: the replicas' addresses there, once
      const ips = containers
        .filter((c) => c.service === service && c.state === 'running' && (c.health === 'healthy' || c.health === 'none'))
        .map((c) => addrOn(c, edges[0]!.network))
        .filter(Boolean);
      const perEdge = await Promise.all(
        edges.map(async (edge): Promise<EdgeLag | undefined> => {
          const servers = await edgeServers(runner, edge);
          for (const x of await readySlotsOf(runner, edge, servers, ips))
            onFix?.(`${slotKey(x)} (${service}) was left in maintenance: set ready`);
          const n = ips.filter((ip) => admitted(servers, [ip])).length;
          return n < ips.length
            ? {
                service,
                edge: edge.proxy!.name ?? edge.proxy!.id,
                ...(edge.node ? { node: edge.node } : {}),
                healthy: ips.length,
                admitted: n,
              }
            : undefined;
        }),
      );
      return perEdge.filter((l): l is EdgeLag => !!l);
    }),
  );
  return lags.flat();
}

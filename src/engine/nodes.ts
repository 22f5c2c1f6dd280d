// The nodes of a multi-node target, read from a manager (`docker node inspect`), and how
// wharf reaches each node's own engine: exec, logs and container state are per node.
import { byCodeUnit } from '../plan/sort.js';
import { parseDockerHost } from '../spec/grammar.js';

export interface NodeState {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  /** active | pause | drain */
  availability: string;
  /** ready | down | unknown | disconnected */
  state: string;
  /** the address the node advertises to the cluster */
  addr: string;
  leader: boolean;
  /** managers: reachable | unreachable | unknown */
  reachability?: string;
  labels: Record<string, string>;
  engineVersion: string;
  /** the DOCKER_HOST that reaches this node's engine; undefined when it cannot be derived */
  dockerHost?: string;
}

interface NodeInspect {
  ID: string;
  Spec: { Role: string; Availability: string; Labels?: Record<string, string> | null };
  Description: { Hostname: string; Engine?: { EngineVersion?: string } };
  Status: { State: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

export function parseNodeInspect(json: string): Omit<NodeState, 'dockerHost'>[] {
  return (JSON.parse(json) as NodeInspect[])
    .map((n) => ({
      id: n.ID,
      hostname: n.Description.Hostname,
      role: n.Spec.Role === 'manager' ? ('manager' as const) : ('worker' as const),
      availability: n.Spec.Availability,
      state: n.Status.State,
      // A manager's Status.Addr can read 0.0.0.0 when it listens on all addresses: its Raft address is the real one.
      addr: (n.Status.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : n.ManagerStatus?.Addr?.replace(/:\d+$/, '')) ?? '',
      leader: n.ManagerStatus?.Leader === true,
      ...(n.ManagerStatus?.Reachability ? { reachability: n.ManagerStatus.Reachability } : {}),
      labels: { ...(n.Spec.Labels ?? {}) },
      engineVersion: n.Description.Engine?.EngineVersion ?? '',
    }))
    .sort((a, b) => byCodeUnit(a.hostname, b.hostname));
}

/**
 * A node's engine, reached the way the manager is: tcp://manager:2375 -> tcp://<addr>:2375,
 * ssh://user@manager:22 -> ssh://user@<addr>:22. A declared dockerHost wins; a unix socket
 * reaches only the node it is on, so other nodes stay unreachable (undefined).
 */
export function nodeDockerHost(addr: string, manager: string | undefined, declared?: string): string | undefined {
  if (declared) return declared;
  if (!manager || !addr) return undefined;
  const m = parseDockerHost(manager);
  if (!m || m.scheme === 'unix') return undefined;
  const host = addr.includes(':') ? `[${addr}]` : addr;
  return `${m.scheme}://${m.user ? `${m.user}@` : ''}${host}${m.port !== undefined ? `:${m.port}` : ''}`;
}

/** How many managers may be lost before the swarm stops accepting changes (Raft majority). */
export function faultTolerance(managers: number): number {
  return managers > 0 ? Math.floor((managers - 1) / 2) : 0;
}

// Health as ops read it from one live state: per service, the replicas wanted, running and
// healthy, and the name of its state. Shared by up, status, doctor and restores (it sits
// below all of them: none imports another for it).
import { createServer } from 'node:net';
import { summarize } from '../engine/docker-engine.js';
import type { LiveState } from '../engine/engine.js';
import type { ContainerState } from '../engine/live.js';
import type { NodeState } from '../engine/nodes.js';
import type { Plan } from '../plan/model.js';

export type ServiceStateName = 'healthy' | 'starting' | 'unhealthy' | 'stopped' | 'missing';

export interface ServiceHealth {
  service: string;
  role: string;
  desired: number;
  running: number;
  healthy: number;
  starting: number;
  unhealthy: number;
  state: ServiceStateName;
}

/** Desired vs live replicas per plan component. Services without a healthcheck count as healthy when running.
 *  On several nodes a component placed on every node wants one replica per schedulable node. */
export function serviceHealth(plan: Plan, containers: ContainerState[], nodes: NodeState[] = []): ServiceHealth[] {
  return summarize(plan.components, containers, nodes).map((s, i) => {
    const running = s.containers.filter((x) => x.state === 'running');
    const starting = running.filter((x) => x.health === 'starting').length;
    const unhealthy = running.filter((x) => x.health === 'unhealthy').length;
    let state: ServiceStateName;
    if (s.containers.length === 0) state = 'missing';
    else if (s.healthy >= s.desired && s.running === s.healthy) state = 'healthy';
    else if (unhealthy > 0) state = 'unhealthy';
    else if (s.running === 0) state = 'stopped';
    else state = 'starting';
    return { service: s.service, role: plan.components[i]!.role, desired: s.desired, running: s.running, healthy: s.healthy, starting, unhealthy, state };
  });
}

/** The same, from one read of the target. */
export function healthOf(plan: Plan, live: Pick<LiveState, 'containers' | 'nodes'>): ServiceHealth[] {
  return serviceHealth(plan, live.containers, live.nodes);
}

const CRASH_RESTARTS = 3;

/** Every container restarted CRASH_RESTARTS times (one host), or as many new tasks failed since
 *  the deploy (a scheduler replaces a failed task with a new container instead of restarting it). */
export function crashLooping(cs: ContainerState[], since: number): boolean {
  if (!cs.length) return false;
  if (cs.every((c) => c.restartCount >= CRASH_RESTARTS)) return true;
  const failedSince = cs.filter((c) => c.state !== 'running' && c.exitCode !== 0 && Date.parse(c.startedAt) >= since - 1000);
  return failedSince.length >= CRASH_RESTARTS;
}

/** Whether this machine can bind the address now. */
export function portFree(host: string, port: number): Promise<{ free: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ free: false, error: e.code ?? e.message }));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve({ free: true })));
  });
}

// Health as ops read it from one live state: per service, the replicas wanted, running and
// healthy, and the name of its state. Shared by up, status, doctor and restores (it sits
// below all of them: none imports another for it).
import { createServer } from 'node:net';
import pLimit from 'p-limit';
import type { OpsContext } from '../engine/context.js';
import { OperationError } from '../errors.js';
import { summarize } from '../engine/docker-engine.js';
import type { LiveState } from '../engine/engine.js';
import type { Runner } from '../engine/run.js';
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
    return {
      service: s.service,
      role: plan.components[i]!.role,
      desired: s.desired,
      running: s.running,
      healthy: s.healthy,
      starting,
      unhealthy,
      state,
    };
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

/**
 * Whether the kernel running a container can do what an encrypted overlay needs: IPsec ESP
 * with AES-GCM, which it lists in /proc/crypto as rfc4106(gcm(aes)) once asked for it (the
 * kernel's list, the same in every container). false: it cannot; undefined: cannot tell.
 */
export async function kernelHasIpsec(ctx: Pick<OpsContext, 'engine'>, runner: Runner, c: ContainerState): Promise<boolean | undefined> {
  const probe = ctx.engine.exec(
    c,
    ['sh', '-c', 'grep -c "rfc4106(gcm(aes))" /proc/crypto'],
    `look for the kernel's IPsec cipher${c.node ? ` on ${c.node}` : ''}`,
  );
  const r = await runner(probe, { reject: false });
  const n = r.stdout.trim();
  return /^\d+$/.test(n) ? n !== '0' : undefined;
}

/**
 * Nodes whose kernel cannot carry the encrypted overlays their tasks use to other nodes:
 * every packet between nodes on those networks is dropped although each service is healthy.
 * One running container per node is asked, all at once; [] when nothing crosses nodes.
 */
export async function overlaysWithoutIpsec(
  ctx: Pick<OpsContext, 'engine' | 'plan'>,
  runner: Runner,
  containers: ContainerState[],
): Promise<Array<{ node: string; networks: string[] }>> {
  const encrypted = new Set(ctx.plan.networks.filter((n) => n.encrypted).map((n) => ctx.engine.networkName(n.name)));
  if (!encrypted.size) return [];
  const on = containers.filter((c) => c.state === 'running' && c.node && c.networks.some((n) => encrypted.has(n.name)));
  const perNode = new Map<string, ContainerState>();
  for (const c of on) if (!perNode.has(c.node!)) perNode.set(c.node!, c);
  if (perNode.size < 2) return [];
  const limit = pLimit(8);
  const answers = await Promise.all(
    [...perNode].map(([node, c]) => limit(async () => ({ node, ok: await kernelHasIpsec(ctx, runner, c) }))),
  );
  const networksOn = (node: string) =>
    [...new Set(on.filter((c) => c.node === node).flatMap((c) => c.networks.map((n) => n.name)))].filter((n) => encrypted.has(n)).sort();
  return answers
    .filter((a) => a.ok === false)
    .map((a) => ({ node: a.node, networks: networksOn(a.node) }))
    .sort((a, b) => (a.node < b.node ? -1 : 1));
}

/** `up` on a target whose encrypted overlays cannot carry traffic between nodes: not healthy. */
export class OverlayWithoutIpsecError extends OperationError {
  constructor(readonly nodes: Array<{ node: string; networks: string[] }>) {
    const networks = [...new Set(nodes.flatMap((n) => n.networks))].sort().join(', ');
    super(
      `encrypted overlay without kernel IPsec support on ${nodes.map((n) => n.node).join(', ')}: ` +
        `every packet between nodes on ${networks} is dropped, although each service reports healthy.\n` +
        'Set `cluster.encryptNetworks: false` in wharf.yaml and run `wharf up --target swarm` again ' +
        '(or give the nodes a kernel with ESP: modprobe esp4 xfrm_user).',
    );
    this.name = 'OverlayWithoutIpsecError';
  }
}

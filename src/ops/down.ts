// wharf down: remove what up created. Data volumes stay unless asked (the CLI confirms first).
import pWaitFor from 'p-wait-for';
import { runnerOf, type OpsContext } from '../engine/context.js';
import type { ContainerState } from '../engine/live.js';
import type { NodeState } from '../engine/nodes.js';

export interface DownResult {
  project: string;
  removedContainers: number;
  volumesRemoved: boolean;
  /** what is left afterwards: should be 0 containers and 0 networks, volumes only when kept */
  remaining: { containers: number; networks: number; volumes: string[] };
  /** nodes that were not ready: what they hold was neither removed nor counted */
  unreachableNodes: string[];
  durationMs: number;
}

const stopped = (c: ContainerState) => c.state !== 'running' && c.state !== 'restarting';

export async function down(
  ctx: OpsContext,
  opts: { volumes?: boolean; onLine?: (line: string) => void; waitMs?: number; leftoverGraceMs?: number; nodeWaitMs?: number } = {},
): Promise<DownResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  const left = ctx.engine.leftovers;
  const first = await ctx.engine.liveState(runner);
  let nodes = first.nodes;
  const before = first.containers;
  await runner(ctx.engine.remove({ volumes: opts.volumes === true }), { onLine: opts.onLine ? (l) => opts.onLine!(l) : undefined });
  const networks = async () => (await runner(left.networks())).stdout.split('\n').filter(Boolean);
  // A scheduler removes tasks, then their networks, after the command returns: wait for both.
  // Nodes are listed again each round: one that was rejoining at the start holds tasks too.
  // A stopped task container the scheduler has not removed after the grace (one left on a
  // node that was down when its task was replaced) carries the stack's label: removed here.
  const read = async () => {
    const [live, nets] = await Promise.all([ctx.engine.liveState(runner, { strict: false }), networks()]);
    return { ...live, nets };
  };
  let { containers: after, nets } = await read();
  const waitMs = opts.waitMs ?? 120_000;
  const deadline = performance.now() + waitMs;
  const graceEnd = performance.now() + (opts.leftoverGraceMs ?? 20_000);
  // a node that is not ready may be rejoining (a restarted engine): waited for a while, not forever
  const nodeWaitEnd = performance.now() + (opts.nodeWaitMs ?? 30_000);
  const notReady = () => ready(nodes).length < nodes.length && performance.now() < nodeWaitEnd;
  let reread = false;
  await pWaitFor(
    async () => {
      if (reread) ({ nodes, containers: after, nets } = await read());
      reread = true;
      if (!((after.length || nets.length || notReady()) && nodes.length)) return true;
      if (performance.now() >= graceEnd) await removeLeftovers(ctx, after.filter(stopped), opts.onLine);
      return false;
    },
    // what is still there after the wait is reported in `remaining`, not thrown
    { interval: 1000, timeout: { milliseconds: waitMs, fallback: () => undefined } },
  );
  // Volumes of a multi-node target live on the node that used them: each node removes its own.
  const hosts: Array<NodeState | undefined> = nodes.length ? ready(nodes) : [undefined];
  if (opts.volumes && nodes.length && !after.length) {
    for (const h of hosts) await removeVolumes(ctx, h, deadline);
  }
  const vols = (await Promise.all(hosts.map((h) => volumeNames(ctx, h)))).flat();
  return {
    project: ctx.engine.project,
    removedContainers: Math.max(0, before.length - after.length),
    volumesRemoved: opts.volumes === true,
    remaining: { containers: after.length, networks: nets.length, volumes: [...new Set(vols)].sort() },
    unreachableNodes: nodes
      .filter((n) => !ready([n]).length)
      .map((n) => n.hostname)
      .sort(),
    durationMs: Math.round(performance.now() - started),
  };
}

function ready(nodes: NodeState[]): NodeState[] {
  return nodes.filter((n) => n.state === 'ready' && n.dockerHost);
}

async function removeLeftovers(ctx: OpsContext, left: ContainerState[], onLine?: (line: string) => void): Promise<void> {
  const byHost = new Map<string | undefined, ContainerState[]>();
  for (const c of left) byHost.set(c.host, [...(byHost.get(c.host) ?? []), c]);
  for (const [host, cs] of byHost) {
    onLine?.(
      `removing ${cs.length} stopped container${cs.length === 1 ? '' : 's'} of the stack the scheduler left${host ? ` on ${host}` : ''}`,
    );
    for (const c of ctx.engine.leftovers.removeContainers(cs)) await runnerOf(ctx)(c, { reject: false });
  }
}

async function volumeNames(ctx: OpsContext, node: NodeState | undefined): Promise<string[]> {
  return (await runnerOf(ctx)(ctx.engine.leftovers.volumes(node), { reject: false })).stdout.split('\n').filter(Boolean);
}

// An engine releases a volume a moment after its last container is gone ("volume is in use"):
// retried until the deadline, then the engine's own error.
async function removeVolumes(ctx: OpsContext, node: NodeState | undefined, deadline: number): Promise<void> {
  await pWaitFor(
    async () => {
      const vols = await volumeNames(ctx, node);
      if (!vols.length) return true;
      const rm = ctx.engine.leftovers.removeVolumes(vols, node);
      const r = await runnerOf(ctx)(rm, { reject: false });
      if (r.exitCode === 0) return true;
      if (!/in use/i.test(r.stderr) || performance.now() >= deadline) {
        await runnerOf(ctx)(rm);
        return true;
      }
      return false;
    },
    { interval: 1000 },
  );
}

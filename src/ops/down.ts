// wharf down: remove what up created. Data volumes stay unless asked (the CLI confirms first).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { docker, onHost } from '../engine/docker.js';
import { listContainers, listNodes, type ContainerState } from '../engine/live.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stopped = (c: ContainerState) => c.state !== 'running' && c.state !== 'restarting';

export async function down(ctx: OpsContext, opts: { volumes?: boolean; onLine?: (line: string) => void; waitMs?: number; leftoverGraceMs?: number; nodeWaitMs?: number } = {}): Promise<DownResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  let nodes = await listNodes(ctx.engine, runner);
  const before = await listContainers(ctx.engine, runner, nodes);
  const withoutFile = !existsSync(join(ctx.outDir, 'compose.yaml'));
  await runner(ctx.engine.remove({ volumes: opts.volumes === true, withoutFile }), { onLine: opts.onLine ? (l) => opts.onLine!(l) : undefined });
  const filters = ctx.engine.containerFilters();
  const networks = async () => (await runner(onHost(docker.networkIds(filters), ctx.engine.dockerHost))).stdout.split('\n').filter(Boolean);
  // A scheduler removes tasks, then their networks, after the command returns: wait for both.
  // Nodes are listed again each round: one that was rejoining at the start holds tasks too.
  // A stopped task container the scheduler has not removed after the grace (one left on a
  // node that was down when its task was replaced) carries the stack's label: removed here.
  let after = await listContainers(ctx.engine, runner, nodes);
  let nets = await networks();
  const deadline = performance.now() + (opts.waitMs ?? 120_000);
  const graceEnd = performance.now() + (opts.leftoverGraceMs ?? 20_000);
  // a node that is not ready may be rejoining (a restarted engine): waited for a while, not forever
  const nodeWaitEnd = performance.now() + (opts.nodeWaitMs ?? 30_000);
  const notReady = () => ready(nodes).length < nodes.length && performance.now() < nodeWaitEnd;
  while ((after.length || nets.length || notReady()) && nodes.length && performance.now() < deadline) {
    if (performance.now() >= graceEnd) await removeLeftovers(ctx, after.filter(stopped), opts.onLine);
    await sleep(1000);
    nodes = await listNodes(ctx.engine, runner);
    after = await listContainers(ctx.engine, runner, nodes);
    nets = await networks();
  }
  // Volumes of a multi-node target live on the node that used them: each node removes its own.
  const hosts = nodes.length ? ready(nodes).map((n) => n.dockerHost!) : [ctx.engine.dockerHost];
  if (opts.volumes && nodes.length && !after.length) {
    for (const h of hosts) await removeVolumes(ctx, h, filters, deadline);
  }
  const vols: string[] = [];
  for (const h of hosts) vols.push(...await volumeNames(ctx, h, filters));
  return {
    project: ctx.engine.project,
    removedContainers: Math.max(0, before.length - after.length),
    volumesRemoved: opts.volumes === true,
    remaining: { containers: after.length, networks: nets.length, volumes: [...new Set(vols)].sort() },
    unreachableNodes: nodes.filter((n) => !ready([n]).length).map((n) => n.hostname).sort(),
    durationMs: Math.round(performance.now() - started),
  };
}

function ready(nodes: NodeState[]): NodeState[] {
  return nodes.filter((n) => n.state === 'ready' && n.dockerHost);
}

async function removeLeftovers(ctx: OpsContext, left: ContainerState[], onLine?: (line: string) => void): Promise<void> {
  const byHost = new Map<string | undefined, string[]>();
  for (const c of left) byHost.set(c.host, [...byHost.get(c.host) ?? [], c.id]);
  for (const [host, ids] of byHost) {
    onLine?.(`removing ${ids.length} stopped container${ids.length === 1 ? '' : 's'} of the stack the scheduler left${host ? ` on ${host}` : ''}`);
    await runnerOf(ctx)(onHost(docker.removeContainers(ids), host), { reject: false });
  }
}

async function volumeNames(ctx: OpsContext, host: string | undefined, filters: string[]): Promise<string[]> {
  return (await runnerOf(ctx)(onHost(docker.volumeNames(filters), host), { reject: false })).stdout.split('\n').filter(Boolean);
}

// An engine releases a volume a moment after its last container is gone ("volume is in use"):
// retried until the deadline, then the engine's own error.
async function removeVolumes(ctx: OpsContext, host: string | undefined, filters: string[], deadline: number): Promise<void> {
  for (;;) {
    const vols = await volumeNames(ctx, host, filters);
    if (!vols.length) return;
    const r = await runnerOf(ctx)(onHost(docker.volumeRemove(vols), host), { reject: false });
    if (r.exitCode === 0) return;
    if (!/in use/i.test(r.stderr) || performance.now() >= deadline) {
      await runnerOf(ctx)(onHost(docker.volumeRemove(vols), host));
      return;
    }
    await sleep(1000);
  }
}

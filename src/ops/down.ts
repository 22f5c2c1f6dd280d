// wharf down: remove what up created. Data volumes stay unless asked (the CLI confirms first).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { docker, onHost } from '../engine/docker.js';
import { listContainers, listNodes } from '../engine/live.js';

export interface DownResult {
  project: string;
  removedContainers: number;
  volumesRemoved: boolean;
  /** what is left afterwards: should be 0 containers and 0 networks, volumes only when kept */
  remaining: { containers: number; networks: number; volumes: string[] };
  durationMs: number;
}

export async function down(ctx: OpsContext, opts: { volumes?: boolean; onLine?: (line: string) => void; waitMs?: number } = {}): Promise<DownResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  const nodes = await listNodes(ctx.engine, runner);
  const before = await listContainers(ctx.engine, runner, nodes);
  const withoutFile = !existsSync(join(ctx.outDir, 'compose.yaml'));
  await runner(ctx.engine.remove({ volumes: opts.volumes === true, withoutFile }), { onLine: opts.onLine ? (l) => opts.onLine!(l) : undefined });
  const filters = ctx.engine.containerFilters();
  const networks = async () => (await runner(onHost(docker.networkIds(filters), ctx.engine.dockerHost))).stdout.split('\n').filter(Boolean);
  // A scheduler removes tasks, then their networks, after the command returns: wait for both.
  let after = await listContainers(ctx.engine, runner, nodes);
  let nets = await networks();
  const deadline = performance.now() + (opts.waitMs ?? 120_000);
  while ((after.length || nets.length) && nodes.length && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    after = await listContainers(ctx.engine, runner, nodes);
    nets = await networks();
  }
  // Volumes of a multi-node target live on the node that used them: each node removes its own.
  const hosts = nodes.length ? nodes.filter((n) => n.state === 'ready' && n.dockerHost).map((n) => n.dockerHost) : [ctx.engine.dockerHost];
  if (opts.volumes && nodes.length && !after.length) {
    for (const h of hosts) {
      const vols = (await runner(onHost(docker.volumeNames(filters), h), { reject: false })).stdout.split('\n').filter(Boolean);
      if (vols.length) await runner(onHost(docker.volumeRemove(vols), h));
    }
  }
  const vols: string[] = [];
  for (const h of hosts) vols.push(...(await runner(onHost(docker.volumeNames(filters), h), { reject: false })).stdout.split('\n').filter(Boolean));
  return {
    project: ctx.engine.project,
    removedContainers: before.length - after.length,
    volumesRemoved: opts.volumes === true,
    remaining: { containers: after.length, networks: nets.length, volumes: [...new Set(vols)].sort() },
    durationMs: Math.round(performance.now() - started),
  };
}

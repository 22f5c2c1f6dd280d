// wharf down: remove what up created. Data volumes stay unless asked (the CLI confirms first).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { docker } from '../engine/docker.js';
import { listContainers } from '../engine/live.js';

export interface DownResult {
  project: string;
  removedContainers: number;
  volumesRemoved: boolean;
  /** what is left afterwards: should be 0 containers and 0 networks, volumes only when kept */
  remaining: { containers: number; networks: number; volumes: string[] };
  durationMs: number;
}

export async function down(ctx: OpsContext, opts: { volumes?: boolean; onLine?: (line: string) => void } = {}): Promise<DownResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  const before = await listContainers(ctx.engine, runner);
  const withoutFile = !existsSync(join(ctx.outDir, 'compose.yaml'));
  await runner(ctx.engine.remove({ volumes: opts.volumes === true, withoutFile }), { onLine: opts.onLine ? (l) => opts.onLine!(l) : undefined });
  const after = await listContainers(ctx.engine, runner);
  const filters = ctx.engine.containerFilters();
  const nets = (await runner(docker.networkIds(filters))).stdout.split('\n').filter(Boolean);
  const vols = (await runner(docker.volumeNames(filters))).stdout.split('\n').filter(Boolean).sort();
  return {
    project: ctx.engine.project,
    removedContainers: before.length - after.length,
    volumesRemoved: opts.volumes === true,
    remaining: { containers: after.length, networks: nets.length, volumes: vols },
    durationMs: Math.round(performance.now() - started),
  };
}

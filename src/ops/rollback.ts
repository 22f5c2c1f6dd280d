// wharf rollback <service>: the previous recorded revision (revisions.ts), rolled out like
// any other change (rollout.ts).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { listContainers } from '../engine/live.js';
import { orchestratedRollout } from './rollout-orchestrated.js';
import { recordRolled } from './record-rolled.js';
import { rolloutService } from './rollout-side-by-side.js';
import type { RolloutOptions, ServiceRollout } from './rollout-report.js';
import { previousRevision, readRevisions, type Revision } from './revisions.js';
import { InputError } from '../errors.js';

/**
 * `wharf rollback <service>`: the previous recorded revision, rolled out like any other:
 * the rendered file with that service's recorded definition, pinned to the image ID it ran.
 * The spec is not changed: the next `wharf up` rolls forward again unless wharf.yaml is.
 */
export async function rollback(ctx: OpsContext, service: string, opts: RolloutOptions = {}): Promise<ServiceRollout & { to?: Revision }> {
  // An orchestrator keeps the previous spec itself (Swarm: PreviousSpec) and rolls back by the
  // rendered rollback_config (start-first, health-gated): wharf waits and reports.
  const strategy = ctx.engine.strategy;
  if (strategy.kind === 'orchestrated') {
    const r = await orchestratedRollout(ctx, service, { ...opts, via: 'rollback' }, 'rollback');
    await recordRolled(ctx, [service], 'rollback');
    return r;
  }
  const list = readRevisions(ctx.projectDir)[service] ?? [];
  const runner = runnerOf(ctx);
  const live = (await listContainers(ctx.engine, runner)).filter((c) => c.service === service && c.state === 'running');
  const running = (r: Revision) => !!live[0] && r.imageId === live[0].imageId && (!r.configHash || r.configHash === live[0].revision);
  const now = [...list].reverse().find(running);
  const to = previousRevision(list, now?.revision);
  if (!to)
    throw new InputError(`no earlier revision of ${service} recorded (${list.length} in ${join('.wharf', 'state', 'revisions.json')})`);
  const def: Record<string, unknown> = { ...to.definition, image: to.imageId };
  delete def.build;
  const file = strategy.writeVariant(service, def);
  try {
    const r = await rolloutService(ctx, service, { ...opts, force: true, file, via: 'rollback' });
    await recordRolled(ctx, [service], 'rollback');
    return { ...r, to };
  } finally {
    rmSync(join(ctx.engine.dir, file), { force: true });
  }
}

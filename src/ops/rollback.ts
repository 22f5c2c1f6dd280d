// wharf rollback <service>: the previous recorded revision (revisions.ts), rolled out like
// any other change (rollout.ts).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { listContainers } from '../engine/live.js';
import { orchestratedRollout, rolloutService, type RolloutOptions, type ServiceRollout } from './rollout.js';
import { previousRevision, readRevisions, type Revision } from './revisions.js';

export const ROLLBACK_FILE = 'compose.rollback.yaml';

/**
 * `wharf rollback <service>`: the previous recorded revision, rolled out like any other:
 * the rendered file with that service's recorded definition, pinned to the image ID it ran.
 * The spec is not changed: the next `wharf up` rolls forward again unless wharf.yaml is.
 */
export async function rollback(ctx: OpsContext, service: string, opts: RolloutOptions = {}): Promise<ServiceRollout & { to?: Revision }> {
  // An orchestrator keeps the previous spec itself (Swarm: PreviousSpec) and rolls back by the
  // rendered rollback_config (start-first, health-gated): wharf waits and reports.
  if (!ctx.engine.scaleOut && ctx.engine.rollback) return orchestratedRollout(ctx, service, { ...opts, via: 'rollback' }, 'rollback');
  const list = readRevisions(ctx.projectDir)[service] ?? [];
  const runner = runnerOf(ctx);
  const live = (await listContainers(ctx.engine, runner)).filter((c) => c.service === service && c.state === 'running');
  const running = (r: Revision) => !!live[0] && r.imageId === live[0].imageId && (!r.configHash || r.configHash === live[0].labels[ctx.engine.configHashLabel ?? '']);
  const now = [...list].reverse().find(running);
  const to = previousRevision(list, now?.revision);
  if (!to) throw new Error(`no earlier revision of ${service} recorded (${list.length} in ${join('.wharf', 'state', 'revisions.json')})`);
  const doc = parse(readFileSync(join(ctx.outDir, 'compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const def: Record<string, unknown> = { ...to.definition, image: to.imageId };
  delete def.build;
  doc.services[service] = def;
  const file = join(ctx.outDir, ROLLBACK_FILE);
  writeFileSync(file, stringify(doc));
  try {
    const r = await rolloutService(ctx, service, { ...opts, force: true, file: ROLLBACK_FILE, via: 'rollback' });
    return { ...r, to };
  } finally {
    rmSync(file, { force: true });
  }
}

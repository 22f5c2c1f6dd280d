// What `wharf rollout` and `wharf rollback` leave behind in the applied record (applied.ts):
// the replicas they started are wharf's doing, so the next plan must not call them drift.
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import { appliedService, readApplied, writeApplied } from './applied.js';

/**
 * After `wharf rollout` or `wharf rollback`: the services' replicas as they run now are what
 * was applied (not drift). A rolled-back service is marked: the next up rolls it forward.
 * Without an earlier up there is no record to amend.
 */
export async function recordRolled(ctx: OpsContext, services: string[], via: 'rollout' | 'rollback'): Promise<void> {
  const was = readApplied(ctx.projectDir);
  if (!was) return;
  const { containers } = await ctx.engine.liveState(runnerOf(ctx));
  const masks = secretValues(ctx.secretsDir);
  const defs = ctx.engine.definitions();
  const next = { ...was.services };
  for (const c of ctx.plan.components.filter((x) => services.includes(x.name)))
    next[c.name] = { ...appliedService(c, masks, defs[c.name], containers), ...(via === 'rollback' ? { rolledBack: true as const } : {}) };
  writeApplied(ctx.projectDir, { ...was, at: new Date().toISOString(), services: next });
}

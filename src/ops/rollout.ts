// wharf rollout, and which services up rolls: side by side on one host (rollout-side-by-side.ts),
// by the scheduler on an orchestrator (rollout-orchestrated.ts).
import type { Component, Plan } from '../plan/model.js';
import type { OpsContext } from '../engine/context.js';
import type { Desired } from '../engine/engine.js';
import type { ContainerState } from '../engine/live.js';
import { routedServices } from './edge-admission.js';
import { runHook } from './hooks.js';
import { recordRolled } from './record-rolled.js';
import { rolloutService, upToDate } from './rollout-side-by-side.js';
import { orchestratedRollout } from './rollout-orchestrated.js';
import type { RolloutOptions, ServiceRollout } from './rollout-report.js';

export { failedTaskReport, RolloutError, type RolloutEventOut, type RolloutOptions, type ServiceRollout } from './rollout-report.js';
export { desiredState, recordCurrent, rolloutService, upToDate } from './rollout-side-by-side.js';
export { orchestratedRollout, parseRolloutState } from './rollout-orchestrated.js';
export type { Desired } from '../engine/engine.js';

/** Rolls start-first: stateless (the plan said start-first) and either routed or replicated. */
export function rolls(plan: Plan, c: Component): boolean {
  return c.update?.order === 'start-first' && c.role === 'app' && (routedServices(plan).has(c.name) || c.replicas > 1);
}

export interface RolloutResult {
  project: string;
  rollouts: ServiceRollout[];
  durationMs: number;
}

/** `wharf rollout [service]`: new containers for the service (every rolling one when omitted), even with no change. */
export async function rollout(ctx: OpsContext, services: string[] = [], opts: RolloutOptions = {}): Promise<RolloutResult> {
  const t0 = performance.now();
  const names = services.length ? services : ctx.plan.components.filter((c) => rolls(ctx.plan, c)).map((c) => c.name);
  const rollouts: ServiceRollout[] = [];
  // a hook's lines as progress of the phase it belongs to
  const say = (service: string, phase: 'start' | 'done', detail: string) =>
    opts.onProgress?.({ kind: 'phase', service, phase, detail, elapsedMs: 0 });
  for (const s of names) {
    await runHook(ctx, s, 'beforeRollout', (l) => say(s, 'start', `beforeRollout: ${l}`));
    rollouts.push(
      ctx.engine.strategy.kind === 'side-by-side'
        ? await rolloutService(ctx, s, { force: true, ...opts })
        : await orchestratedRollout(ctx, s, opts),
    );
    await runHook(ctx, s, 'afterRollout', (l) => say(s, 'done', `afterRollout: ${l}`));
  }
  await recordRolled(ctx, names, 'rollout');
  return { project: ctx.engine.project, rollouts, durationMs: Math.round(performance.now() - t0) };
}

export interface DeployDecision {
  /** rolled start-first, one after the other */
  roll: string[];
  /** created, recreated or scaled by the engine, by name */
  deploy: string[];
  /** among deploy: existing stop-first services recreated (they are unavailable meanwhile) */
  stopFirst: string[];
  unchanged: string[];
}

/** Which services roll, which the engine recreates, and which stay untouched: decided once per up. */
export function decideDeploy(plan: Plan, live: ContainerState[], want: Desired): DeployDecision {
  const d: DeployDecision = { roll: [], deploy: [], stopFirst: [], unchanged: [] };
  for (const c of plan.components) {
    const cs = live.filter((x) => x.service === c.name);
    if (!cs.length) {
      d.deploy.push(c.name);
      continue;
    }
    const changed = cs.length !== c.replicas || cs.some((x) => !upToDate(x, c.name, want));
    if (!changed) d.unchanged.push(c.name);
    else if (rolls(plan, c)) d.roll.push(c.name);
    else {
      d.deploy.push(c.name);
      if (cs.some((x) => !upToDate(x, c.name, want))) d.stopFirst.push(c.name);
    }
  }
  return d;
}

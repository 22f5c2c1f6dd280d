// Rollouts on an orchestrator (Swarm): the scheduler rolls by its own update policy; wharf
// starts the update and follows its state until completed or rolled back.
import pWaitFor from 'p-wait-for';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { Orchestrated } from '../engine/engine.js';
import { listContainers } from '../engine/live.js';
import { healthWindow } from '../plan/placement.js';
import { failedTaskReport, RolloutError, type RolloutOptions, type ServiceRollout } from './rollout-report.js';

/** One `<name> <json>` line of SwarmEngine.rolloutStates: the update's state and when it started. */
export function parseRolloutState(stdout: string, name: string): { state: string; startedAt: number; message: string } | undefined {
  for (const l of stdout.split('\n')) {
    const i = l.indexOf(' ');
    if (i < 0 || l.slice(0, i) !== name) continue;
    const u = JSON.parse(l.slice(i + 1) || 'null') as { State?: string; StartedAt?: string; Message?: string } | null;
    return { state: u?.State ?? '', startedAt: Date.parse(u?.StartedAt ?? '') || 0, message: u?.Message ?? '' };
  }
  return undefined;
}

/**
 * An orchestrator rolls by its own update policy (Swarm: start-first, rollback on failure,
 * as the plan rendered it): start it, then wait until it says completed, or rolled back.
 */
export async function orchestratedRollout(
  ctx: OpsContext,
  service: string,
  opts: RolloutOptions = {},
  mode: 'rollout' | 'rollback' = 'rollout',
): Promise<ServiceRollout> {
  const engine = ctx.engine;
  if (engine.strategy.kind !== 'orchestrated') throw new Error(`bug: the ${engine.kind} engine rolls side by side, not by a scheduler`);
  const strategy: Orchestrated = engine.strategy;
  const component = ctx.plan.components.find((c) => c.name === service);
  if (!component) throw new Error(`no service "${service}" in the plan (services: ${ctx.plan.components.map((c) => c.name).join(', ')})`);
  const runner = runnerOf(ctx);
  const emit = opts.onProgress ?? (() => {});
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const limit = (component.healthcheck ? healthWindow(component.healthcheck) * 1000 + 60_000 : 120_000) * Math.max(1, component.replicas);
  const startedAt = Date.now();
  emit({
    kind: 'phase',
    service,
    phase: 'start',
    detail:
      mode === 'rollout'
        ? `the orchestrator replaces ${component.replicas} replicas by its update policy`
        : `the orchestrator returns ${component.replicas} replicas to the previous spec by its rollback policy`,
    elapsedMs: 0,
  });
  await runner(mode === 'rollout' ? strategy.rollout(service) : strategy.rollback(service));
  // A rollback ends in rollback_completed; an update ends in completed, and rolled back means it failed.
  const done = mode === 'rollout' ? 'completed' : 'rollback_completed';
  const failedStates = mode === 'rollout' ? ['rollback_completed', 'paused', 'rollback_paused'] : ['rollback_paused', 'paused'];
  let last = '';
  let result: ServiceRollout | undefined;
  await pWaitFor(
    async () => {
      const st = (await strategy.updates(runner, [service])).get(service);
      const ours = st && st.startedAt >= startedAt - 2000;
      const state = ours ? st.state : 'pending';
      if (state !== last) {
        emit({
          kind: 'phase',
          service,
          phase: state === done ? 'done' : 'health',
          detail: `update ${state}${st?.message ? `: ${st.message}` : ''}`,
          elapsedMs: elapsed(),
        });
        last = state;
      }
      const base = {
        service,
        replaced: component.replicas,
        started: component.replicas,
        replicas: component.replicas,
        waves: component.replicas,
        durationMs: elapsed(),
      };
      if (state === done) {
        result = { ...base, ok: true, phase: 'done' };
        return true;
      }
      if (failedStates.includes(state) || elapsed() > limit) {
        const report = await failedTaskReport(
          ctx,
          await listContainers(engine, runner).catch(() => []),
          service,
          startedAt,
          secretValues(ctx.secretsDir),
        );
        const r: ServiceRollout = {
          ...base,
          ok: false,
          replaced: 0,
          phase: 'failed',
          error:
            (elapsed() > limit
              ? `not converged within ${Math.round(limit / 1000)}s (${state})`
              : `${state.replace('_', ' ')}${st?.message ? `: ${st.message}` : ''}`) + `${report ? `; ${report.task}` : ''}`,
          ...(report ? { logs: report.logs } : {}),
        };
        throw new RolloutError(r);
      }
      return false;
    },
    { interval: opts.pollMs ?? 1000 },
  );
  return result!;
}

// up's last step: wait until every replica is healthy and every edge routes to it, or say why
// not (a scheduler rolled a change back, a service keeps crashing, the time ran out).
import pWaitFor from 'p-wait-for';
import type { OpsContext } from '../engine/context.js';
import type { LiveState } from '../engine/engine.js';
import type { Runner } from '../engine/run.js';
import { byService, lastLogLines, type ContainerState } from '../engine/live.js';
import { edgeLag, edgeWhere, type EdgeLag } from './edge-admission.js';
import { crashLooping, healthOf, type ServiceHealth, type ServiceStateName } from './health.js';
import { failedTaskReport } from './rollout-report.js';
import { OperationError } from '../errors.js';

export interface UnhealthyService {
  service: string;
  state: ServiceStateName;
  desired: number;
  running: number;
  healthy: number;
  /** last failing healthcheck output */
  healthcheck?: string;
  /** last log lines of the first container that is not healthy */
  logs: string[];
}

/** A service did not become healthy: it timed out, or it keeps crashing (no point waiting). */
export class UpTimeoutError extends OperationError {
  constructor(
    readonly services: UnhealthyService[],
    readonly timeoutMs: number,
    readonly reason: 'timeout' | 'crash-loop' = 'timeout',
  ) {
    super(
      `${reason === 'crash-loop' ? 'crash-looping' : `not healthy after ${Math.round(timeoutMs / 1000)}s`}` +
        `: ${services.map((s) => `${s.service} (${s.healthy}/${s.desired} healthy, ${s.state})`).join(', ')}\n` +
        services
          .map((s) =>
            [
              `--- ${s.service}${s.healthcheck ? ` (healthcheck: ${s.healthcheck.split('\n').slice(-1)[0]})` : ''}: last log lines`,
              ...s.logs.map((l) => `  ${l}`),
            ].join('\n'),
          )
          .join('\n'),
    );
    this.name = 'UpTimeoutError';
  }
}

/** A scheduler rolled a changed service back (or paused it): its new version never became healthy. */
export class RolloutFailedError extends OperationError {
  constructor(readonly services: Array<{ service: string; state: string; task?: string; logs?: string[] }>) {
    super(
      `rollout failed, the old version keeps serving: ` +
        `${services.map((s) => `${s.service} (${s.state.replace('_', ' ')}${s.task ? `; ${s.task}` : ''})`).join(', ')}${
          services.some((s) => s.logs?.length)
            ? services
                .filter((s) => s.logs?.length)
                .map((s) => `\n--- ${s.service}: last log lines of the task it gave up on\n${s.logs!.map((l) => `  ${l}`).join('\n')}`)
                .join('')
            : '; read `wharf logs` of the new tasks'
        }`,
    );
    this.name = 'RolloutFailedError';
  }
}

/**
 * Services the scheduler is still rolling, and those whose rollout of this run failed (a
 * rollback from an earlier deploy is history, not this run's failure).
 */
function rollouts(live: LiveState, deployedAt: number): { updating: string[]; failed: Array<{ service: string; state: string }> } {
  const states = [...live.updates].map(([service, u]) => ({ service, ...u }));
  const ours = (s: { startedAt: number }) => s.startedAt >= deployedAt - 2000;
  return {
    updating: states.filter((s) => s.state === 'updating' || s.state === 'rollback_started').map((s) => s.service),
    failed: states
      .filter((s) => ours(s) && (s.state === 'rollback_completed' || s.state === 'paused' || s.state === 'rollback_paused'))
      .map((s) => ({ service: s.service, state: s.message ? `${s.state}: ${s.message}` : s.state })),
  };
}

/** What the wait reports while it polls (a part of up's events). */
export type WaitEvent = { kind: 'output'; step: 'wait'; line: string } | { kind: 'health'; services: ServiceHealth[]; elapsedMs: number };

export interface WaitOptions {
  /** when the deploy was started (Date.now()) */
  deployedAt: number;
  /** stop-first services this run recreated: how long each was not healthy is measured */
  stopFirst: string[];
  timeoutMs: number;
  pollMs: number;
  masks: string[];
  emit: (e: WaitEvent) => void;
  /** the live state up read before it decided nothing was to change: the first look, not read again */
  live?: LiveState;
}

/** Polls the live state until every replica is healthy and routed; throws when that will not happen. */
export async function waitHealthy(
  ctx: OpsContext,
  runner: Runner,
  o: WaitOptions,
): Promise<{ services: ServiceHealth[]; containers: ContainerState[]; unavailable: Map<string, number> }> {
  const { deployedAt, timeoutMs, masks, emit } = o;
  const engine = ctx.engine;
  const unavailable = new Map<string, number>();
  const waitStart = performance.now();
  let last = '';
  let services: ServiceHealth[] = [];
  let containers: ContainerState[] = [];
  let lag: EdgeLag[] = [];
  // A scheduler marks a changed service "updating" only once it picks the change up: its
  // update states are believed from 2 s after the deploy.
  const orchestrated = engine.strategy.kind === 'orchestrated';
  let known = orchestrated ? undefined : o.live;
  await pWaitFor(
    async () => {
      const settle = orchestrated ? deployedAt + 2000 - Date.now() : 0;
      if (settle > 0) await new Promise((r) => setTimeout(r, settle));
      const live = known ?? (await engine.liveState(runner, { updates: orchestrated }));
      known = undefined;
      containers = live.containers;
      services = healthOf(ctx.plan, live);
      const rolling = rollouts(live, deployedAt);
      const key = JSON.stringify([services, rolling]);
      const elapsedMs = Math.round(performance.now() - waitStart);
      if (key !== last) {
        emit({ kind: 'health', services, elapsedMs });
        last = key;
      }
      for (const x of services)
        if (o.stopFirst.includes(x.service) && x.state === 'healthy' && !unavailable.has(x.service))
          unavailable.set(x.service, Date.now() - deployedAt);
      if (rolling.failed.length) {
        throw new RolloutFailedError(
          await Promise.all(
            rolling.failed.map(async (f) => ({ ...f, ...(await failedTaskReport(ctx, containers, f.service, deployedAt, masks)) })),
          ),
        );
      }
      const healthy = services.every((s) => s.state === 'healthy') && !rolling.updating.length;
      // The edge discovers replicas itself: done when every edge routes to every healthy one.
      lag = healthy ? await edgeLag(ctx, runner, containers, (line) => emit({ kind: 'output', step: 'wait', line: `edge: ${line}` })) : [];
      if (healthy && !lag.length) return true;
      // Every container of a service restarted 3 times and none runs: it exits on start.
      const byName = byService(containers);
      const crashing = services.filter(
        (s) => s.state !== 'healthy' && s.running === 0 && crashLooping(byName.get(s.service) ?? [], deployedAt),
      );
      if (elapsedMs >= timeoutMs || crashing.length) {
        const bad: UnhealthyService[] = lag.map((l) => ({
          service: l.service,
          state: 'starting',
          desired: l.healthy,
          running: l.healthy,
          healthy: l.healthy,
          healthcheck:
            `healthy, but ${edgeWhere(l)} (${l.edge}) routes to ${l.admitted} of ${l.healthy} replicas ` +
            `(HAProxy's checks fail: see \`wharf doctor\`)`,
          logs: [],
        }));
        for (const s of crashing.length
          ? crashing
          : services.filter((x) => x.state !== 'healthy' && !lag.some((l) => l.service === x.service))) {
          const cs = byName.get(s.service) ?? [];
          const worst =
            cs.find((c) => c.health === 'unhealthy') ??
            cs.find((c) => c.state !== 'running') ??
            cs.find((c) => c.health !== 'healthy') ??
            cs[0];
          bad.push({
            service: s.service,
            state: s.state,
            desired: s.desired,
            running: s.running,
            healthy: s.healthy,
            healthcheck: worst?.healthLog,
            logs: worst ? await lastLogLines(engine, runner, worst, 20, masks) : [],
          });
        }
        throw new UpTimeoutError(bad, timeoutMs, crashing.length ? 'crash-loop' : 'timeout');
      }
      return false;
    },
    { interval: o.pollMs },
  );
  return { services, containers, unavailable };
}

// What a rollout reports: its progress events, its result, the error it throws, and what a
// failed one says of the container it gave up on. Shared by both drivers and by up.
import { runnerOf, type OpsContext } from '../engine/context.js';
import { lastLogLines, type ContainerState } from '../engine/live.js';
import type { Deadlines, Phase } from './rollout-machine.js';
import type { Revision } from './revisions.js';
import { OperationError } from '../errors.js';

export type RolloutEventOut = { kind: 'phase'; service: string; phase: Phase; detail: string; elapsedMs: number };

export interface RolloutOptions {
  onProgress?: (e: RolloutEventOut) => void;
  /** replace every container, even up-to-date ones */
  force?: boolean;
  /** compose file the new containers come from (a rollback's), relative to the output dir */
  file?: string;
  deadlines?: Partial<Deadlines>;
  pollMs?: number;
  via?: Revision['via'];
}

export interface ServiceRollout {
  service: string;
  ok: boolean;
  /** containers replaced, and the new ones */
  replaced: number;
  started: number;
  replicas: number;
  waves: number;
  revision?: string;
  durationMs: number;
  phase: Phase;
  error?: string;
  /** last log lines of a new container that failed */
  logs?: string[];
}

export class RolloutError extends OperationError {
  constructor(readonly result: ServiceRollout) {
    super(
      `rollout of ${result.service} failed (${result.error}); the old replicas keep serving` +
        `${result.logs?.length ? `\n--- ${result.service}: last log lines of a new container\n${result.logs.map((l) => `  ${l}`).join('\n')}` : ''}`,
    );
    this.name = 'RolloutError';
  }
}

/**
 * The container of a rollout the orchestrator gave up on: started since, and not a healthy
 * running one (the tasks a rollback starts are). Unhealthy first, then the newest.
 */
function gaveUpOn(cs: ContainerState[], service: string, since: number): ContainerState | undefined {
  return cs
    .filter(
      (c) =>
        c.service === service &&
        Date.parse(c.startedAt) >= since - 2000 &&
        !(c.state === 'running' && (c.health === 'healthy' || c.health === 'none')),
    )
    .sort(
      (a, b) => Number(b.health === 'unhealthy') - Number(a.health === 'unhealthy') || Date.parse(b.startedAt) - Date.parse(a.startedAt),
    )[0];
}

/** "api-2 unhealthy (healthcheck: ...)", "t_api.1.x on n2 exited (last exit code 1, 0 restarts)" */
export function whyFailed(c: ContainerState): string {
  const who = `${c.name}${c.node ? ` on ${c.node}` : ''}`;
  if (c.health === 'unhealthy') return `${who} unhealthy${c.healthLog ? ` (healthcheck: ${c.healthLog.split('\n').slice(-1)[0]})` : ''}`;
  return `${who} ${c.state === 'running' ? 'restarted' : c.state} (last exit code ${c.exitCode}, ${c.restartCount} restarts)`;
}

/** What a failed rollout reports of the container it gave up on: why, and its last log lines. */
export async function failedTaskReport(
  ctx: OpsContext,
  cs: ContainerState[],
  service: string,
  since: number,
  masks: string[],
): Promise<{ task: string; logs: string[] } | undefined> {
  const bad = gaveUpOn(cs, service, since);
  return bad && { task: whyFailed(bad), logs: await lastLogLines(ctx.engine, runnerOf(ctx), bad, 20, masks) };
}

// Where the backup scripts run and how a restore stops and starts what writes to the data:
// through the engine (the backup service's container, its stop/start, one live state per poll).
import pWaitFor from 'p-wait-for';
import type { Cmd } from '../engine/command.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { Runner } from '../engine/run.js';
import { OperationError } from '../errors.js';
import { BACKUP_COMPONENT } from '../plan/backup.js';
import { pitrComponent } from '../plan/pitr.js';
import type { Plan } from '../plan/model.js';
import { edgeLag, edgeWhere } from './edge-admission.js';
import { healthOf } from './health.js';

export class BackupError extends OperationError {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Stops and starts the plan's services around an in-place restore. */
export interface ServiceControl {
  stop(services: string[]): Promise<void>;
  start(services: string[]): Promise<void>;
  /** resolves once every replica of the services is healthy (or running, without a healthcheck) */
  waitHealthy(services: string[], timeoutMs: number): Promise<void>;
  /** the services among these whose containers are not running */
  notRunning(services: string[]): Promise<string[]>;
}

/** Where the scripts run: `compose exec -T backup …` in a stack, a plain process in tests. */
export interface BackupExecutor {
  plan: Plan;
  runner?: Runner;
  /** needed by in-place restores: they stop what writes to the data first */
  services?: ServiceControl;
  /** the command running a script of backup/bin with its arguments */
  script(name: 'backup' | 'verify' | 'restore' | 'list', args: string[], describe: string, timeoutMs: number): Cmd;
  /** pitr.sh in the WAL archiver of a database (plan/pitr.ts); undefined when none runs */
  pitr?(database: string, args: string[], describe: string, timeoutMs: number): Cmd | undefined;
}

/**
 * The scripts run in the backup service's running container, on whichever node it is
 * (`docker exec` through that node's engine): the same on every target.
 */
export async function stackBackupExecutor(ctx: OpsContext): Promise<BackupExecutor> {
  const runner = runnerOf(ctx);
  const redact = secretValues(ctx.secretsDir);
  const running = (await ctx.engine.liveState(runner)).containers.filter((c) => c.state === 'running');
  const box = running.find((c) => c.service === BACKUP_COMPONENT);
  if (!box) throw new BackupError(`the ${BACKUP_COMPONENT} service of ${ctx.engine.project} is not running: run \`wharf up\` first`);
  return {
    plan: ctx.plan,
    runner,
    services: engineServiceControl(ctx),
    script: (name, args, describe, timeoutMs) => ({
      ...ctx.engine.exec(box, [`/backup/bin/${name}.sh`, ...args], describe, timeoutMs),
      redact,
    }),
    pitr: (database, args, describe, timeoutMs) => {
      const archiver = running.find((c) => c.service === pitrComponent(database));
      return archiver && { ...ctx.engine.exec(archiver, ['/pitr/pitr.sh', ...args], describe, timeoutMs), redact };
    },
  };
}

/** Service control through the engine: its stop/start commands, health from the live containers. */
// polled every 250 ms: a restore waits on these, and each second of lag is a second of downtime
export function engineServiceControl(ctx: OpsContext, pollMs = 250): ServiceControl {
  const runner = runnerOf(ctx);
  const redact = secretValues(ctx.secretsDir);
  const live = async (names: string[]) => {
    const state = await ctx.engine.liveState(runner);
    return { containers: state.containers, health: healthOf(ctx.plan, state).filter((h) => names.includes(h.service)) };
  };
  const states = async (names: string[]) => (await live(names)).health;
  return {
    // Returns once no container of the services runs: a restore must not write beside them.
    stop: async (names) => {
      await runner({ ...ctx.engine.stop(names), redact });
      let left: string[] = [];
      await pWaitFor(
        async () => {
          left = (await states(names)).filter((h) => h.running > 0).map((h) => h.service);
          return !left.length;
        },
        {
          interval: pollMs,
          timeout: {
            milliseconds: 5 * 60_000,
            fallback: () => {
              throw new OperationError(`still running 300s after stop: ${left.join(', ')}`);
            },
          },
        },
      );
    },
    start: async (names) => {
      await runner({ ...ctx.engine.start(names), redact });
    },
    // As `up`: healthy is not enough while an edge still routes to none of them.
    waitHealthy: async (names, timeoutMs) => {
      let why: string[] = [];
      await pWaitFor(
        async () => {
          const { containers, health: hs } = await live(names);
          const bad = hs.filter((h) => h.state !== 'healthy');
          const healthy = !bad.length && hs.length === names.length;
          const lag = healthy ? await edgeLag(ctx, runner, containers, undefined, names) : [];
          why = [
            ...bad.map((h) => `${h.service} (${h.healthy}/${h.desired} healthy, ${h.state})`),
            ...lag.map((l) => `${l.service} (healthy, but ${edgeWhere(l)} routes to ${l.admitted} of ${l.healthy} replicas)`),
          ];
          return healthy && !lag.length;
        },
        {
          interval: pollMs,
          timeout: {
            milliseconds: timeoutMs,
            fallback: () => {
              throw new OperationError(`not healthy after ${Math.round(timeoutMs / 1000)}s: ${why.join(', ')}`);
            },
          },
        },
      );
    },
    notRunning: async (names) => (await states(names)).filter((h) => h.running === 0).map((h) => h.service),
  };
}

// Release hooks: services.<n>.hooks.beforeRollout runs in a one-off container of the service's
// new definition (its new image, env, secrets, networks) before any replica is replaced; a
// failure aborts the rollout while the old replicas keep serving, and the hook's output is shown.
// afterRollout runs once the replicas are replaced. Each hook is an argv list, never a shell string.
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import { OperationError } from '../errors.js';
import { secretEnvArgs } from '../plan/build/services.js';

export type HookName = 'beforeRollout' | 'afterRollout';

export class HookError extends OperationError {
  constructor(
    readonly service: string,
    readonly hook: HookName,
    readonly exitCode: number,
    readonly output: string[],
  ) {
    const tail = output.slice(-30).join('\n');
    super(
      `the ${hook} hook of ${service} failed (exit ${exitCode})${hook === 'beforeRollout' ? ': nothing was replaced, the old replicas keep serving' : ''}` +
        (tail ? `\n${tail}` : ''),
      { hint: `fix the hook (services.${service}.hooks.${hook}), try it with \`wharf run ${service} -- ...\`, then roll again` },
    );
    this.name = 'HookError';
  }
}

/** The one-off command a service's hook runs as: its argv after the service's env-from-secrets arguments. */
export function hookArgv(ctx: OpsContext, service: string, hook: HookName): string[] | undefined {
  const c = ctx.plan.components.find((x) => x.name === service);
  const argv = c?.hooks?.[hook];
  return c && argv ? [...secretEnvArgs(c), ...argv] : undefined;
}

/** Runs the hook when the service has one; its lines go to `onLine` (masked). Throws HookError when it fails. */
export async function runHook(
  ctx: OpsContext,
  service: string,
  hook: HookName,
  onLine: (line: string) => void = () => {},
): Promise<{ ran: boolean; durationMs: number }> {
  const argv = hookArgv(ctx, service, hook);
  if (!argv) return { ran: false, durationMs: 0 };
  const output: string[] = [];
  const oneOff = {
    service,
    argv,
    attach: { stdin: false, tty: false },
    describe: `run the ${hook} hook of ${service}`,
    redact: secretValues(ctx.secretsDir),
    timeoutMs: 30 * 60_000,
  };
  const r = await ctx.engine.runOnce(runnerOf(ctx), oneOff, {
    reject: false,
    stream: true,
    onLine: (l) => {
      output.push(l);
      onLine(l);
    },
  });
  if (r.exitCode !== 0) throw new HookError(service, hook, r.exitCode, output);
  return { ran: true, durationMs: r.durationMs };
}

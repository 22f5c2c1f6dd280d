// `wharf exec` (a command in a running replica) and `wharf run` (a one-off container of the
// service, removed after): the user's argv handed to the engine as argv, never a shell string;
// the command's exit code is the result. Without a terminal, output is passed through masked.
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { AttachOptions } from '../engine/engine.js';
import type { ContainerState } from '../engine/live.js';
import type { RunOptions } from '../engine/run.js';
import { InputError, OperationError } from '../errors.js';
import { secretEnvArgs } from '../plan/build/services.js';

/** A shell, bash where the image has it: a fixed script, no user input inside. */
export const DEFAULT_SHELL = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'];

export interface AttachedOptions {
  /** stdin and stdout are terminals: an interactive session */
  terminal: boolean;
  /** output when not a terminal session (already masked) */
  write: (text: string, stream: 'stdout' | 'stderr') => void;
}

/** The replica to exec in: the one named, else the first running one. An unknown one is exit 2. */
export function pickReplica(ctx: OpsContext, containers: ContainerState[], service: string, replica?: string): ContainerState {
  const running = containers.filter((c) => c.service === service && c.state === 'running');
  const named = running.map((c) => ctx.engine.replica(c));
  if (replica === undefined) {
    const first = running.sort((a, b) => Number(ctx.engine.replica(a)) - Number(ctx.engine.replica(b)) || (a.name < b.name ? -1 : 1))[0];
    if (!first) throw new OperationError(`no running replica of ${service}`, { hint: 'is the stack up? `wharf status`' });
    return first;
  }
  const i = named.indexOf(replica);
  if (i < 0)
    throw new InputError(`no running replica ${replica} of ${service} (running: ${named.join(', ') || 'none'})`, {
      hint: 'name one of the running replicas (`wharf status`)',
    });
  return running[i]!;
}

/** The user's argv with the env the service reads from secret files (exec: through its entrypoint, which exec skips). */
function withSecretEnv(ctx: OpsContext, service: string, argv: string[], entrypoint: boolean): string[] {
  const c = ctx.plan.components.find((x) => x.name === service);
  const prefix = c ? secretEnvArgs(c) : [];
  if (!prefix.length) return argv;
  return [...(entrypoint ? (c!.entrypoint ?? []) : []), ...prefix, ...argv];
}

function attach(o: AttachedOptions): { opts: AttachOptions; run: RunOptions } {
  const opts = { stdin: true, tty: o.terminal };
  return { opts, run: o.terminal ? { reject: false, attach: 'terminal' } : { reject: false, attach: 'stdin', onOutput: o.write } };
}

/** Runs argv in a running replica; returns its exit code. */
export async function execIn(
  ctx: OpsContext,
  x: { service: string; replica?: string; argv: string[] } & AttachedOptions,
): Promise<{ exitCode: number; container: string }> {
  const run = runnerOf(ctx);
  const live = await ctx.engine.liveState(run);
  const c = pickReplica(ctx, live.containers, x.service, x.replica);
  const a = attach(x);
  const argv = withSecretEnv(ctx, x.service, x.argv.length ? x.argv : DEFAULT_SHELL, true);
  const cmd = ctx.engine.exec(c, argv, `run a command in ${c.name}`, undefined, a.opts);
  const r = await run({ ...cmd, redact: secretValues(ctx.secretsDir) }, a.run);
  return { exitCode: r.exitCode, container: c.name };
}

/** Runs argv in a one-off container of the service, removed when it exits; returns its exit code. */
export async function runOnce(ctx: OpsContext, x: { service: string; argv: string[] } & AttachedOptions): Promise<{ exitCode: number }> {
  const a = attach(x);
  const argv = withSecretEnv(ctx, x.service, x.argv, false);
  const oneOff = { service: x.service, argv, attach: a.opts, describe: `run a one-off ${x.service}`, redact: secretValues(ctx.secretsDir) };
  const r = await ctx.engine.runOnce(runnerOf(ctx), oneOff, a.run);
  return { exitCode: r.exitCode };
}

// What every command file gets: where to print, which executor runs commands, how to ask the
// user, and the one way to end: return an Outcome (main maps it, and every error, to an exit code).
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import type { Runner } from '../engine/run.js';
import { parseDockerHost } from './parse-options.js';
import type { Out } from './output.js';

/** ok: exit 0; failed: the operation ran and did not succeed (1); invalid: refused input (2);
 *  exitCode: a command wharf ran for the user (exec, run) ended so, passed through. */
export type Outcome = 'ok' | 'failed' | 'invalid' | { exitCode: number };

export interface Io {
  out: Out;
  /** the executor every engine command goes through; tests pass a recording one */
  runner?: Runner;
  /** stdin is a terminal: questions can be asked */
  interactive: boolean;
  /** stderr is a terminal: progress lines may be rewritten in place */
  liveProgress: boolean;
  /** print each engine output line as it arrives (WHARF_VERBOSE) */
  showOutput: boolean;
  confirm(question: string): Promise<boolean>;
}

export interface Cli {
  io: Io;
  /** set by action(): what the command returned */
  outcome: Outcome;
}

/** Commander's action handler for a command that returns its Outcome (default ok). */
export function action<A extends unknown[]>(cli: Cli, run: (...args: A) => Promise<Outcome | void> | Outcome | void) {
  return async (...args: A): Promise<void> => {
    cli.outcome = (await run(...args)) ?? 'ok';
  };
}

export const fileOption = () =>
  new Option('-f, --file <path>', 'spec file (default: wharf.yaml or wharf.config.ts in the current directory)');

export const hostOption = () =>
  new Option(
    '-H, --host <docker-host>',
    "swarm: a manager's engine, tcp://HOST:2375 or ssh://USER@HOST (default: cluster.manager, then DOCKER_HOST)",
  ).argParser(parseDockerHost);

export const jsonOption = () => new Option('--json', 'print the result as JSON').default(false);

export type Register = (program: Command, cli: Cli) => void;

export async function askOnTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function processIo(out: Out): Io {
  return {
    out,
    interactive: !!process.stdin.isTTY,
    liveProgress: !!process.stderr.isTTY,
    showOutput: !!process.env.WHARF_VERBOSE,
    confirm: askOnTerminal,
  };
}

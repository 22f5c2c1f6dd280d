// The wharf command line: main registers one file per command (commands/) and is the only
// error boundary. A command returns its Outcome; every error thrown is mapped here, once:
// refused input exit 2 (nothing changed), a failed operation exit 1, anything else is a bug (70).
import { Command, CommanderError } from 'commander';
import { InputError, OperationError } from '../errors.js';
import { UserInputError } from '../spec/issues.js';
import { processIo, type Cli, type Io, type Outcome, type Register } from './command.js';
import { registerBackup, registerVerify } from './commands/backup.js';
import { registerBackups } from './commands/backups.js';
import { registerCheck } from './commands/check.js';
import { registerCluster } from './commands/cluster.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDown } from './commands/down.js';
import { registerExec, registerRun } from './commands/exec.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerLoadtest } from './commands/loadtest.js';
import { registerLogs } from './commands/logs.js';
import { registerMigrate } from './commands/migrate.js';
import { registerNotify } from './commands/notify.js';
import { registerPlan } from './commands/plan.js';
import { registerRender } from './commands/render.js';
import { registerRestore } from './commands/restore.js';
import { registerRollback, registerRollout } from './commands/rollout.js';
import { registerSchema } from './commands/schema.js';
import { registerSecrets } from './commands/secrets.js';
import { registerStatus } from './commands/status.js';
import { registerUp } from './commands/up.js';
import { EXIT } from './exit.js';
import { printError, red } from './format/error.js';
import { printIssues } from './format/issues.js';
import { stdio, type Out } from './output.js';

export { EXIT };

/** In the order `wharf --help` lists them. */
const commands: Register[] = [
  registerInit,
  registerImport,
  registerSchema,
  registerCheck,
  registerMigrate,
  registerRender,
  registerSecrets,
  registerPlan,
  registerUp,
  registerRollout,
  registerRollback,
  registerDown,
  registerStatus,
  registerDoctor,
  registerLogs,
  registerExec,
  registerRun,
  registerLoadtest,
  registerNotify,
  registerBackup,
  registerBackups,
  registerVerify,
  registerRestore,
  registerCluster,
];

export function program(cli: Cli): Command {
  const out = cli.io.out;
  const cmd = new Command('wharf')
    .description('One validated spec -> a whole container platform: edge proxy, services, databases, monitoring, backups.')
    .version('0.1.0')
    .option('--verbose', 'on an internal error, print its stack too (also WHARF_DEBUG=1)')
    .showHelpAfterError()
    .exitOverride();
  cmd.configureOutput({
    writeOut: (s) => out.log(s.replace(/\n$/, '')),
    writeErr: (s) => out.error(s.replace(/\n$/, '')),
    outputError: (s, write) => write(s.replace(/^error:/, red(out, 'error:'))),
  });
  for (const register of commands) register(cmd, cli);
  return cmd;
}

const exits = { ok: EXIT.ok, failed: EXIT.failed, invalid: EXIT.input };
const exitOf = (o: Outcome): number => (typeof o === 'object' ? o.exitCode : exits[o]);

/** Runs wharf with argv; returns the exit code. Nothing else in the CLI picks one. */
export async function main(argv = process.argv, out: Out = stdio, io: Partial<Io> = {}): Promise<number> {
  const cli: Cli = { io: { ...processIo(out), ...io }, outcome: 'ok' };
  try {
    await program(cli).parseAsync(argv);
    return exitOf(cli.outcome);
  } catch (err) {
    const verbose = argv.includes('--verbose') || !!process.env.WHARF_DEBUG;
    return reportError(cli.io.out, err, verbose);
  }
}

/** Prints a failure (one red line, its hint) and picks its exit code. */
export function reportError(out: Out, err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Commander printed its message (and the usage) already.
    return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? EXIT.ok : EXIT.input;
  }
  if (err instanceof UserInputError) {
    printIssues(out, err.issues);
    return err.issues.some((i) => i.severity === 'error') ? EXIT.input : EXIT.ok;
  }
  if (err instanceof InputError || err instanceof OperationError) {
    printError(out, err.message, err.hint);
    return err instanceof InputError ? EXIT.input : EXIT.failed;
  }
  if (isSystemError(err)) {
    // The machine said no (a permission, a full disk): the operation failed, wharf did not.
    printError(out, err.message);
    return EXIT.failed;
  }
  const e = err instanceof Error ? err : new Error(`a non-Error was thrown: ${String(err)}`);
  printError(out, `${e.message}`, 'this is a bug in wharf, please report it with the command you ran and this output');
  out.error(verbose ? (e.stack ?? '') : 'run again with --verbose (or WHARF_DEBUG=1) for the stack trace');
  return EXIT.bug;
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | undefined;
  return err instanceof Error && typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.syscall === 'string';
}

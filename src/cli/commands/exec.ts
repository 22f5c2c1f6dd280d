// wharf exec: a command (default a shell) in a running replica; wharf run: a one-off container
// of the service, removed after. Interactive when stdin is a terminal; the command's exit code
// is wharf's. The command after `--` is passed as argv, never through a shell.
import { action, fileOption, hostOption, type Cli, type Register } from '../command.js';
import type { Out } from '../output.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireServices } from './services.js';

interface ExecFlags extends TargetFlags {
  replica?: string;
}

/** Raw pass-through where the output can take it, else line by line. */
function writer(out: Out): (text: string, stream: 'stdout' | 'stderr') => void {
  if (out.write) return out.write.bind(out);
  return (text, stream) => {
    const print = stream === 'stdout' ? (l: string) => out.log(l) : (l: string) => out.error(l);
    for (const l of text.replace(/\n$/, '').split('\n')) print(l);
  };
}

function attached(cli: Cli) {
  return { terminal: cli.io.interactive && !!process.stdout.isTTY, write: writer(cli.io.out) };
}

export const registerExec: Register = (program, cli) => {
  const c = program
    .command('exec')
    .description('a command in a running replica (default: a shell), interactive on a terminal; exits with its exit code')
    .argument('<service>', 'the service')
    .argument('[command...]', 'after --: the command and its arguments (default: bash, else sh)')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--replica <n>', 'which replica (as `wharf logs` names it); default: the first running one')
    .addHelpText('after', '\nExample: wharf exec api --replica 2 -- node -e "console.log(1)"');
  withTargets(c, 'exec').action(
    action(cli, async (service: string, argv: string[], o: ExecFlags) => {
      const targeted = await loadTargeted('exec', o);
      requireServices(targeted.loaded.plan, [service]);
      const ctx = await opsContext('exec', o, cli.io, { render: false, loaded: targeted });
      const { execIn } = await import('../../ops/exec.js');
      const r = await execIn(ctx, { service, replica: o.replica, argv, ...attached(cli) });
      return { exitCode: r.exitCode };
    }),
  );
};

export const registerRun: Register = (program, cli) => {
  const c = program
    .command('run')
    .description("a one-off container of the service (its image, env, secrets and networks), removed after; exits with the command's code")
    .argument('<service>', 'the service')
    .argument('<command...>', 'after --: the command and its arguments')
    .addOption(fileOption())
    .addOption(hostOption())
    .addHelpText('after', '\nExample: wharf run api -- npm run migrate');
  withTargets(c, 'run').action(
    action(cli, async (service: string, argv: string[], o: TargetFlags) => {
      const targeted = await loadTargeted('run', o);
      requireServices(targeted.loaded.plan, [service]);
      const ctx = await opsContext('run', o, cli.io, { render: false, loaded: targeted });
      const { runOnce } = await import('../../ops/exec.js');
      const r = await runOnce(ctx, { service, argv, ...attached(cli) });
      return { exitCode: r.exitCode };
    }),
  );
};

// wharf logs: the merged log lines of a service's replicas (every app service when none is
// named), each prefixed by its replica as the engine names it; --follow streams them.
import { OperationError } from '../../errors.js';
import type { Plan } from '../../plan/model.js';
import { action, fileOption, hostOption, type Register } from '../command.js';
import { parseSince, parseTail } from '../parse-options.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireServices } from './services.js';

interface Flags extends TargetFlags {
  follow: boolean;
  since?: string;
  tail?: number | 'all';
}

/** Compose v2 starts each line with an erase-line sequence even with --no-color, piped too. */
export const logLine = (line: string): string => line.replace(/^(\x1b\[2K)+/, '');

/** Named services, or every app service: what `wharf logs` reads. */
export function logServices(plan: Plan, named: string[]): string[] {
  if (named.length) return [...new Set(named)];
  return plan.components.filter((c) => c.role === 'app').map((c) => c.name);
}

export const registerLogs: Register = (program, cli) => {
  const c = program
    .command('logs')
    .description("the merged log lines of a service's replicas, each prefixed by its replica (every app service when none is named)")
    .argument('[service...]', 'services to read (default: every app service)')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--follow', 'keep printing new lines until interrupted (Ctrl-C)', false)
    .option('--since <time>', 'only lines since a duration ago (10m, 2h) or a timestamp (2026-12-07T10:00:00Z)', parseSince)
    .option('-n, --tail <n>', 'lines per replica, or all (default: 100, all with --since)', parseTail);
  withTargets(c, 'logs').action(
    action(cli, async (named: string[], o: Flags) => {
      const targeted = await loadTargeted('logs', o);
      requireServices(targeted.loaded.plan, named);
      const services = logServices(targeted.loaded.plan, named);
      const ctx = await opsContext('logs', o, cli.io, { render: false, loaded: targeted });
      const { runnerOf, secretValues } = await import('../../engine/context.js');
      const run = runnerOf(ctx);
      const redact = secretValues(ctx.secretsDir);
      const tail = o.tail ?? (o.since ? 'all' : 100);
      const { out } = cli.io;
      const onLine = (line: string, stream: 'stdout' | 'stderr') =>
        stream === 'stdout' ? out.log(logLine(line)) : out.error(logLine(line));
      const results = await Promise.all(
        services.map((s) => {
          const cmd = { ...ctx.engine.logs(s, tail, { since: o.since, follow: o.follow }), redact };
          return run(cmd, { reject: false, onLine, stream: o.follow });
        }),
      );
      const failed = results.filter((r) => r.exitCode !== 0);
      if (failed.length) {
        const which = failed.map((r) => `${r.cmd.describe} (exit ${r.exitCode})`).join(', ');
        throw new OperationError(`could not read the logs: ${which}`, { hint: 'is the stack running? `wharf status`' });
      }
    }),
  );
};

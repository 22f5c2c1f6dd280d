// wharf logs: every replica of the named services (every app service when none is named), merged
// in time order, each line prefixed by its service, replica and node; --json one object a line.
// Secret values are masked before anything prints them. --follow runs until Ctrl-C, through rollouts.
import { InvalidArgumentError } from 'commander';
import { OperationError } from '../../errors.js';
import type { Plan } from '../../plan/model.js';
import { eraseLine, formatLine, jsonLine, prefixOf, type LogLine } from '../../ops/log-merge.js';
import { action, fileOption, hostOption, type Register } from '../command.js';
import { parseSince, parseTail } from '../parse-options.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireServices } from './services.js';

interface Flags extends TargetFlags {
  follow: boolean;
  since?: string;
  tail?: number | 'all';
  grep?: RegExp;
  json: boolean;
}

/** Compose v2 starts each line with an erase-line sequence even with --no-color, piped too. */
export const logLine = eraseLine;

/** Named services, or every app service: what `wharf logs` reads. */
export function logServices(plan: Plan, named: string[]): string[] {
  if (named.length) return [...new Set(named)];
  return plan.components.filter((c) => c.role === 'app').map((c) => c.name);
}

/** --grep: a JavaScript regular expression; a bad one is a usage error (exit 2). */
export function parseGrep(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`"${value}" is not a regular expression: ${(err as Error).message}`);
  }
}

export const registerLogs: Register = (program, cli) => {
  const c = program
    .command('logs')
    .description(
      "every replica's log lines merged by time, each prefixed by service, replica and node (every app service when none is named)",
    )
    .argument('[service...]', 'services to read (default: every app service)')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--follow', 'keep printing new lines, through rollouts, until interrupted (Ctrl-C)', false)
    .option('--since <time>', 'only lines since a duration ago (10m, 2h) or a timestamp (2026-12-07T10:00:00Z)', parseSince)
    .option('-n, --tail <n>', 'lines per replica, or all (default: 100, all with --since)', parseTail)
    .option('--grep <regex>', 'only lines matching this regular expression', parseGrep)
    .option('--json', 'one JSON object per line: {time, service, replica, node, stream, line}', false);
  withTargets(c, 'logs').action(
    action(cli, async (named: string[], o: Flags) => {
      const targeted = await loadTargeted('logs', o);
      requireServices(targeted.loaded.plan, named);
      const services = logServices(targeted.loaded.plan, named);
      const ctx = await opsContext('logs', o, cli.io, { render: false, loaded: targeted });
      const { readLogs } = await import('../../ops/logs.js');
      const { out } = cli.io;
      let width = 0;
      const emit = (l: LogLine) => {
        if (o.json) return out.log(jsonLine(l));
        width = Math.max(width, prefixOf(l).length);
        return l.stream === 'stdout' ? out.log(formatLine(l, width)) : out.error(formatLine(l, width));
      };
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      if (o.follow) process.once('SIGINT', interrupt);
      try {
        const r = await readLogs(
          ctx,
          { services, since: o.since, tail: o.tail ?? (o.since ? 'all' : 100), grep: o.grep, follow: o.follow, signal: stop.signal },
          emit,
        );
        if (r.failed.length) {
          const which = r.failed.map((f) => `${prefixOf(f.source)} (exit ${f.exitCode})`).join(', ');
          throw new OperationError(`could not read the logs of ${which}`, { hint: 'is the stack running? `wharf status`' });
        }
        if (!r.replicas) out.error(`no replica of ${services.join(', ')} to read: is the stack up? (\`wharf status\`)`);
      } finally {
        process.removeListener('SIGINT', interrupt);
      }
    }),
  );
};

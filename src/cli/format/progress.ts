// Progress for people, on stderr: one line per step; on a terminal the health line is
// rewritten in place. Results go to stdout.
import type { UpEvent } from '../../ops/up.js';
import type { RolloutEventOut, ServiceRollout } from '../../ops/rollout.js';
import type { Io } from '../command.js';
import { seconds } from './units.js';
import { table } from './table.js';
import { planLines } from './plan.js';

export function upProgress(io: Io): (e: UpEvent) => void {
  const { out, liveProgress: tty } = io;
  let last = '';
  return (e) => {
    if (e.kind === 'step') {
      if (tty && last) {
        process.stderr.write('\n');
        last = '';
      }
      if (e.status === 'start') out.error(`• ${e.describe}`);
      else out.error(`  ${e.status === 'done' ? '✓' : '–'} ${e.step}${e.durationMs !== undefined ? ` (${seconds(e.durationMs)})` : ''}`);
    } else if (e.kind === 'output') {
      if (io.showOutput) out.error(`    ${e.line}`);
    } else if (e.kind === 'plan') {
      for (const l of planLines(e)) out.error(l);
    } else {
      const healthy = e.services.filter((s) => s.state === 'healthy').length;
      const waiting = e.services.filter((s) => s.state !== 'healthy').map((s) => `${s.service} ${s.healthy}/${s.desired} ${s.state}`);
      const more = waiting.length > 4 ? ', …' : '';
      const tail = waiting.length ? `: waiting for ${waiting.slice(0, 4).join(', ')}${more}` : '';
      const line = `  ${healthy}/${e.services.length} services healthy after ${(e.elapsedMs / 1000).toFixed(0)}s${tail}`;
      if (line === last) return;
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else out.error(line);
      last = line;
    }
  };
}

/** Ends a line the live progress left open, before the result is printed. */
export function endProgress(io: Io): void {
  if (io.liveProgress) process.stderr.write('\n');
}

export function rolloutProgress(io: Io, json: boolean): ((e: RolloutEventOut) => void) | undefined {
  if (json) return undefined;
  return (e) => io.out.error(`  ${e.service} [${e.phase}] ${e.detail} (${seconds(e.elapsedMs)})`);
}

export function rolloutTable(rs: ServiceRollout[]): string {
  return table(
    ['service', 'result', 'replicas', 'replaced', 'started', 'waves', 'revision', 'time'],
    rs.map((r) => [
      r.service,
      r.ok ? 'ok' : `FAILED: ${r.error}`,
      r.replicas,
      r.replaced,
      r.started,
      r.waves,
      r.revision ?? '',
      seconds(r.durationMs),
    ]),
  );
}

// wharf restore: a snapshot back into its target (asked first, a safety snapshot taken, checked).
import type { RestoreRequest, RestoreResult } from '../../ops/backup.js';
import { action, fileOption, hostOption, jsonOption, type Cli, type Io, type Register } from '../command.js';
import { InputError } from '../../errors.js';
import { table } from '../format/table.js';
import { phaseLine, seconds } from '../format/units.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { backupProgress } from './backup.js';
import { requireBackupTarget, requireSnapshotId } from './backup-targets.js';

interface Flags extends TargetFlags {
  snapshot: string;
  to?: string;
  toScratch?: boolean | string;
  all: boolean;
  yes: boolean;
  json: boolean;
}

export const registerRestore: Register = (program, cli) => {
  const c = program
    .command('restore')
    .description('restore a target from a snapshot (latest by default); asks first, takes a safety snapshot, checks the result')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--snapshot <id>', 'snapshot id, or latest', 'latest')
    .option('--to-scratch [name]', 'restore into a scratch database instead of the live one')
    .option('--to <time>', 'PostgreSQL with backup.pointInTime: recover the database to this RFC 3339 moment')
    .option('--all', 'every database, cache and volume from its latest snapshot (with --to: the newest at or before it)', false)
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(jsonOption());
  withTargets(c, 'restore').action(
    action(cli, async (target: string | undefined, o: Flags) => {
      const { io } = cli;
      if (o.all && target !== undefined) throw new InputError(`--all restores every backup: it takes no target ("${target}")`);
      if (!o.all && target === undefined)
        throw new InputError('name what to restore, or pass --all', { hint: '`wharf backups` lists them' });
      const targeted = await loadTargeted('restore', o);
      if (o.all || target === undefined) return restoreEverything(cli, o, targeted);
      requireBackupTarget(targeted.loaded.plan, target, { one: true });
      requireSnapshotId(o.snapshot);
      if (o.to !== undefined) return restoreAt(cli, target, o, targeted);
      const ctx = await opsContext('restore', o, io, { render: false, loaded: targeted });
      const { restoreBackup, stackBackupExecutor } = await import('../../ops/backup.js');
      const r = await restoreBackup(await stackBackupExecutor(ctx), {
        target,
        snapshot: o.snapshot,
        toScratch: o.toScratch,
        onProgress: backupProgress(io, o.json),
        confirm: (req) => ask(io, req, o),
      });
      if (o.json) io.out.log(JSON.stringify(r, null, 2));
      else if (r.cancelled) io.out.error('restore cancelled: nothing changed');
      else io.out.log(resultTable(r));
      // Not confirmed: nothing was done, as with any other refused input.
      if (r.cancelled) return 'invalid';
      if (r.ok) {
        const { restoreEvent } = await import('../../ops/events.js');
        const e = await restoreEvent(ctx, target, o.toScratch === true);
        if (e && !e.posted) io.out.error(`notify: the restore event was not posted: ${e.error}`);
      }
      return r.ok && r.verified !== false ? 'ok' : 'failed';
    }),
  );
};

async function restoreAt(cli: Cli, target: string, o: Flags, targeted: Awaited<ReturnType<typeof loadTargeted>>) {
  const { io } = cli;
  const { parseRecoveryTarget, restoreToTime } = await import('../../ops/pitr.js');
  if (o.toScratch !== undefined || o.snapshot !== 'latest')
    throw new InputError('--to recovers the database in place: it takes no --snapshot or --to-scratch');
  const to = parseRecoveryTarget(o.to!, new Date());
  const ctx = await opsContext('restore', o, io, { render: false, loaded: targeted });
  const { stackBackupExecutor } = await import('../../ops/backup.js');
  const r = await restoreToTime(await stackBackupExecutor(ctx), {
    target,
    to,
    onProgress: backupProgress(io, o.json),
    confirm: async (req) => {
      const what =
        `recover ${req.database} IN PLACE to ${req.to} (recoverable ${req.window.earliest} to ${req.window.latest}); ` +
        `stops ${req.stops.map((x) => x.service).join(', ')} first and starts them again after`;
      return confirmed(io, what, o);
    },
  });
  if (o.json) io.out.log(JSON.stringify(r, null, 2));
  else if (r.cancelled) io.out.error('restore cancelled: nothing changed');
  else {
    const reached = r.verified === undefined ? '' : r.verified ? `yes (${r.tables ?? 0} tables)` : 'NO';
    const row = [r.job, r.ok ? 'ok' : `FAILED: ${r.error ?? `exit ${r.exitCode}`}`, r.destination ?? '', reached, seconds(r.durationMs)];
    io.out.log(
      table(['job', 'result', 'recovered', 'stopped at the moment', 'time'], [row]) + (r.phases?.length ? `\n${phaseLine(r.phases)}` : ''),
    );
  }
  if (r.cancelled) return 'invalid';
  return r.ok && r.verified !== false ? 'ok' : 'failed';
}

/** --all: every job from its latest snapshot (or the newest at or before --to), asked once. */
async function restoreEverything(cli: Cli, o: Flags, targeted: Awaited<ReturnType<typeof loadTargeted>>) {
  const { io } = cli;
  requireBackupTarget(targeted.loaded.plan, undefined);
  if (o.toScratch !== undefined || o.snapshot !== 'latest')
    throw new InputError('--all restores each backup in place from its own snapshot: it takes no --snapshot or --to-scratch');
  let to: Date | undefined;
  if (o.to !== undefined) {
    const { parseRecoveryTarget } = await import('../../ops/pitr.js');
    to = parseRecoveryTarget(o.to, new Date());
  }
  const ctx = await opsContext('restore', o, io, { render: false, loaded: targeted });
  const { stackBackupExecutor } = await import('../../ops/backup.js');
  const { restoreAll } = await import('../../ops/backup-restore-all.js');
  const r = await restoreAll(await stackBackupExecutor(ctx), {
    to,
    onProgress: backupProgress(io, o.json),
    confirm: (items) => {
      const each = items.map((i) => `${i.target} (${i.kind}) from ${i.snapshot.shortId} of ${i.snapshot.time}`).join(', ');
      const stops = [...new Set(items.flatMap((i) => i.stops.map((s) => s.service)))];
      const safety = '; a safety snapshot of each database and volume is taken first';
      return confirmed(io, `restore IN PLACE ${each}${safety}; stops ${stops.join(', ') || 'nothing'} in turn`, o);
    },
  });
  if (o.json) io.out.log(JSON.stringify(r, null, 2));
  else if (r.cancelled) io.out.error('restore cancelled: nothing changed');
  else {
    io.out.log(r.results.map(resultTable).join('\n\n'));
    if (r.skipped.length) io.out.error(`not restored (an earlier restore failed): ${r.skipped.join(', ')}`);
    io.out.log(`${r.results.filter((x) => x.ok).length} of ${r.results.length + r.skipped.length} restored in ${seconds(r.durationMs)}`);
  }
  if (r.cancelled) return 'invalid';
  return r.ok ? 'ok' : 'failed';
}

async function ask(io: Io, req: RestoreRequest, o: Flags): Promise<boolean> {
  const where = req.destination === 'scratch' ? 'into a scratch copy' : 'IN PLACE, replacing its current data';
  const safety = req.safetySnapshot ? '; a safety snapshot is taken first' : '';
  const stops = req.stops.length ? `; stops ${req.stops.map((x) => x.service).join(', ')} first and starts them again after` : '';
  const what = `restore ${req.target} (${req.kind}) ${where} from snapshot ${req.snapshot.shortId} of ${req.snapshot.time}${safety}${stops}`;
  return confirmed(io, what, o);
}

/** --yes says what runs; without it a terminal asks, anything else refuses. */
async function confirmed(io: Io, what: string, o: Flags): Promise<boolean> {
  if (o.yes) {
    if (!o.json) io.out.error(what);
    return true;
  }
  if (!io.interactive) {
    io.out.error(`${what}: refusing without confirmation (pass --yes)`);
    return false;
  }
  return io.confirm(`${what}?`);
}

function resultTable(r: RestoreResult): string {
  const checked = r.verified === undefined ? '' : r.verified ? `yes (${r.tables ?? 0} tables)` : 'MISMATCH';
  const row = [
    r.job,
    r.ok ? 'ok' : `FAILED: ${r.error ?? `exit ${r.exitCode}`}`,
    r.snapshot?.slice(0, 8) ?? '',
    r.destination ?? '',
    r.safetySnapshot?.slice(0, 8) ?? '',
    checked,
    seconds(r.durationMs),
  ];
  const head = ['job', 'result', 'snapshot', 'destination', 'safety snapshot', 'checked against manifest', 'time'];
  return table(head, [row]) + (r.phases?.length ? `\n${phaseLine(r.phases)}` : '');
}

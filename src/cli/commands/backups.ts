// wharf backups: the snapshots of each job, with size, age and verification state.
import type { JobListing } from '../../ops/backup.js';
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { age, bytes } from '../format/units.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireBackupTarget } from './backup-targets.js';

export const registerBackups: Register = (program, cli) => {
  const c = program
    .command('backups')
    .description('list snapshots with size, age and verification state')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'backups').action(
    action(cli, async (target: string | undefined, o: TargetFlags & { json: boolean }) => {
      const targeted = await loadTargeted('backups', o);
      requireBackupTarget(targeted.loaded.plan, target);
      const ctx = await opsContext('backups', o, cli.io, { render: false, loaded: targeted });
      const { listBackups, stackBackupExecutor } = await import('../../ops/backup.js');
      const ex = await stackBackupExecutor(ctx);
      const { pitrWindows } = await import('../../ops/pitr.js');
      // side by side: each waits out the destination's timeout when it is unreachable
      const [r, windows] = await Promise.all([listBackups(ex, { target }), pitrWindows(ex, target)]);
      const out = cli.io.out;
      if (o.json) {
        // a point-in-time database's listing carries its recoverable window
        out.log(
          JSON.stringify(
            r.map((j) => ({ ...j, pointInTime: windows.find((w) => w.database === j.job) })),
            null,
            2,
          ),
        );
      } else {
        out.log(table(['job', 'snapshot', 'time', 'age', 'size', 'verification'], r.flatMap(rows)));
        for (const j of r) {
          if (j.lastBackup && !j.lastBackup.ok)
            out.error(`${j.job}: last backup FAILED${j.lastBackup.error ? `: ${j.lastBackup.error}` : ''}`);
          if (j.lastVerify && !j.lastVerify.ok)
            out.error(`${j.job}: last verification FAILED${j.lastVerify.error ? `: ${j.lastVerify.error}` : ''}`);
        }
      }
      if (!o.json && windows.length)
        out.log(
          table(
            ['database', 'recoverable from', 'to', 'WAL waiting'],
            windows.map((w) =>
              w.ok
                ? [w.database, w.earliest ?? 'no base backup yet', w.latest ?? '', String(w.pending ?? 0)]
                : [w.database, `ERROR: ${w.error}`, '', ''],
            ),
          ),
        );
      const bad =
        windows.some((w) => !w.ok) || r.some((j) => !j.ok || (j.lastBackup && !j.lastBackup.ok) || (j.lastVerify && !j.lastVerify.ok));
      return bad ? 'failed' : 'ok';
    }),
  );
};

function rows(j: JobListing): string[][] {
  if (!j.ok) return [[j.job, '—', '', '', '', `ERROR: ${j.error ?? 'unreachable'}`]];
  if (!j.snapshots.length) return [[j.job, '—', '', '', '', 'no snapshot yet']];
  return j.snapshots.map((s) => [
    j.job,
    s.shortId,
    s.time.replace(/\.\d+.*$/, ''),
    age(s.ageSeconds),
    bytes(s.bytes),
    s.safety ? 'safety (pre-restore)' : s.verification,
  ]);
}

// wharf backup / wharf verify: back up now, verify now (restic check and a test restore).
import type { Io } from '../command.js';
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { bytes, phaseLine, seconds } from '../format/units.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireBackupTarget } from './backup-targets.js';

/** Job progress on stderr; the scripts' own log lines only with WHARF_VERBOSE. */
export function backupProgress(io: Io, json: boolean) {
  if (json) return undefined;
  return (e: { job: string; phase: string; message: string }) => {
    if (e.phase === 'log' && !io.showOutput) return;
    io.out.error(`  ${e.job}: ${e.phase === 'log' ? '' : `${e.phase} `}${e.message}`);
  };
}

const result = (x: { ok: boolean; error?: string; exitCode?: number }) => (x.ok ? 'ok' : `FAILED: ${x.error ?? `exit ${x.exitCode}`}`);

export const registerBackup: Register = (program, cli) => {
  const c = program
    .command('backup')
    .description('back up now: every backup job, or those of one target (database, cache or volume)')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'backup').action(
    action(cli, async (target: string | undefined, o: TargetFlags & { json: boolean }) => {
      const targeted = await loadTargeted('backup', o);
      requireBackupTarget(targeted.loaded.plan, target);
      const ctx = await opsContext('backup', o, cli.io, { render: false, loaded: targeted });
      const { backupNow, stackBackupExecutor } = await import('../../ops/backup.js');
      const r = await backupNow(await stackBackupExecutor(ctx), { target, onProgress: backupProgress(cli.io, o.json) });
      const { backupEvents } = await import('../../ops/events.js');
      for (const e of await backupEvents(ctx, r))
        if (!e.posted) cli.io.out.error(`notify: a backup-failed event was not posted: ${e.error}`);
      if (o.json) {
        cli.io.out.log(JSON.stringify(r, null, 2));
      } else {
        const head = ['job', 'target', 'result', 'snapshot', 'dump size', 'added', 'snapshots kept', 'time'];
        const rows = r.map((x) => [
          x.job,
          x.target,
          result(x),
          x.snapshot?.slice(0, 8) ?? '',
          bytes(x.bytes),
          bytes(x.added),
          x.snapshots ?? '',
          seconds(x.durationMs),
        ]);
        cli.io.out.log(table(head, rows));
        for (const x of r) if (x.phases.length) cli.io.out.log(`${x.job}: ${phaseLine(x.phases)}`);
      }
      return r.every((x) => x.ok) ? 'ok' : 'failed';
    }),
  );
};

export const registerVerify: Register = (program, cli) => {
  const c = program
    .command('verify')
    .description('verify backups now: restic check, then a test restore into a scratch database compared with the manifest')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--no-restore-test', 'only check the repository')
    .addOption(jsonOption());
  withTargets(c, 'verify').action(
    action(cli, async (target: string | undefined, o: TargetFlags & { restoreTest: boolean; json: boolean }) => {
      const targeted = await loadTargeted('verify', o);
      requireBackupTarget(targeted.loaded.plan, target);
      const ctx = await opsContext('verify', o, cli.io, { render: false, loaded: targeted });
      const { verifyBackups, stackBackupExecutor } = await import('../../ops/backup.js');
      const opts = { target, restoreTest: o.restoreTest, onProgress: backupProgress(cli.io, o.json) };
      const r = await verifyBackups(await stackBackupExecutor(ctx), opts);
      if (o.json) {
        cli.io.out.log(JSON.stringify(r, null, 2));
      } else {
        const rows = r.map((x) => [x.job, result(x), x.restoreTest ? 'yes' : 'no', x.tables ?? '', seconds(x.durationMs)]);
        cli.io.out.log(table(['job', 'result', 'restore test', 'tables compared', 'time'], rows));
      }
      return r.every((x) => x.ok) ? 'ok' : 'failed';
    }),
  );
};

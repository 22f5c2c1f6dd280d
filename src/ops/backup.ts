// wharf backup / backups / restore: run the backup service's scripts (rendered by
// src/render/backup) inside its container, stream their progress, and return structured
// results. The scripts do the work and the checks; these functions choose jobs, ask for
// confirmation, and turn the scripts' output into results.
import type { BackupJob } from '../plan/model.js';
import type { BackupExecutor } from './backup-executor.js';
import { runScript, selectJobs, type PhaseTime, type ProgressFn } from './backup-script.js';

export { BackupError, engineServiceControl, stackBackupExecutor, type BackupExecutor, type ServiceControl } from './backup-executor.js';
export { selectJobs, type BackupProgress, type PhaseTime, type ProgressFn } from './backup-script.js';
export { listBackups, type JobListing, type SnapshotInfo, type VerificationState } from './backup-list.js';
export { restoreBackup, restoreStops, type RestoreRequest, type RestoreResult, type RestoreStop } from './backup-restore.js';

export interface BackupRunResult {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  ok: boolean;
  exitCode: number;
  snapshot?: string;
  /** size of the dump (before dedup and compression) */
  bytes?: number;
  /** bytes this run added to the repository */
  added?: number;
  /** snapshots in the repository after retention */
  snapshots?: number;
  durationMs: number;
  /** where the time went (open, manifest, dump, check, retention) */
  phases: PhaseTime[];
  /** the script's last error line when it failed */
  error?: string;
}

export interface VerifyRunResult {
  job: string;
  ok: boolean;
  exitCode: number;
  restoreTest: boolean;
  tables?: number;
  durationMs: number;
  error?: string;
}

/** `wharf backup [target]`: a backup of every selected job now, one after the other. */
export async function backupNow(ex: BackupExecutor, opts: { target?: string; onProgress?: ProgressFn } = {}): Promise<BackupRunResult[]> {
  const out: BackupRunResult[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const r = await runScript(ex, j.name, ex.script('backup', [j.name], `back up ${j.name}`, 6 * 3600_000), opts.onProgress);
    const js = r.json ?? {};
    out.push({
      job: j.name,
      target: j.target,
      kind: j.kind,
      ok: r.exitCode === 0 && typeof js.snapshot === 'string',
      exitCode: r.exitCode,
      snapshot: js.snapshot as string | undefined,
      bytes: js.bytes as number | undefined,
      added: js.added as number | undefined,
      snapshots: js.snapshots as number | undefined,
      durationMs: r.durationMs,
      phases: r.phases,
      error: r.error,
    });
  }
  return out;
}

/** restic check plus (by default) a test restore of the latest snapshot into scratch. */
export async function verifyBackups(
  ex: BackupExecutor,
  opts: { target?: string; restoreTest?: boolean; readDataSubset?: string; onProgress?: ProgressFn } = {},
): Promise<VerifyRunResult[]> {
  const out: VerifyRunResult[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const args = [j.name];
    if (opts.restoreTest === false) args.push('--no-restore-test');
    if (opts.restoreTest === true) args.push('--restore-test');
    if (opts.readDataSubset) args.push('--read-data-subset', opts.readDataSubset);
    const r = await runScript(ex, j.name, ex.script('verify', args, `verify ${j.name}`, 6 * 3600_000), opts.onProgress);
    const js = r.json ?? {};
    out.push({
      job: j.name,
      ok: r.exitCode === 0,
      exitCode: r.exitCode,
      restoreTest: js.restoreTest === true,
      tables: js.tables as number | undefined,
      durationMs: r.durationMs,
      error: r.error,
    });
  }
  return out;
}

// Made by prepare() with the rest of the project's files; kept here for callers of the backup ops.
export { ensureBackupDirs } from './prepare.js';

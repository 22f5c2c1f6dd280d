// wharf backups: the snapshots of each job, newest first, with the state of their verification.
import { byCodeUnit } from '../plan/sort.js';
import type { BackupJob } from '../plan/model.js';
import type { BackupExecutor } from './backup-executor.js';
import { runScript, selectJobs } from './backup-script.js';

export type VerificationState = 'restore-tested' | 'read-back' | 'failed';

export interface SnapshotInfo {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  id: string;
  shortId: string;
  time: string;
  ageSeconds: number;
  /** dump size, from restic's snapshot summary (restic >= 0.17) */
  bytes?: number;
  tags: string[];
  /** taken by a restore before it overwrote the target */
  safety: boolean;
  /**
   * restore-tested: the last verification restored this snapshot and it matched the source;
   * failed: the last verification of this snapshot failed;
   * read-back: checked at backup time (size floor, read back and parsed from the repository).
   */
  verification: VerificationState;
}

export interface JobListing {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  ok: boolean;
  error?: string;
  lastBackup?: { ok: boolean; at?: number; lastSuccess?: number; error?: string };
  lastVerify?: { ok: boolean; at?: number; snapshot?: string; restoreTest?: boolean; error?: string };
  snapshots: SnapshotInfo[];
}

interface ResticSnapshot {
  id: string;
  short_id: string;
  time: string;
  tags?: string[];
  summary?: { total_bytes_processed?: number };
}

/** `wharf backups [target]`: snapshots per job, newest first, with size, age and verification state. */
export async function listBackups(ex: BackupExecutor, opts: { target?: string; now?: Date } = {}): Promise<JobListing[]> {
  const now = (opts.now ?? new Date()).getTime();
  const out: JobListing[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const r = await runScript(ex, j.name, ex.script('list', [j.name], `list snapshots of ${j.name}`, 120_000));
    const base = { job: j.name, target: j.target, kind: j.kind };
    if (r.exitCode !== 0 || !r.json) {
      out.push({ ...base, ok: false, error: r.error ?? 'no answer from the backup service', snapshots: [] });
      continue;
    }
    const js = r.json as { backup: Record<string, unknown>; verify: Record<string, unknown>; snapshots: ResticSnapshot[] | null };
    const vOk = js.verify.status === 1;
    const vSnap = typeof js.verify.snapshot === 'string' && js.verify.snapshot ? js.verify.snapshot : undefined;
    const snaps = (js.snapshots ?? [])
      .map((s): SnapshotInfo => {
        const tags = s.tags ?? [];
        const tested = vSnap !== undefined && s.id === vSnap;
        return {
          ...base,
          id: s.id,
          shortId: s.short_id,
          time: s.time,
          ageSeconds: Math.max(0, Math.round((now - Date.parse(s.time)) / 1000)),
          bytes: s.summary?.total_bytes_processed,
          tags,
          safety: tags.includes('wharf-safety'),
          verification: tested ? (vOk && js.verify.restoreTest === 1 ? 'restore-tested' : vOk ? 'read-back' : 'failed') : 'read-back',
        };
      })
      .sort((a, b) => byCodeUnit(b.time, a.time));
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    out.push({
      ...base,
      ok: true,
      snapshots: snaps,
      lastBackup:
        js.backup.status === null
          ? undefined
          : {
              ok: js.backup.status === 1,
              at: num(js.backup.lastRun),
              lastSuccess: num(js.backup.lastSuccess),
              error: str(js.backup.error),
            },
      lastVerify:
        js.verify.status === null
          ? undefined
          : { ok: vOk, at: num(js.verify.lastRun), snapshot: vSnap, restoreTest: js.verify.restoreTest === 1, error: str(js.verify.error) },
    });
  }
  return out;
}

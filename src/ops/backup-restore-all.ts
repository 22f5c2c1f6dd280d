// wharf restore --all: every database, cache and volume of the stack back from its latest
// snapshot (or the newest one at or before --to), each in place and checked; the disaster
// recovery of a stack brought up empty on a new host with the spec and the exported secrets.
import type { BackupJob } from '../plan/model.js';
import { BackupError, type BackupExecutor } from './backup-executor.js';
import { listBackups, type SnapshotInfo } from './backup-list.js';
import { restoreBackup, restoreStops, type RestoreResult, type RestoreStop } from './backup-restore.js';
import { selectJobs, type ProgressFn } from './backup-script.js';

export interface RestoreAllItem {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  snapshot: SnapshotInfo;
  stops: RestoreStop[];
}

export interface RestoreAllResult {
  ok: boolean;
  cancelled: boolean;
  /** one per job, in restore order; jobs after a failure are not attempted */
  results: RestoreResult[];
  /** jobs not restored because an earlier one failed */
  skipped: string[];
  durationMs: number;
}

// data before the apps read it: volumes and caches (their owners restart), then databases
const ORDER: Record<BackupJob['kind'], number> = { volume: 0, redis: 1, mysql: 2, postgres: 2 };

/**
 * Chooses the snapshot of every job first (all must have one: nothing is touched otherwise),
 * asks once, then restores them one after the other, each in place with its own checks.
 */
export async function restoreAll(
  ex: BackupExecutor,
  opts: {
    /** newest snapshot at or before this moment; the latest without it */
    to?: Date;
    noSafety?: boolean;
    confirm: (items: RestoreAllItem[]) => Promise<boolean> | boolean;
    onProgress?: ProgressFn;
    healthTimeoutMs?: number;
  },
): Promise<RestoreAllResult> {
  const t0 = performance.now();
  const jobs = [...selectJobs(ex.plan)].sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
  const listings = await listBackups(ex);
  const items: RestoreAllItem[] = [];
  const missing: string[] = [];
  for (const j of jobs) {
    const l = listings.find((x) => x.job === j.name);
    if (!l || !l.ok) throw new BackupError(`cannot list the snapshots of ${j.name}: ${l?.error ?? 'no answer'}; nothing was restored`);
    // newest first (listBackups sorts); restic times carry a zone, so Date.parse compares moments
    const snap = l.snapshots.find((s) => !s.safety && (!opts.to || Date.parse(s.time) <= opts.to.getTime()));
    if (!snap) missing.push(j.name);
    else items.push({ job: j.name, target: j.target, kind: j.kind, snapshot: snap, stops: restoreStops(ex.plan, j) });
  }
  if (missing.length) {
    const when = opts.to ? ` at or before ${opts.to.toISOString()}` : '';
    throw new BackupError(`no snapshot${when} of ${missing.join(', ')}; nothing was restored`);
  }
  if (!(await opts.confirm(items))) return { ok: false, cancelled: true, results: [], skipped: [], durationMs: 0 };
  const results: RestoreResult[] = [];
  for (const it of items) {
    opts.onProgress?.({
      job: it.job,
      phase: 'restore',
      message: `restoring ${it.target} from ${it.snapshot.shortId} of ${it.snapshot.time}`,
    });
    const r = await restoreBackup(ex, {
      target: it.job,
      snapshot: it.snapshot.id,
      listed: it.snapshot,
      noSafety: opts.noSafety,
      confirm: () => true,
      onProgress: opts.onProgress,
      healthTimeoutMs: opts.healthTimeoutMs,
    });
    results.push(r);
    // a failed restore leaves its data as the script left it: stop before touching the next
    if (!r.ok || r.verified === false) break;
  }
  const skipped = items.slice(results.length).map((i) => i.job);
  const ok = !skipped.length && results.every((r) => r.ok && r.verified !== false);
  return { ok, cancelled: false, results, skipped, durationMs: Math.round(performance.now() - t0) };
}

// wharf restore: into scratch, or in place (stop what writes to the data, restore, start it
// again, check the restored data against the manifest taken with the backup).
import { BACKUP_COMPONENT, redisDataVolume } from '../plan/backup.js';
import type { BackupJob, Plan } from '../plan/model.js';
import { BackupError, type BackupExecutor } from './backup-executor.js';
import { listBackups, type SnapshotInfo } from './backup-list.js';
import { runScript, selectJobs, type PhaseTime, type ProgressFn, type ScriptOut } from './backup-script.js';

/** A service an in-place restore stops first, and why (shown in the progress output). */
export interface RestoreStop {
  service: string;
  reason: string;
}

/**
 * What an in-place restore of a job stops, in stop order: the services writing to the data
 * (apps that use the database or cache, services mounting the volume), then for Redis the
 * cache itself (it loads the RDB only when it starts). They start again in reverse order.
 */
export function restoreStops(plan: Plan, j: BackupJob): RestoreStop[] {
  const others = plan.components.filter((c) => c.role !== 'backup' && c.name !== j.target);
  if (j.kind === 'volume') {
    return plan.components
      .filter((c) => c.role !== 'backup' && c.mounts.some((m) => m.type === 'volume' && m.source === j.name))
      .map((c) => ({ service: c.name, reason: `owns volume ${j.name}` }));
  }
  const what = j.kind === 'redis' ? 'cache' : 'database';
  const users = others
    .filter((c) => c.role === 'app' && c.dependsOn.some((d) => d.name === j.target))
    .map((c) => ({ service: c.name, reason: `uses ${what} ${j.target}` }));
  if (j.kind === 'redis') users.push({ service: j.target, reason: 'Redis loads the restored RDB when it starts' });
  return users;
}

export interface RestoreRequest {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  snapshot: SnapshotInfo;
  /** where the data will go: the job's own database/volume, or a scratch one */
  destination: 'in-place' | 'scratch';
  /** in place: a safety snapshot of the current data is taken first */
  safetySnapshot: boolean;
  /** in place: services stopped before the restore and started again after it */
  stops: RestoreStop[];
}

export interface RestoreResult {
  job: string;
  ok: boolean;
  cancelled: boolean;
  exitCode: number;
  snapshot?: string;
  destination?: string;
  scratch?: boolean;
  safetySnapshot?: string;
  /** restored data matched the manifest taken with the backup (row counts and checksums) */
  verified?: boolean;
  tables?: number;
  /** services stopped for the restore, and those started again afterwards */
  stopped?: string[];
  restarted?: string[];
  durationMs: number;
  /** where the time went: finding the snapshot, stopping services, the script's phases
   *  (open, safety, restore, check), and each stopped service back (started and healthy) */
  phases?: PhaseTime[];
  error?: string;
}

/**
 * `wharf restore <target> [--snapshot ID|latest] [--to-scratch]`. Asks `confirm` before
 * writing anything (the CLI prompts; --yes answers true). In place, the script takes a safety
 * snapshot first and restores PostgreSQL in one transaction; then the restored data is
 * compared with the manifest stored with the backup. Never writes to another job's target.
 */
export async function restoreBackup(
  ex: BackupExecutor,
  opts: {
    target: string;
    snapshot?: string;
    toScratch?: boolean | string;
    /** skip the safety snapshot (not recommended) */
    noSafety?: boolean;
    confirm: (req: RestoreRequest) => Promise<boolean> | boolean;
    onProgress?: ProgressFn;
    /** how long restarted services may take to become healthy */
    healthTimeoutMs?: number;
    /** the snapshot, already listed by the caller (restore --all): no second listing */
    listed?: SnapshotInfo;
  },
): Promise<RestoreResult> {
  const jobs = selectJobs(ex.plan, opts.target);
  if (jobs.length > 1)
    throw new BackupError(`"${opts.target}" has ${jobs.length} backups (${jobs.map((j) => j.name).join(', ')}): name one`);
  const j = jobs[0]!;
  const scratch = opts.toScratch !== undefined && opts.toScratch !== false;
  if (!scratch && j.kind === 'redis' && !redisDataVolume(j, ex.plan.components)) {
    throw new BackupError(
      `cache ${j.target} has no persistence: a restored RDB would never be loaded. ` +
        `Set caches.${j.target}.persistence: true, or use --to-scratch to get the RDB file`,
    );
  }
  const stops = scratch ? [] : restoreStops(ex.plan, j);
  if (stops.length && !ex.services)
    throw new BackupError(
      `restoring ${j.target} in place stops ${stops.map((s) => s.service).join(', ')} first, and this executor cannot stop services`,
    );
  const t0 = performance.now();
  const want = opts.snapshot ?? 'latest';
  if (want !== 'latest' && !/^[0-9a-f]{8,64}$/.test(want))
    throw new BackupError(`--snapshot should be a snapshot id (8-64 hex digits) or latest, not "${want}"`);
  const known = opts.listed?.job === j.name && (want === 'latest' || opts.listed.id.startsWith(want)) ? opts.listed : undefined;
  const snap = known ?? (await findSnapshot(ex, j, want));
  const found: PhaseTime = { phase: 'find', ms: Math.round(performance.now() - t0) };
  const req: RestoreRequest = {
    job: j.name,
    target: j.target,
    kind: j.kind,
    snapshot: snap,
    destination: scratch ? 'scratch' : 'in-place',
    safetySnapshot: !scratch && !opts.noSafety && j.kind !== 'redis',
    stops,
  };
  if (!(await opts.confirm(req))) return { job: j.name, ok: false, cancelled: true, exitCode: 0, durationMs: 0 };
  const args = [j.name, snap.id];
  if (scratch) {
    args.push('--to-scratch');
    if (typeof opts.toScratch === 'string') args.push(opts.toScratch);
  }
  if (opts.noSafety) args.push('--no-safety');
  const describe = `restore ${j.name} from ${snap.shortId}`;
  const toResult = (r: ScriptOut, extra: Partial<RestoreResult> = {}): RestoreResult => {
    const js = r.json ?? {};
    return {
      job: j.name,
      ok: r.exitCode === 0,
      cancelled: false,
      exitCode: r.exitCode,
      snapshot: snap.id,
      destination: js.destination as string | undefined,
      scratch: js.scratch as boolean | undefined,
      safetySnapshot: (js.safetySnapshot as string | undefined) || undefined,
      verified: js.verified as boolean | undefined,
      tables: js.tables as number | undefined,
      durationMs: r.durationMs,
      phases: [found, ...r.phases],
      error: r.error,
      ...extra,
    };
  };
  if (scratch) return toResult(await runScript(ex, j.name, ex.script('restore', args, describe, 12 * 3600_000), opts.onProgress));
  return restoreInPlace(ex, j, stops, args, describe, toResult, { ...opts, found });
}

async function findSnapshot(ex: BackupExecutor, j: BackupJob, want: string): Promise<SnapshotInfo> {
  const [listing] = await listBackups(ex, { target: j.name });
  if (!listing || !listing.ok) throw new BackupError(`cannot list the snapshots of ${j.name}: ${listing?.error ?? 'unknown error'}`);
  const candidates = listing.snapshots.filter((s) => (want === 'latest' ? !s.safety : s.id.startsWith(want)));
  const snap = candidates[0];
  if (!snap)
    throw new BackupError(
      want === 'latest'
        ? `backup ${j.name} has no snapshot yet: run \`wharf backup ${j.name}\``
        : `backup ${j.name} has no snapshot ${want}`,
    );
  if (want !== 'latest' && candidates.length > 1) throw new BackupError(`snapshot id ${want} is ambiguous: give more digits`);
  return snap;
}

/**
 * Stop what owns the data, restore, start it again (even when the restore failed), check.
 * The services using the data stop together and start together (one engine call each): they
 * do not depend on each other, only on the data, which a cache loads before they start.
 */
async function restoreInPlace(
  ex: BackupExecutor,
  j: BackupJob,
  stops: RestoreStop[],
  args: string[],
  describe: string,
  toResult: (r: ScriptOut, extra?: Partial<RestoreResult>) => RestoreResult,
  opts: { onProgress?: ProgressFn; healthTimeoutMs?: number; found: PhaseTime },
): Promise<RestoreResult> {
  const say = (phase: string, message: string) => opts.onProgress?.({ job: j.name, phase, message });
  const t0 = performance.now();
  const stopped: string[] = [];
  const restarted: string[] = [];
  const phases: PhaseTime[] = [opts.found];
  const timed = async <T>(phase: string, services: string[], f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      phases.push({ phase, service: services.join(', '), ms: Math.round(performance.now() - t) });
    }
  };
  const timeout = opts.healthTimeoutMs ?? 300_000;
  const failed = (error: string, r?: ScriptOut): RestoreResult =>
    ({
      ...(r ? toResult(r) : { job: j.name, cancelled: false, exitCode: 1, snapshot: args[1] }),
      ok: false,
      exitCode: r && r.exitCode !== 0 ? r.exitCode : 1,
      error,
      stopped,
      restarted,
      phases,
      durationMs: Math.round(performance.now() - t0),
    }) as RestoreResult;
  // the services that use the data, then (Redis) the cache itself: stopped in that order
  const owner = stops.filter((s) => s.service === j.target).map((s) => s.service);
  const users = stops.filter((s) => s.service !== j.target).map((s) => s.service);
  // start again what was stopped, data owner first; returns the problems
  const startAgain = async (why: string, only?: string): Promise<string[]> => {
    const problems: string[] = [];
    for (const group of [owner, users]) {
      const todo = group.filter((s) => stopped.includes(s) && !restarted.includes(s) && (!only || s === only));
      if (!todo.length) continue;
      say('start', `starting ${todo.join(', ')} again (${why})`);
      try {
        await timed('back', todo, async () => {
          await ex.services!.start(todo);
          await ex.services!.waitHealthy(todo, timeout);
        });
        restarted.push(...todo);
        say('start', `${todo.join(', ')} ${todo.length > 1 ? 'are' : 'is'} healthy`);
      } catch (e) {
        problems.push(`${todo.join(', ')} did not start again: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    return problems;
  };

  for (const group of [users, owner]) {
    if (!group.length) continue;
    for (const s of stops.filter((x) => group.includes(x.service))) say('stop', `stopping ${s.service} (${s.reason})`);
    try {
      await timed('stop', group, () => ex.services!.stop(group));
      stopped.push(...group);
    } catch (e) {
      // some of the group may have stopped: starting a running service again is harmless
      stopped.push(...group);
      const problems = await startAgain('the restore did not run');
      return failed(
        [`cannot stop ${group.join(', ')}: ${(e as Error).message.split('\n')[0]}; nothing was restored`, ...problems].join('; '),
      );
    }
  }
  if (stops.length && (await ex.services!.notRunning([BACKUP_COMPONENT])).length) {
    const problems = await startAgain('the restore did not run');
    return failed([`the ${BACKUP_COMPONENT} service stopped with ${stopped.join(', ')}; nothing was restored`, ...problems].join('; '));
  }
  const r = await runScript(ex, j.name, ex.script('restore', args, describe, 12 * 3600_000), opts.onProgress);
  phases.push(...r.phases);
  if (r.exitCode !== 0) {
    const problems = await startAgain('the restore FAILED');
    const started = restarted.length ? `; ${restarted.join(', ')} started again` : '';
    return failed([`${r.error ?? `exit ${r.exitCode}`}${started}`, ...problems].join('; '), r);
  }
  let result = toResult(r);
  if (j.kind === 'redis') {
    // the cache loads the file when it starts: compare it with the backup before its users write again
    const up = await startAgain('restored', j.target);
    if (up.length) return failed([`restored, but ${up.join('; ')}`, ...(await startAgain('the cache did not start'))].join('; '), r);
    const c = await runScript(
      ex,
      j.name,
      ex.script('restore', [j.name, args[1]!, '--check'], `check the restored ${j.target}`, 600_000),
      opts.onProgress,
    );
    phases.push(...c.phases);
    if (c.exitCode !== 0) {
      const rest = await startAgain('the check FAILED');
      return failed([`${c.error ?? `check exit ${c.exitCode}`}; ${restarted.join(', ')} started again`, ...rest].join('; '), c);
    }
    result = { ...result, verified: (c.json ?? {}).verified === true, tables: (c.json ?? {}).tables as number | undefined };
  }
  const problems = await startAgain('restored');
  if (problems.length) return failed(`restored, but ${problems.join('; ')}`, r);
  return { ...result, stopped, restarted, phases, durationMs: Math.round(performance.now() - t0) };
}

// wharf restore DB --to TIME and the recoverable window of `wharf backups`: pitr.sh in the
// database's WAL archiver (plan/pitr.ts) does the work; this decides whether the moment can be
// reached before anything stops, stops the database and what uses it, and brings them back.
import { InputError } from '../errors.js';
import type { BackupJob } from '../plan/model.js';
import { pitrComponent } from '../plan/pitr.js';
import { BackupError, type BackupExecutor } from './backup-executor.js';
import { restoreStops, type RestoreResult, type RestoreStop } from './backup-restore.js';
import { runScript, selectJobs, type PhaseTime, type ProgressFn } from './backup-script.js';

export interface PitrWindow {
  database: string;
  ok: boolean;
  /** ISO 8601, UTC; absent until the first base backup */
  earliest?: string;
  latest?: string;
  /** WAL segments waiting in the spool */
  pending?: number;
  error?: string;
}

export interface PitrRequest {
  database: string;
  to: string;
  window: PitrWindow;
  stops: RestoreStop[];
}

/** An RFC 3339 moment with a zone (Z or ±hh:mm), not in the future: the target of a restore. */
export function parseRecoveryTarget(text: string, now: Date): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$/.exec(text);
  const [y, mo, d, h, mi, se] = (m ?? []).slice(1, 7).map(Number) as number[];
  // a day that does not exist (2026-02-30) is refused, not rolled over into the next month
  const day = m ? new Date(Date.UTC(y!, mo! - 1, d!)) : undefined;
  const t = m ? new Date(text.replace(' ', 'T')) : undefined;
  if (!day || !t || day.getUTCDate() !== d || day.getUTCMonth() !== mo! - 1 || h! > 23 || mi! > 59 || se! > 59 || Number.isNaN(t.getTime()))
    throw new InputError(`--to: "${text}" is not an RFC 3339 time`, {
      hint: 'e.g. --to 2026-12-07T17:05:00Z or --to 2026-12-07T18:05:00+01:00',
    });
  if (t.getTime() > now.getTime()) throw new InputError(`--to: ${t.toISOString()} is in the future (now ${now.toISOString()})`);
  return t;
}

/** PostgreSQL's recovery_target_time for a moment: UTC, microseconds. */
export function recoveryTargetTime(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

function pitrJob(ex: BackupExecutor, target: string): BackupJob {
  const j = selectJobs(ex.plan, target).find((x) => x.pointInTime);
  if (!j)
    throw new InputError(`${target} has no point-in-time recovery`, {
      hint: `set databases.${target}.backup.pointInTime: true (PostgreSQL) and run \`wharf up\`; restore a snapshot without --to`,
    });
  return j;
}

async function callPitr(ex: BackupExecutor, j: BackupJob, args: string[], describe: string, timeoutMs: number, onProgress?: ProgressFn) {
  const c = ex.pitr?.(j.target, args, describe, timeoutMs);
  if (!c) throw new BackupError(`the ${pitrComponent(j.target)} service is not running: run \`wharf up\` first`);
  return runScript(ex, j.name, c, onProgress);
}

const iso = (s: unknown) => (typeof s === 'number' && s > 0 ? new Date(s * 1000).toISOString() : undefined);

/** The recoverable window of each point-in-time database the target selects. */
export async function pitrWindows(ex: BackupExecutor, target?: string): Promise<PitrWindow[]> {
  const jobs = (target ? selectJobs(ex.plan, target) : ex.plan.backups).filter((j) => j.pointInTime);
  const out: PitrWindow[] = [];
  for (const j of jobs) {
    const r = await callPitr(ex, j, ['window'], `recoverable window of ${j.target}`, 120_000).catch((e: Error) => e);
    if (r instanceof Error) out.push({ database: j.target, ok: false, error: r.message });
    else if (r.exitCode !== 0 || !r.json) out.push({ database: j.target, ok: false, error: r.error ?? `exit ${r.exitCode}` });
    else
      out.push({
        database: j.target,
        ok: true,
        earliest: iso(r.json.earliest),
        latest: iso(r.json.latest),
        pending: r.json.pending as number,
      });
  }
  return out;
}

/**
 * `wharf restore DB --to TIME`: checks the moment against the window (closing the current WAL
 * segment first when the moment is newer than the archive), asks, stops the apps using the
 * database and the database, recovers, and starts them again (also when the recovery failed).
 */
export async function restoreToTime(
  ex: BackupExecutor,
  opts: {
    target: string;
    to: Date;
    confirm: (req: PitrRequest) => Promise<boolean> | boolean;
    onProgress?: ProgressFn;
    healthTimeoutMs?: number;
  },
): Promise<RestoreResult> {
  const j = pitrJob(ex, opts.target);
  const t0 = performance.now();
  const want = opts.to.toISOString();
  let [w] = await pitrWindows(ex, j.name);
  if (!w || !w.ok)
    throw new BackupError(`cannot read the recoverable window of ${j.target}: ${w?.error ?? 'unknown error'}; nothing was changed`);
  if (!w.earliest)
    throw new InputError(`${j.target} has no base backup yet: nothing to recover to`, { hint: `run \`wharf backup ${j.name}\`` });
  if (want < w.earliest)
    throw new InputError(`--to ${want} is before the recoverable window of ${j.target} (${w.earliest} to ${w.latest})`);
  if (!w.latest || want > w.latest) {
    // the newest WAL is still in the server: close the segment and ship it (the server is up)
    const f = await callPitr(ex, j, ['flush'], `ship the current WAL of ${j.target}`, 120_000, opts.onProgress);
    if (f.exitCode === 0 && f.json) w = { ...w, latest: iso(f.json.latest), pending: f.json.pending as number };
    if (!w.latest || want > w.latest)
      throw new InputError(`--to ${want} is after the latest recoverable moment of ${j.target} (${w.latest ?? 'none'})`, {
        hint: f.exitCode === 0 ? undefined : `the server did not close its WAL segment: ${f.error ?? `exit ${f.exitCode}`}`,
      });
  }
  const users = restoreStops(ex.plan, j).filter((s) => s.service !== j.target);
  const stops = [...users, { service: j.target, reason: 'the data directory is replaced' }];
  if (!ex.services) throw new BackupError(`restoring ${j.target} to a moment stops it first, and this executor cannot stop services`);
  const phases: PhaseTime[] = [{ phase: 'find', ms: Math.round(performance.now() - t0) }];
  if (!(await opts.confirm({ database: j.target, to: want, window: w, stops })))
    return { job: j.name, ok: false, cancelled: true, exitCode: 0, durationMs: 0 };
  const say = (phase: string, message: string) => opts.onProgress?.({ job: j.name, phase, message });
  const timed = async (phase: string, names: string[], f: () => Promise<void>) => {
    const t = performance.now();
    await f();
    phases.push({ phase, service: names.join(', '), ms: Math.round(performance.now() - t) });
  };
  const stopped: string[] = [];
  const restarted: string[] = [];
  const problems: string[] = [];
  const back = async (names: string[]) => {
    const todo = names.filter((n) => stopped.includes(n));
    if (!todo.length) return;
    say('start', `starting ${todo.join(', ')} again`);
    await timed('back', todo, async () => {
      await ex.services!.start(todo);
      await ex.services!.waitHealthy(todo, opts.healthTimeoutMs ?? 300_000);
    }).then(
      () => void restarted.push(...todo),
      (e: Error) => void problems.push(`${todo.join(', ')} did not start again: ${e.message.split('\n')[0]}`),
    );
  };
  const result = (ok: boolean, extra: Partial<RestoreResult>): RestoreResult => ({
    job: j.name,
    ok,
    cancelled: false,
    exitCode: ok ? 0 : 1,
    destination: `${j.target} at ${want}`,
    stopped,
    restarted,
    phases,
    durationMs: Math.round(performance.now() - t0),
    ...extra,
  });
  for (const group of [users.map((s) => s.service), [j.target]]) {
    if (!group.length) continue;
    say('stop', `stopping ${group.join(', ')}`);
    try {
      await timed('stop', group, () => ex.services!.stop(group));
      stopped.push(...group);
    } catch (e) {
      stopped.push(...group);
      await back([j.target]);
      await back(users.map((s) => s.service));
      return result(false, {
        error: [`cannot stop ${group.join(', ')}: ${(e as Error).message}; nothing was restored`, ...problems].join('; '),
      });
    }
  }
  const r = await callPitr(
    ex,
    j,
    ['restore', recoveryTargetTime(opts.to)],
    `recover ${j.target} to ${want}`,
    12 * 3600_000,
    opts.onProgress,
  );
  // the script's own timings (measured in the container), else the progress lines'
  phases.push(...(Array.isArray(r.json?.phases) ? (r.json.phases as PhaseTime[]) : r.phases));
  await back([j.target]);
  await back(users.map((s) => s.service));
  const reached = r.json?.reachedTarget === true;
  const error = r.exitCode !== 0 ? `recovery failed: ${r.error ?? `exit ${r.exitCode}`}` : undefined;
  return result(!error && !problems.length, {
    verified: r.exitCode === 0 ? reached : undefined,
    tables: r.json?.tables as number | undefined,
    error: [error, ...problems].filter(Boolean).join('; ') || undefined,
  });
}

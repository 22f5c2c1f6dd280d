// wharf backup / backups / restore: run the backup service's scripts (rendered by
// src/render/backup) inside its container, stream their progress, and return structured
// results. The scripts do the work and the checks; these functions choose jobs, ask for
// confirmation, and turn the scripts' output into results.
import { cmd, type Cmd } from '../engine/command.js';
import { ComposeEngine } from '../engine/compose.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import { run, type Runner } from '../engine/run.js';
import { BACKUP_COMPONENT } from '../plan/backup.js';
import type { BackupJob, Plan } from '../plan/model.js';
import { byCodeUnit } from '../plan/sort.js';

/** Where the scripts run: `compose exec -T backup …` in a stack, a plain process in tests. */
export interface BackupExecutor {
  plan: Plan;
  runner?: Runner;
  /** the command running a script of backup/bin with its arguments */
  script(name: 'backup' | 'verify' | 'restore' | 'list', args: string[], describe: string, timeoutMs: number): Cmd;
}

export function composeBackupExecutor(ctx: OpsContext): BackupExecutor {
  const e = ctx.engine;
  if (!(e instanceof ComposeEngine)) throw new Error(`backups run through compose; engine ${e.kind} is not supported yet`);
  const redact = secretValues(ctx.secretsDir);
  return {
    plan: ctx.plan,
    runner: runnerOf(ctx),
    script: (name, args, describe, timeoutMs) => cmd(
      [...e.compose.argv, '-p', e.project, '-f', 'compose.yaml', 'exec', '-T', BACKUP_COMPONENT, `/backup/bin/${name}.sh`, ...args],
      describe, { cwd: e.dir, timeoutMs, redact }),
  };
}

export interface BackupProgress {
  job: string;
  /** open, init, manifest, dump, check, retention, safety, restore, restore-test, done, or log */
  phase: string;
  message: string;
}
export type ProgressFn = (e: BackupProgress) => void;

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

export interface RestoreRequest {
  job: string;
  target: string;
  kind: BackupJob['kind'];
  snapshot: SnapshotInfo;
  /** where the data will go: the job's own database/volume, or a scratch one */
  destination: 'in-place' | 'scratch';
  /** in place: a safety snapshot of the current data is taken first */
  safetySnapshot: boolean;
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
  durationMs: number;
  error?: string;
}

/** The jobs a target selects: a job name, a component name (all its jobs), or all when omitted. */
export function selectJobs(plan: Plan, target?: string): BackupJob[] {
  if (!plan.backups.length) throw new BackupError('this stack has no backups: add `backup:` to a database, cache or volume in wharf.yaml');
  if (!target) return plan.backups;
  const jobs = plan.backups.filter((j) => j.name === target || j.target === target);
  if (!jobs.length) throw new BackupError(`no backup named "${target}"; backups: ${plan.backups.map((j) => j.name).join(', ')}`);
  return jobs;
}

export class BackupError extends Error {
  constructor(message: string) { super(message); this.name = 'BackupError'; }
}

interface ScriptOut { exitCode: number; json?: Record<string, unknown>; error?: string; durationMs: number; stdout: string }

async function runScript(ex: BackupExecutor, job: string, c: Cmd, onProgress?: ProgressFn): Promise<ScriptOut> {
  const runner = ex.runner ?? run;
  let lastError: string | undefined;
  const r = await runner(c, {
    reject: false,
    onLine: (line, stream) => {
      if (stream === 'stdout') return;
      const m = /^progress (\S+) (.*)$/.exec(line);
      if (m) { onProgress?.({ job, phase: m[1]!, message: m[2]! }); return; }
      const err = /ERROR: (.*)$/.exec(line);
      if (err) lastError = err[1];
      onProgress?.({ job, phase: 'log', message: line });
    },
  });
  const jsonLine = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  let json: Record<string, unknown> | undefined;
  if (jsonLine) { try { json = JSON.parse(jsonLine) as Record<string, unknown>; } catch { /* not ours */ } }
  if (!lastError && r.exitCode !== 0) {
    lastError = (r.stderr.split('\n').reverse().find((l) => /ERROR: /.test(l))?.replace(/.*ERROR: /, ''))
      ?? (r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`);
  }
  return { exitCode: r.exitCode, json, error: r.exitCode === 0 ? undefined : lastError, durationMs: r.durationMs, stdout: r.stdout };
}

/** `wharf backup [target]`: a backup of every selected job now, one after the other. */
export async function backupNow(ex: BackupExecutor, opts: { target?: string; onProgress?: ProgressFn } = {}): Promise<BackupRunResult[]> {
  const out: BackupRunResult[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const r = await runScript(ex, j.name, ex.script('backup', [j.name], `back up ${j.name}`, 6 * 3600_000), opts.onProgress);
    const js = r.json ?? {};
    out.push({
      job: j.name, target: j.target, kind: j.kind, ok: r.exitCode === 0 && typeof js.snapshot === 'string', exitCode: r.exitCode,
      snapshot: js.snapshot as string | undefined, bytes: js.bytes as number | undefined, added: js.added as number | undefined,
      snapshots: js.snapshots as number | undefined, durationMs: r.durationMs, error: r.error,
    });
  }
  return out;
}

/** restic check plus (by default) a test restore of the latest snapshot into scratch. */
export async function verifyBackups(ex: BackupExecutor, opts: { target?: string; restoreTest?: boolean; readDataSubset?: string; onProgress?: ProgressFn } = {}): Promise<VerifyRunResult[]> {
  const out: VerifyRunResult[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const args = [j.name];
    if (opts.restoreTest === false) args.push('--no-restore-test');
    if (opts.restoreTest === true) args.push('--restore-test');
    if (opts.readDataSubset) args.push('--read-data-subset', opts.readDataSubset);
    const r = await runScript(ex, j.name, ex.script('verify', args, `verify ${j.name}`, 6 * 3600_000), opts.onProgress);
    const js = r.json ?? {};
    out.push({ job: j.name, ok: r.exitCode === 0, exitCode: r.exitCode, restoreTest: js.restoreTest === true, tables: js.tables as number | undefined, durationMs: r.durationMs, error: r.error });
  }
  return out;
}

interface ResticSnapshot { id: string; short_id: string; time: string; tags?: string[]; summary?: { total_bytes_processed?: number } }

/** `wharf backups [target]`: snapshots per job, newest first, with size, age and verification state. */
export async function listBackups(ex: BackupExecutor, opts: { target?: string; now?: Date } = {}): Promise<JobListing[]> {
  const now = (opts.now ?? new Date()).getTime();
  const out: JobListing[] = [];
  for (const j of selectJobs(ex.plan, opts.target)) {
    const r = await runScript(ex, j.name, ex.script('list', [j.name], `list snapshots of ${j.name}`, 120_000));
    const base = { job: j.name, target: j.target, kind: j.kind };
    if (r.exitCode !== 0 || !r.json) { out.push({ ...base, ok: false, error: r.error ?? 'no answer from the backup service', snapshots: [] }); continue; }
    const js = r.json as { backup: Record<string, unknown>; verify: Record<string, unknown>; snapshots: ResticSnapshot[] | null };
    const vOk = js.verify.status === 1;
    const vSnap = typeof js.verify.snapshot === 'string' && js.verify.snapshot ? js.verify.snapshot : undefined;
    const snaps = (js.snapshots ?? []).map((s): SnapshotInfo => {
      const tags = s.tags ?? [];
      const tested = vSnap !== undefined && s.id === vSnap;
      return {
        ...base, id: s.id, shortId: s.short_id, time: s.time,
        ageSeconds: Math.max(0, Math.round((now - Date.parse(s.time)) / 1000)),
        bytes: s.summary?.total_bytes_processed, tags, safety: tags.includes('wharf-safety'),
        verification: tested ? (vOk && js.verify.restoreTest === 1 ? 'restore-tested' : vOk ? 'read-back' : 'failed') : 'read-back',
      };
    }).sort((a, b) => byCodeUnit(b.time, a.time));
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    out.push({
      ...base, ok: true, snapshots: snaps,
      lastBackup: js.backup.status === null ? undefined : { ok: js.backup.status === 1, at: num(js.backup.lastRun), lastSuccess: num(js.backup.lastSuccess), error: str(js.backup.error) },
      lastVerify: js.verify.status === null ? undefined : { ok: vOk, at: num(js.verify.lastRun), snapshot: vSnap, restoreTest: js.verify.restoreTest === 1, error: str(js.verify.error) },
    });
  }
  return out;
}

/**
 * `wharf restore <target> [--snapshot ID|latest] [--to-scratch]`. Asks `confirm` before
 * writing anything (the CLI prompts; --yes answers true). In place, the script takes a safety
 * snapshot first and restores PostgreSQL in one transaction; then the restored data is
 * compared with the manifest stored with the backup. Never writes to another job's target.
 */
export async function restoreBackup(ex: BackupExecutor, opts: {
  target: string;
  snapshot?: string;
  toScratch?: boolean | string;
  /** skip the safety snapshot (not recommended) */
  noSafety?: boolean;
  confirm: (req: RestoreRequest) => Promise<boolean> | boolean;
  onProgress?: ProgressFn;
}): Promise<RestoreResult> {
  const jobs = selectJobs(ex.plan, opts.target);
  if (jobs.length > 1) throw new BackupError(`"${opts.target}" has ${jobs.length} backups (${jobs.map((j) => j.name).join(', ')}): name one`);
  const j = jobs[0]!;
  const want = opts.snapshot ?? 'latest';
  if (want !== 'latest' && !/^[0-9a-f]{8,64}$/.test(want)) throw new BackupError(`--snapshot should be a snapshot id (8-64 hex digits) or latest, not "${want}"`);
  const [listing] = await listBackups(ex, { target: j.name });
  if (!listing || !listing.ok) throw new BackupError(`cannot list the snapshots of ${j.name}: ${listing?.error ?? 'unknown error'}`);
  const candidates = listing.snapshots.filter((s) => (want === 'latest' ? !s.safety : s.id.startsWith(want)));
  const snap = candidates[0];
  if (!snap) throw new BackupError(want === 'latest' ? `backup ${j.name} has no snapshot yet: run \`wharf backup ${j.name}\`` : `backup ${j.name} has no snapshot ${want}`);
  if (want !== 'latest' && candidates.length > 1) throw new BackupError(`snapshot id ${want} is ambiguous: give more digits`);
  const scratch = opts.toScratch !== undefined && opts.toScratch !== false;
  const req: RestoreRequest = { job: j.name, target: j.target, kind: j.kind, snapshot: snap, destination: scratch ? 'scratch' : 'in-place', safetySnapshot: !scratch && !opts.noSafety && j.kind !== 'redis' };
  if (!(await opts.confirm(req))) return { job: j.name, ok: false, cancelled: true, exitCode: 0, durationMs: 0 };
  const args = [j.name, snap.id];
  if (scratch) { args.push('--to-scratch'); if (typeof opts.toScratch === 'string') args.push(opts.toScratch); }
  if (opts.noSafety) args.push('--no-safety');
  const r = await runScript(ex, j.name, ex.script('restore', args, `restore ${j.name} from ${snap.shortId}`, 12 * 3600_000), opts.onProgress);
  const js = r.json ?? {};
  return {
    job: j.name, ok: r.exitCode === 0, cancelled: false, exitCode: r.exitCode,
    snapshot: snap.id, destination: js.destination as string | undefined, scratch: js.scratch as boolean | undefined,
    safetySnapshot: (js.safetySnapshot as string | undefined) || undefined, verified: js.verified as boolean | undefined,
    tables: js.tables as number | undefined, durationMs: r.durationMs, error: r.error,
  };
}

// Made by prepare() with the rest of the project's files; kept here for callers of the backup ops.
export { ensureBackupDirs } from './prepare.js';

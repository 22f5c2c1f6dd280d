// Running one of the backup service's scripts: its progress lines become events, its last
// stdout JSON line the result, its last ERROR line the error. Shared by backup, list and restore.
import type { Cmd } from '../engine/command.js';
import { run } from '../engine/run.js';
import type { BackupJob, Plan } from '../plan/model.js';
import { BackupError, type BackupExecutor } from './backup-executor.js';

export interface BackupProgress {
  job: string;
  /** open, init, manifest, dump, check, retention, safety, restore, restore-test, done, or log */
  phase: string;
  message: string;
}
export type ProgressFn = (e: BackupProgress) => void;

/** How long one phase of a backup or restore took: a script's progress phase (open, dump,
 *  safety, restore, check...), or stop/start of a service around an in-place restore. */
export interface PhaseTime {
  phase: string;
  service?: string;
  ms: number;
}

/** The jobs a target selects: a job name, a component name (all its jobs), or all when omitted. */
export function selectJobs(plan: Plan, target?: string): BackupJob[] {
  if (!plan.backups.length) throw new BackupError('this stack has no backups: add `backup:` to a database, cache or volume in wharf.yaml');
  if (!target) return plan.backups;
  const jobs = plan.backups.filter((j) => j.name === target || j.target === target);
  if (!jobs.length) throw new BackupError(`no backup named "${target}"; backups: ${plan.backups.map((j) => j.name).join(', ')}`);
  return jobs;
}

export interface ScriptOut {
  exitCode: number;
  json?: Record<string, unknown>;
  error?: string;
  durationMs: number;
  stdout: string;
  /** from one progress line to the next; the time before the first is "start" (exec), and
   *  "done" is folded into the phase before it */
  phases: PhaseTime[];
}

export async function runScript(ex: BackupExecutor, job: string, c: Cmd, onProgress?: ProgressFn): Promise<ScriptOut> {
  const runner = ex.runner ?? run;
  let lastError: string | undefined;
  const marks: Array<{ phase: string; at: number }> = [{ phase: 'start', at: performance.now() }];
  const r = await runner(c, {
    reject: false,
    onLine: (line, stream) => {
      if (stream === 'stdout') return;
      const m = /^progress (\S+) (.*)$/.exec(line);
      if (m) {
        if (m[1] !== 'done') marks.push({ phase: m[1]!, at: performance.now() });
        onProgress?.({ job, phase: m[1]!, message: m[2]! });
        return;
      }
      const err = /ERROR: (.*)$/.exec(line);
      if (err) lastError = err[1];
      onProgress?.({ job, phase: 'log', message: line });
    },
  });
  const jsonLine = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  let json: Record<string, unknown> | undefined;
  if (jsonLine) {
    try {
      json = JSON.parse(jsonLine) as Record<string, unknown>;
    } catch {
      /* not ours */
    }
  }
  if (!lastError && r.exitCode !== 0) {
    lastError =
      r.stderr
        .split('\n')
        .reverse()
        .find((l) => /ERROR: /.test(l))
        ?.replace(/.*ERROR: /, '') ??
      (r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`);
  }
  const end = performance.now();
  const phases = marks
    .map((m, i) => ({ phase: m.phase, ms: Math.round((marks[i + 1]?.at ?? end) - m.at) }))
    .filter((p) => p.phase !== 'start' || p.ms >= 1);
  return {
    exitCode: r.exitCode,
    json,
    error: r.exitCode === 0 ? undefined : lastError,
    durationMs: r.durationMs,
    stdout: r.stdout,
    phases,
  };
}

// Backup targets named on the command line, checked against the plan before anything runs:
// a job name (db-dump) or what it backs up (db).
import { InputError } from '../../errors.js';
import type { Plan } from '../../plan/model.js';
import { closest } from '../../spec/issues.js';

export function requireBackupTarget(plan: Plan, target: string | undefined, opts: { one?: boolean } = {}): void {
  if (!plan.backups.length) {
    throw new InputError('this stack has no backups', { hint: 'add `backup:` to a database, cache or volume in wharf.yaml' });
  }
  if (target === undefined) return;
  const jobs = plan.backups.filter((j) => j.name === target || j.target === target);
  const known = [...new Set(plan.backups.flatMap((j) => [j.target, j.name]))];
  if (!jobs.length) {
    const guess = closest(target, known);
    throw new InputError(`no database, cache or volume "${target}" is backed up (backups: ${describe(plan)})`, {
      hint: guess ? `did you mean "${guess}"?` : 'name a backup job or its target, as `wharf backups` lists them',
    });
  }
  if (opts.one && jobs.length > 1) {
    throw new InputError(`"${target}" has ${jobs.length} backups (${jobs.map((j) => j.name).join(', ')})`, { hint: 'name one of them' });
  }
}

export function requireSnapshotId(snapshot: string): void {
  if (snapshot === 'latest' || /^[0-9a-f]{8,64}$/.test(snapshot)) return;
  throw new InputError(`--snapshot should be a snapshot id (8-64 hex digits) or latest, not "${snapshot}"`, {
    hint: '`wharf backups` lists the snapshots',
  });
}

const describe = (plan: Plan) => plan.backups.map((j) => (j.name === j.target ? j.name : `${j.name} (${j.target})`)).join(', ');

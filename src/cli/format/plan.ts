// The plan for people: the changes first, then the drift, then one summary line.
import type { Change, Drift } from '../../ops/plan-changes.js';
import { table } from './table.js';

export function planLines(r: { changes: Change[]; drift: Drift[] }): string[] {
  const changed = r.changes.filter((c) => c.action !== 'none');
  const out: string[] = [];
  if (changed.length)
    out.push(
      table(
        ['service', 'action', 'downtime', 'why'],
        changed.map((c) => [c.service, c.action, c.downtime ? 'yes' : 'no', c.reasons.join('\n')]),
      ),
    );
  else out.push('no changes: up would leave every service as it is');
  if (r.drift.length)
    out.push(
      table(
        ['drifted', 'what differs since the last apply', 'up will'],
        r.drift.map((d) => [d.service, d.what, d.fix]),
      ),
    );
  const unchanged = r.changes.length - changed.length;
  out.push(`${changed.length} to update, ${unchanged} unchanged${r.drift.length ? `, ${r.drift.length} drifted` : ''}`);
  return out;
}

/** The k8s tree's plan: what Flux applies on the next push. */
export function k8sPlanLines(r: {
  objects: Array<{ object: string; action: string; fields: string[]; file: string }>;
  unchanged: number;
}): string[] {
  const out: string[] = [];
  if (r.objects.length)
    out.push(
      table(
        ['object', 'action', 'fields', 'file'],
        r.objects.map((o) => [o.object, o.action, o.fields.join('\n'), o.file]),
      ),
    );
  else out.push('no changes: the rendered tree is the one last written');
  out.push(`${r.objects.length} to apply, ${r.unchanged} unchanged`);
  return out;
}

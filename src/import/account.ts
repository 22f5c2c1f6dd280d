// The account of an import: every key of the Compose project, what became of it and why.
// Nothing is dropped without an entry here (`--strict` refuses a result with any drop).

export type Outcome = 'kept' | 'changed' | 'dropped';

export interface Field {
  /** the Compose key, e.g. services.web.ports[0] */
  path: string;
  outcome: Outcome;
  /** where it went in wharf.yaml (or .wharf/secrets/...); null when dropped */
  to: string | null;
  /** changed: what differs; dropped: why, and what to do instead */
  why: string;
}

export class Account {
  readonly fields: Field[] = [];
  kept(path: string, to: string, why = ''): void {
    this.fields.push({ path, outcome: 'kept', to, why });
  }
  changed(path: string, to: string | null, why: string): void {
    this.fields.push({ path, outcome: 'changed', to, why });
  }
  dropped(path: string, why: string): void {
    this.fields.push({ path, outcome: 'dropped', to: null, why });
  }
  /** a later step changed what an earlier one decided: one entry per key stays */
  amend(path: string, outcome: Outcome, to: string | null, why: string): void {
    const f = [...this.fields].reverse().find((x) => x.path === path);
    if (f) Object.assign(f, { outcome, to, why });
    else this.fields.push({ path, outcome, to, why });
  }
}

export function countOutcomes(fields: readonly Field[]): Record<Outcome, number> {
  const n: Record<Outcome, number> = { kept: 0, changed: 0, dropped: 0 };
  for (const f of fields) n[f.outcome]++;
  return n;
}

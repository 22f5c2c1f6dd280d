// User-input problems are collected, never thrown: each names its path and,
// where known, the YAML line and column, plus a hint.
import { InputError } from '../errors.js';
export type Severity = 'error' | 'warning';

export interface Issue {
  path: string;
  message: string;
  hint?: string;
  severity: Severity;
  line?: number;
  column?: number;
  file?: string;
}

export function formatIssue(i: Issue): string {
  const where = i.file ? `${i.file}${i.line ? `:${i.line}:${i.column ?? 1}` : ''}: ` : '';
  const path = i.path ? `${i.path}: ` : '';
  return `${where}${path}${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
}

export function joinPath(parts: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** The candidate nearest to word by edit distance (case-insensitive), if within maxDistance. */
export function nearest(word: string, candidates: readonly string[], maxDistance = Infinity): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= maxDistance ? best : undefined;
}

/** For "did you mean" hints on unknown keys: only near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return nearest(word, candidates, Math.max(2, Math.floor(word.length / 3)));
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Thrown only at the CLI boundary when a step refuses to go on because of user input. */
export class UserInputError extends InputError {
  constructor(public readonly issues: Issue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'UserInputError';
  }
}

// Why a service changes: the fields of its planned component that differ from the last
// apply, named by their spec path, old → new; a secret is only ever reported as changed.
import type { Component } from '../plan/model.js';
import { byCodeUnit } from '../plan/sort.js';
import { stableJson } from './applied.js';

/** Component fields named as the spec names them. */
const renames: Array<[RegExp, string]> = [
  [/^healthcheck\.probe\./, 'health.'],
  [/^healthcheck\./, 'health.'],
  [/^mounts\b/, 'volumes'],
];

export function specPath(path: string): string {
  for (const [re, to] of renames) if (re.test(path)) return path.replace(re, to);
  return path;
}

/** Leaves by dotted path; arrays are one value (a command, a list of networks). */
function flatten(v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, v);
  return out;
}

const secretish = (v: unknown) => stableJson(v).includes('secret:');

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = typeof v === 'string' ? v : stableJson(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function specReasons(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  c: Pick<Component, 'secrets'>,
  secretsBefore: Record<string, string>,
  secretsAfter: Record<string, string>,
): string[] {
  const a = flatten(before);
  const b = flatten(after);
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort(byCodeUnit)) {
    const x = a.get(k);
    const y = b.get(k);
    if (stableJson(x) === stableJson(y)) continue;
    out.push(secretish(x) || secretish(y) ? `${specPath(k)}: changed (secret)` : `${specPath(k)}: ${show(x)} → ${show(y)}`);
  }
  for (const s of [...new Set(c.secrets.map((m) => m.secret))].sort(byCodeUnit))
    if (secretsBefore[s] !== undefined && secretsBefore[s] !== secretsAfter[s]) out.push(`secrets.${s}: changed`);
  return out;
}

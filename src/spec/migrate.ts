// Spec versions: `version` says which shape of the spec a file was written for. Each step of the
// table rewrites a yaml Document from one version to the next, so `wharf migrate` keeps the
// user's comments, and loading an older spec migrates a copy in memory.
import { Document } from 'yaml';
import type { Issue } from './issues.js';

export const SPEC_VERSION = 1;

export interface Migration {
  from: number;
  /** what the step changes, shown by `wharf migrate` and to users of wharf.config.ts */
  describe: string;
  apply(doc: Document): void;
}

/** One step from each older version to the next. Empty while version 1 is the only one. */
export const migrations: readonly Migration[] = [];

export type VersionState = { kind: 'current' } | { kind: 'older'; from: number; steps: Migration[] } | { kind: 'bad'; issue: Issue };

/** Where a spec's `version` stands; a spec without one was written for version 1. */
export function versionState(version: unknown, table: readonly Migration[] = migrations, current = SPEC_VERSION): VersionState {
  const v = version ?? 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    return {
      kind: 'bad',
      issue: {
        path: 'version',
        severity: 'error',
        message: `expected a spec version (a whole number from 1 to ${current}), got ${JSON.stringify(v)}`,
        hint: `this wharf writes version ${current}`,
      },
    };
  }
  if (v > current) {
    return {
      kind: 'bad',
      issue: {
        path: 'version',
        severity: 'error',
        message: `spec version ${v} is newer than this wharf understands (versions 1 to ${current})`,
        hint: 'upgrade wharf, or write the spec for an older version',
      },
    };
  }
  if (v === current) return { kind: 'current' };
  const steps: Migration[] = [];
  for (let from = v; from < current; from++) {
    const step = table.find((m) => m.from === from);
    if (!step)
      return {
        kind: 'bad',
        issue: {
          path: 'version',
          severity: 'error',
          message: `no migration from spec version ${from} to ${from + 1}`,
          hint: `this wharf reads versions ${table.length ? Math.min(...table.map((m) => m.from)) : current} to ${current}`,
        },
      };
    steps.push(step);
  }
  return { kind: 'older', from: v, steps };
}

/** Rewrites doc in place to the current version; returns the steps applied (none when current). */
export function migrateDocument(
  doc: Document,
  table: readonly Migration[] = migrations,
  current = SPEC_VERSION,
): { steps: Migration[]; issue?: Issue } {
  const state = versionState(doc.get('version'), table, current);
  if (state.kind === 'bad') return { steps: [], issue: state.issue };
  if (state.kind === 'current') return { steps: [] };
  for (const step of state.steps) step.apply(doc);
  doc.set('version', current);
  return { steps: state.steps };
}

/** The same for a plain value (an evaluated wharf.config.ts, or parsed YAML): a migrated copy. */
export function migrateValue(
  value: unknown,
  table: readonly Migration[] = migrations,
  current = SPEC_VERSION,
): { value: unknown; steps: Migration[]; issue?: Issue } {
  const version = value && typeof value === 'object' ? (value as { version?: unknown }).version : undefined;
  const state = versionState(version, table, current);
  if (state.kind !== 'older') return { value, steps: [], issue: state.kind === 'bad' ? state.issue : undefined };
  const doc = new Document(value);
  const r = migrateDocument(doc, table, current);
  return { value: doc.toJS(), steps: r.steps, issue: r.issue };
}

// Which secret was rotated when: .wharf/state/rotations.json, newest last. Never a value:
// the time and a short sha256 prefix of the new value (enough to tell two rotations apart).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeInside } from '../fs/confined.js';
import type { Plan } from '../plan/model.js';

export interface Rotation {
  /** ISO time the rotation finished */
  at: string;
  /** first 12 hex digits of sha256(new value) */
  hash: string;
}

export type Rotations = Record<string, Rotation[]>;

export function rotationsPath(projectDir: string): string {
  return join(projectDir, '.wharf', 'state', 'rotations.json');
}

export function readRotations(projectDir: string): Rotations {
  try {
    const v = JSON.parse(readFileSync(rotationsPath(projectDir), 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Rotations) : {};
  } catch {
    return {};
  }
}

export const hashPrefix = (value: string | Buffer) => createHash('sha256').update(value).digest('hex').slice(0, 12);

export function recordRotation(projectDir: string, secret: string, value: string | Buffer, now = new Date()): Rotation {
  const all = readRotations(projectDir);
  const r = { at: now.toISOString(), hash: hashPrefix(value) };
  all[secret] = [...(all[secret] ?? []), r];
  writeInside(projectDir, rotationsPath(projectDir), `${JSON.stringify(all, null, 2)}\n`);
  return r;
}

export interface SecretAge {
  secret: string;
  /** ms since epoch the value was made: its last rotation, else the file's modification time */
  since?: number;
  rotations: number;
}

/** Each plan secret's age: from the rotation record, else from its file (never read). */
export function secretAges(plan: Plan, secretsDir: string, projectDir: string): SecretAge[] {
  const rot = readRotations(projectDir);
  return plan.secrets.map((s) => {
    const last = rot[s.name]?.at(-1);
    let since = last ? Date.parse(last.at) : undefined;
    if (since === undefined) {
      try {
        since = statSync(join(secretsDir, s.name)).mtimeMs;
      } catch {
        since = undefined;
      }
    }
    return { secret: s.name, since, rotations: rot[s.name]?.length ?? 0 };
  });
}

/** 3d 4h, 5h 12m, 42m, 10s */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

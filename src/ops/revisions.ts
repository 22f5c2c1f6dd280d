// What ran, per service: .wharf/state/revisions.json, newest last. A revision keeps the
// rendered service definition and the image ID it ran, so a rollback re-creates exactly
// that even after the tag moved on.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readInside, writeInside } from '../fs/confined.js';
import { UserInputError } from '../spec/issues.js';
import { join } from 'node:path';

export interface Revision {
  /** content hash of definition + image ID */
  revision: string;
  image: string;
  imageId: string;
  /** the engine's config hash of the definition (compose: com.docker.compose.config-hash) */
  configHash?: string;
  /** the service as rendered (compose.yaml's services.<name>), escapes included */
  definition: Record<string, unknown>;
  at: string;
  /** how it got there */
  via: 'up' | 'rollout' | 'rollback';
}

export type Revisions = Record<string, Revision[]>;

/** Revisions kept per service. */
export const KEEP = 10;

export function revisionsPath(projectDir: string): string {
  return join(projectDir, '.wharf', 'state', 'revisions.json');
}

export function revisionId(definition: Record<string, unknown>, imageId: string): string {
  return createHash('sha256').update(stableJson(definition)).update('\0').update(imageId).digest('hex').slice(0, 12);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function readRevisions(projectDir: string): Revisions {
  const p = revisionsPath(projectDir);
  if (!existsSync(p)) return {};
  const refuse = (message: string): never => {
    const hint = 'move the file away: wharf starts a new history (rollback then has nothing to go back to)';
    throw new UserInputError([{ path: '.wharf/state/revisions.json', severity: 'error', message, hint }]);
  };
  let v: unknown;
  try {
    v = JSON.parse(readInside(projectDir, p).toString('utf8'));
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    // The parser's message quotes the file: name the problem, never the content.
    return refuse('is not valid JSON');
  }
  const ok = v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((l) => Array.isArray(l));
  return ok ? (v as Revisions) : refuse('should map each service to a list of revisions');
}

/** Append a revision unless it is already the newest; keep the last KEEP. Written atomically. */
export function recordRevision(projectDir: string, service: string, r: Omit<Revision, 'revision'>): { revision: Revision; added: boolean } {
  const all = readRevisions(projectDir);
  const list = all[service] ?? [];
  const revision: Revision = { revision: revisionId(r.definition, r.imageId), ...r };
  if (list.at(-1)?.revision === revision.revision) return { revision: list.at(-1)!, added: false };
  all[service] = [...list, revision].slice(-KEEP);
  const p = revisionsPath(projectDir);
  writeInside(projectDir, p, `${JSON.stringify(all, null, 2)}\n`);
  return { revision, added: true };
}

/** The revision before the current one (the newest that differs from it). */
export function previousRevision(list: Revision[], current: string | undefined): Revision | undefined {
  const cur = current ?? list.at(-1)?.revision;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.revision !== cur) return list[i];
  return undefined;
}

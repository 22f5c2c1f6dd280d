// What the last successful `up` applied: .wharf/state/applied.json. Per service the spec as
// planned (every value holding a secret replaced by its hash), the rendered definition's
// digest and the environment its replicas ran with (hashed); the digest of every rendered
// file and of every secret. `plan` diffs the next spec against it and the live state with it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeInside } from '../fs/confined.js';
import { join } from 'node:path';
import type { Component, Plan } from '../plan/model.js';
import type { ContainerState } from '../engine/live.js';
import { byCodeUnit } from '../plan/sort.js';

export interface AppliedService {
  /** the component as planned, secret values replaced by `secret:<hash>` */
  spec: Record<string, unknown>;
  /** digest of the service's definition in the rendered main file (compose.yaml, stack.yaml) */
  definition: string;
  /** image reference and ID its replicas ran */
  image: string;
  imageId: string;
  /** its replicas' environment: key -> hash of the value */
  env: Record<string, string>;
  /** set by `wharf rollback`: what runs is an earlier revision, which the next up rolls forward */
  rolledBack?: true;
}

export interface Applied {
  target: string;
  at: string;
  services: Record<string, AppliedService>;
  /** secret name -> hash of its value */
  secrets: Record<string, string>;
  /** rendered file (relative to the output dir) -> hash of its contents */
  files: Record<string, string>;
}

export const hash = (v: string | Buffer): string => createHash('sha256').update(v).digest('hex').slice(0, 16);

export function appliedPath(projectDir: string): string {
  return join(projectDir, '.wharf', 'state', 'applied.json');
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort(byCodeUnit)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** A component as plain JSON, each string holding a secret value replaced by its hash. */
export function specView(c: Component, masks: readonly string[]): Record<string, unknown> {
  const mask = (v: unknown): unknown => {
    if (typeof v === 'string') return masks.some((m) => m.length >= 6 && v.includes(m)) ? `secret:${hash(v)}` : v;
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  return mask(JSON.parse(JSON.stringify(c))) as Record<string, unknown>;
}

export function envHashes(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(env)
      .sort(byCodeUnit)
      .map((k) => [k, hash(env[k]!)]),
  );
}

/** Every secret's value, hashed; a secret not generated yet is absent. */
export function secretDigests(plan: Plan, secretsDir: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of plan.secrets) {
    const p = secretsDir && join(secretsDir, s.name);
    if (p && existsSync(p)) out[s.name] = hash(readFileSync(p));
  }
  return out;
}

/** Files wharf keeps beside the rendered ones: its own bookkeeping, not rendered. */
const bookkeeping = (f: string) => f.startsWith('.wharf') || f.includes('.wharf-tmp-') || f.includes('.rollback.');

/** Every rendered file in the output dir with its hash. */
export function fileDigests(outDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const p = rel ? join(outDir, rel) : outDir;
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const n of readdirSync(p).sort(byCodeUnit)) if (!bookkeeping(n)) walk(rel ? `${rel}/${n}` : n);
    } else out[rel] = hash(readFileSync(p));
  };
  walk('');
  return out;
}

/** What one service is as planned now and as its replicas run (the first running one speaks for all). */
export function appliedService(
  c: Component,
  masks: readonly string[],
  definition: Record<string, unknown> | undefined,
  containers: ContainerState[],
): AppliedService {
  const first = containers.find((x) => x.service === c.name && x.state === 'running');
  return {
    spec: specView(c, masks),
    definition: hash(stableJson(definition ?? null)),
    image: first?.image ?? c.image,
    imageId: first?.imageId ?? '',
    env: envHashes(first?.env ?? {}),
  };
}

export function readApplied(projectDir: string): Applied | undefined {
  const p = appliedPath(projectDir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Applied;
  } catch {
    return undefined;
  }
}

/** Written atomically, after an up converged. */
export function writeApplied(projectDir: string, a: Applied): void {
  // inside the project only (a committed .wharf/state link is refused), atomically
  writeInside(projectDir, appliedPath(projectDir), `${JSON.stringify(a, null, 2)}\n`);
}

// What every part of the plan builder shares: component defaults, health timing, sizes.
import type { Stack, Database } from '../../spec/schema.js';
import type { Component, Dependency, Healthcheck, Probe } from '../model.js';

// A function, not a shared object: every component gets its own arrays and maps to change.
export const componentDefaults = () => ({
  hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: false, addCaps: [] as string[] },
  labels: {} as Record<string, string>,
  ports: [],
  dependsOn: [] as Dependency[],
  mounts: [],
  secrets: [],
  env: {} as Record<string, string>,
  replicas: 1,
  init: false,
  stopGracePeriod: '10s',
}) satisfies Partial<Component>;

/** a copy of a spec array: the plan never hands out the spec's own objects */
export const copy = <T>(a: readonly T[] | undefined): T[] | undefined => (a ? [...a] : undefined);

export const enginePort = { postgres: 5432, mysql: 3306, mariadb: 3306, redis: 6379 } as const;

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

// 5 s: dependants wait for `healthy`, and the first probe only runs one interval after start,
// so each level of the dependency chain (db -> api -> proxy) costs up to one interval.
export function health(probe: Probe, h: Partial<Omit<Healthcheck, 'probe'>> = {}): Healthcheck {
  return { probe, interval: '5s', timeout: '3s', retries: 5, startPeriod: '30s', ...h };
}

/** GET of a path on the component's own port, sent by the wget every such image carries. */
export const wgetProbe = (port: number, path: string): Probe => ({ kind: 'http', port, path, client: 'wget' });

export function dbUser(n: string, db: Database, stack: Stack) {
  return { user: db.user ?? 'app', database: db.database ?? stack.name.replace(/-/g, '_') };
}

export function parseMemory(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgKMG]?)$/.exec(s);
  if (!m) return 0;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

export function formatMemory(bytes: number): string {
  return `${Math.ceil(bytes / 1024 ** 2)}M`;
}

// What every part of the plan builder shares: component defaults, health timing, sizes.
import type { Stack, Database } from '../../spec/schema.js';
import type { Component, Dependency, Healthcheck, Probe } from '../model.js';
import { Duration } from '../../spec/units.js';

// A function, not a shared object: every component gets its own arrays and maps to change.
export const componentDefaults = () =>
  ({
    hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: false, addCaps: [] as string[] },
    labels: {} as Record<string, string>,
    ports: [],
    dependsOn: [] as Dependency[],
    mounts: [],
    secrets: [],
    env: {} as Record<string, string>,
    replicas: 1,
    init: false,
    stopGracePeriod: Duration.parse('10s'),
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
  return { probe, interval: Duration.parse('5s'), timeout: Duration.parse('3s'), retries: 5, startPeriod: Duration.parse('30s'), ...h };
}

/** GET of a path on the component's own port, sent by the wget every such image carries. */
export const wgetProbe = (port: number, path: string): Probe => ({ kind: 'http', port, path, client: 'wget' });

export function dbUser(n: string, db: Database, stack: Stack) {
  return { user: db.user ?? 'app', database: db.database ?? stack.name.replace(/-/g, '_') };
}

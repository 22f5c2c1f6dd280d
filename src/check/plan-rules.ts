// Input errors that only the plan can see: names and hosts the platform itself
// takes (Grafana's host, db-data, the alert catalogue). Same shape as the
// spec's cross-field rules, run by `check` and by every command that loads a spec.
import { dirname, isAbsolute, resolve } from 'node:path';
import { confine, isInside } from '../fs/confined.js';
import { buildPlan } from '../plan/build.js';
import type { Component, Role } from '../plan/component.js';
import type { Plan } from '../plan/model.js';
import { edgeMaxconnFor, edgeMemoryFor, edgeModel } from '../plan/edge.js';
import { knownAlertNames } from '../render/prometheus/catalogue.js';
import { closest, UserInputError, type Issue } from '../spec/issues.js';
import { splitPath, type LoadResult } from '../spec/load.js';
import type { Stack } from '../spec/schema.js';

type PlanRule = (stack: Stack, plan: Plan) => Issue[];
const err = (path: string, message: string, hint?: string): Issue => ({ path, message, hint, severity: 'error' });

const platformHostOption: Record<string, string> = {
  grafana: 'monitoring.grafana.host',
  dashboard: 'proxy.dashboard.host',
  stats: 'proxy.dashboard.host',
  portainer: 'extras.portainer.host',
};

export const routeHostsFreeOfPlatform: PlanRule = (stack, plan) => {
  const platform = plan.routes.filter((r) => r.internal);
  return Object.entries(stack.services).flatMap(([n, svc]) =>
    svc.routes.flatMap((r, i) => {
      const p = platform.find((x) => x.host === r.host);
      if (!p) return [];
      const option = platformHostOption[p.name] ?? p.name;
      return [
        err(
          `services.${n}.routes[${i}].host`,
          `${r.host} is already the host of the platform's ${p.service} route (${option})`,
          `pick another host, or move ${p.service} with ${option}`,
        ),
      ];
    }),
  );
};

export const volumeNamesFreeOfPlatform: PlanRule = (stack, plan) => {
  const userNames = new Set(Object.values(stack.services).flatMap((s) => s.volumes.map((v) => v.name)));
  const platform = new Map(plan.volumes.filter((v) => !(userNames.has(v.name) && stack.services[v.component])).map((v) => [v.name, v]));
  return Object.entries(stack.services).flatMap(([n, svc]) =>
    svc.volumes.flatMap((v, i) => {
      const p = platform.get(v.name);
      return p
        ? [
            err(
              `services.${n}.volumes[${i}].name`,
              `"${v.name}" is the platform's volume for ${p.component} (${p.purpose})`,
              "pick another volume name: sharing it would mix your data with the platform's",
            ),
          ]
        : [];
    }),
  );
};

export const alertOverridesExist: PlanRule = (stack, plan) => {
  const overrides = Object.keys(stack.monitoring.alerts.overrides);
  if (!overrides.length || !plan.monitoring.enabled) return [];
  const known = knownAlertNames(plan);
  return overrides
    .filter((name) => !known.includes(name))
    .map((name) => {
      const guess = closest(name, known);
      return err(
        `monitoring.alerts.overrides.${name}`,
        `no alert named "${name}" applies to this stack`,
        guess ? `did you mean "${guess}"?` : `alerts of this stack: ${known.join(', ')}`,
      );
    });
};

/** HAProxy's maxconn must fit its memory limit (plan/edge.ts), or connections alone can get it killed. */
export const edgeFitsMemory: PlanRule = (stack, plan) => {
  const p = stack.proxy;
  if (p.kind !== 'haproxy') {
    return p.maxconn !== undefined
      ? [err('proxy.maxconn', 'is an HAProxy setting: Traefik has no connection limit to size', 'remove it, or set proxy.kind: haproxy')]
      : [];
  }
  const size = plan.proxy.sizing;
  if (!size) return [];
  const mib = (b: number) => `${Math.ceil(b / 1024 ** 2)}M`;
  if (p.maxconn !== undefined && p.memory !== undefined && edgeMemoryFor(p.maxconn) > size.memoryBytes) {
    return [
      err(
        'proxy.maxconn',
        `${p.maxconn} connections need a memory limit of ${mib(edgeMemoryFor(p.maxconn))} ` +
          `(2 workers x ${Math.round(size.perConnectionBytes / 1024)} KiB each, plus the processes), more than proxy.memory ${p.memory}`,
        `lower proxy.maxconn to ${edgeMaxconnFor(size.memoryBytes)}, raise proxy.memory to ${mib(edgeMemoryFor(p.maxconn))}, ` +
          'or drop one and let wharf derive it',
      ),
    ];
  }
  if (p.maxconn === undefined && edgeMaxconnFor(size.memoryBytes) < edgeModel.minMaxconn) {
    return [
      err(
        'proxy.memory',
        `${p.memory} leaves room for fewer than ${edgeModel.minMaxconn} connections`,
        `raise it to at least ${mib(edgeMemoryFor(edgeModel.minMaxconn))}`,
      ),
    ];
  }
  return [];
};

/**
 * Component and secret names are a namespace the platform shares with the user: a service named
 * db-exporter would replace the generated exporter, a secret named db-password the generated
 * password. The reserved names are what the plan generates for this stack, never a list kept by hand.
 */
export const namesFreeOfPlatform: PlanRule = (stack, plan) => {
  const declared: Array<[string, Record<string, unknown>, Role]> = [
    ['services', stack.services, 'app'],
    ['databases', stack.databases, 'database'],
    ['caches', stack.caches, 'cache'],
  ];
  const own = (c: Component) => declared.some(([, names, role]) => c.role === role && Object.hasOwn(names, c.name));
  const platform = new Map(plan.components.filter((c) => !own(c)).map((c) => [c.name, c]));
  const taken = (name: string) => platform.has(name) || generated.has(name);
  // The secrets of the same stack without the user's own: exactly what wharf generates.
  const generated = new Map(buildPlan({ ...stack, secrets: {} }, plan.paths).secrets.map((s) => [s.name, s]));
  const rename = (n: string) => {
    for (let i = 0; ; i++) {
      const c = `my-${n}${i ? `-${i}` : ''}`;
      if (!taken(c)) return c;
    }
  };
  const components = declared.flatMap(([key, names]) =>
    Object.keys(names).flatMap((n) => {
      const p = platform.get(n);
      return p
        ? [
            err(
              `${key}.${n}`,
              `"${n}" is the name of the platform's ${p.role} component`,
              `rename it (e.g. "${rename(n)}"): wharf generates ${n}`,
            ),
          ]
        : [];
    }),
  );
  const secrets = Object.keys(stack.secrets).flatMap((n) => {
    const g = generated.get(n);
    return g
      ? [err(`secrets.${n}`, `"${n}" is the name of a secret wharf generates (${g.purpose})`, `rename it (e.g. "${rename(n)}")`)]
      : [];
  });
  return [...components, ...secrets];
};

export const planRules: PlanRule[] = [
  routeHostsFreeOfPlatform,
  volumeNamesFreeOfPlatform,
  namesFreeOfPlatform,
  alertOverridesExist,
  edgeFitsMemory,
];

export function checkPlan(stack: Stack, plan: Plan, rules: PlanRule[] = planRules): Issue[] {
  return rules.flatMap((r) => r(stack, plan));
}

/** The plan rules' issues for a loaded spec, placed at their line in the spec file. */
export function checkLoaded(res: Pick<LoadResult, 'place' | 'file'> & { stack: Stack }, plan: Plan): Issue[] {
  const projectDir = dirname(resolve(res.file));
  return [...checkPlan(res.stack, plan), ...buildContextsNotRoot(res.stack, projectDir), ...secretFilesInProject(plan, projectDir)].map(
    (i) => ({
      ...i,
      ...res.place?.(splitPath(i.path)),
    }),
  );
}

/** A context that resolves to / would send the whole filesystem to the Docker daemon. */
export function buildContextsNotRoot(stack: Stack, projectDir: string): Issue[] {
  return Object.entries(stack.services).flatMap(([n, svc]) =>
    svc.build && resolve(projectDir, svc.build.context) === '/'
      ? [
          err(
            `services.${n}.build.context`,
            `"${svc.build.context}" resolves to the filesystem root: the whole disk would be sent to the Docker daemon`,
            'point it at the directory holding the Dockerfile, e.g. ./apps/api',
          ),
        ]
      : [],
  );
}

/**
 * Files read into secrets stay inside the project (links included); one named by an absolute path
 * elsewhere is the user's explicit choice, and reported so that a cloned spec cannot do it unseen.
 */
export function secretFilesInProject(plan: Plan, projectDir: string): Issue[] {
  return plan.secrets.flatMap((s) => {
    if (s.source.kind !== 'file') return [];
    const { path, specPath } = s.source;
    try {
      confine(projectDir, path, {
        what: specPath,
        allowAbsolute: true,
        hint: 'keep the file inside the project, or name it by its absolute path',
      });
    } catch (e) {
      if (e instanceof UserInputError) return e.issues;
      throw e;
    }
    if (!isAbsolute(path) || isInside(projectDir, path)) return [];
    return [
      {
        path: specPath,
        severity: 'warning' as const,
        message: `reads ${path}, outside the project: wharf copies it into .wharf/secrets and mounts it where ${s.name} is used`,
        hint: 'fine if you chose this file; a spec you did not write should not name one',
      },
    ];
  });
}

// Input errors that only the plan can see: names and hosts the platform itself
// takes (Grafana's host, db-data, the alert catalogue). Same shape as the
// spec's cross-field rules, run by `check` and by every command that loads a spec.
import { dirname, resolve } from 'node:path';
import type { Plan } from '../plan/model.js';
import { edgeMaxconnFor, edgeMemoryFor, edgeModel } from '../plan/edge.js';
import { knownAlertNames } from '../render/prometheus/catalogue.js';
import { closest, type Issue } from '../spec/issues.js';
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

export const planRules: PlanRule[] = [routeHostsFreeOfPlatform, volumeNamesFreeOfPlatform, alertOverridesExist, edgeFitsMemory];

export function checkPlan(stack: Stack, plan: Plan, rules: PlanRule[] = planRules): Issue[] {
  return rules.flatMap((r) => r(stack, plan));
}

/** The plan rules' issues for a loaded spec, placed at their line in the spec file. */
export function checkLoaded(res: Pick<LoadResult, 'place' | 'file'> & { stack: Stack }, plan: Plan): Issue[] {
  return [...checkPlan(res.stack, plan), ...buildContextsNotRoot(res.stack, dirname(resolve(res.file)))].map((i) => ({
    ...i,
    ...res.place?.(splitPath(i.path)),
  }));
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

// `wharf check --target swarm`: what goes wrong only when the platform runs on several
// nodes. Same shape as the policy rules (id, severity, path, fix); offline, from the spec
// and the plan. The live side (nodes up, quorum now, ports between nodes) is `wharf doctor`.
import type { Component } from '../plan/model.js';
import { DATA_NODE_LABEL, healthWindow, keepsData, seconds } from '../plan/placement.js';
import type { PolicyRule } from './rule.js';

const servicePath = (c: Component) => `services.${c.name}`;
const apps = (cs: Component[]) => cs.filter((c) => c.role === 'app');

export const swarmRules: PolicyRule[] = [
  {
    id: 'SW001',
    title: 'start-first rollout of a service with a volume or a published port',
    severity: 'error',
    check: ({ plan }) =>
      apps(plan.components)
        .filter((c) => c.update?.order === 'start-first' && (c.ports.length > 0 || keepsData(c)))
        .map((c) => ({
          path: `${servicePath(c)}.update.order`,
          message:
            `${c.name} rolls start-first but ${keepsData(c) ? 'keeps data on a volume' : 'publishes a host port'}: ` +
            "the new task would share the old one's data or fail to bind the port",
          hint: 'use order: stop-first, or remove update.order and let wharf choose',
        })),
  },
  {
    id: 'SW002',
    title: 'rollout monitor shorter than the health window',
    severity: 'error',
    check: ({ plan }) =>
      apps(plan.components)
        .filter((c) => c.update && c.healthcheck && seconds(c.update.monitor) <= healthWindow(c.healthcheck))
        .map((c) => ({
          path: `${servicePath(c)}.update.monitor`,
          message:
            `${c.name} is watched for ${c.update!.monitor} after each new task, but its healthcheck may take ` +
            `${healthWindow(c.healthcheck!)}s to fail: a task that turns unhealthy later counts as a successful update`,
          hint: `set update.monitor to at least ${Math.ceil(healthWindow(c.healthcheck!) + 5)}s, or remove it`,
        })),
  },
  {
    id: 'SW003',
    title: 'a service with data may move between nodes',
    severity: 'warning',
    check: ({ plan }) =>
      apps(plan.components)
        .filter((c) => keepsData(c) && c.placement?.kind === 'constraints' && !c.placement.node && !Object.keys(c.placement.labels).length)
        .map((c) => ({
          path: `${servicePath(c)}.placement`,
          message:
            `${c.name} keeps data on a node-local volume but may be scheduled on any ` +
            `${c.placement?.kind === 'constraints' && c.placement.role ? c.placement.role : 'node'}: rescheduled elsewhere it starts with an empty volume`,
          hint: `pin it: placement.node: <hostname>, or placement.labels: { ${DATA_NODE_LABEL}: "true" }`,
        })),
  },
  {
    id: 'SW004',
    title: 'fewer than 3 managers, or an even number',
    severity: 'warning',
    check: ({ stack }) => {
      const n = stack.cluster.nodes.filter((x) => x.role === 'manager').length;
      if (!stack.cluster.nodes.length) return [];
      if (n < 3)
        return [
          {
            path: 'cluster.nodes',
            message: `${n} manager${n === 1 ? '' : 's'}: the swarm tolerates no manager loss (Raft needs a majority of ${Math.floor(n / 2) + 1})`,
            hint: 'run 3 managers (5 for two losses); workers add capacity, not fault tolerance',
          },
        ];
      if (n % 2 === 0)
        return [
          {
            path: 'cluster.nodes',
            message: `${n} managers tolerate ${Math.floor((n - 1) / 2)} loss${Math.floor((n - 1) / 2) === 1 ? '' : 'es'}, no more than ${n - 1} would`,
            hint: `use ${n - 1} or ${n + 1} managers`,
          },
        ];
      return [];
    },
  },
  {
    id: 'SW005',
    title: 'a service built locally',
    severity: 'error',
    check: ({ plan }) =>
      apps(plan.components)
        .filter((c) => c.build)
        .map((c) => ({
          path: `${servicePath(c)}.build`,
          message: `${c.name} is built on this machine, but swarm nodes pull every image from a registry`,
          hint:
            `build and push it (docker build -t REGISTRY/${c.name}:TAG . && docker push REGISTRY/${c.name}:TAG), ` +
            `then set ${servicePath(c)}.image and remove build`,
        })),
  },
  {
    id: 'SW006',
    title: 'a placement no declared node satisfies',
    severity: 'error',
    check: ({ stack, plan }) => {
      const nodes = stack.cluster.nodes;
      if (!nodes.length) return [];
      const out: ReturnType<PolicyRule['check']> = [];
      for (const c of plan.components) {
        const p = c.placement;
        const fits = nodes.filter((n) => {
          if (!p) return true;
          if (p.kind === 'node-label') return n.labels[p.label] === 'true';
          if (p.kind === 'control-plane' || p.kind === 'every-control-plane-node') return n.role === 'manager';
          if (p.kind !== 'constraints') return true;
          return (
            (!p.node || n.name === p.node) &&
            (!p.role || n.role === p.role) &&
            Object.entries(p.labels).every(([k, v]) => n.labels[k] === v)
          );
        });
        if (fits.length) continue;
        const where = c.role === 'app' ? `${servicePath(c)}.placement` : 'cluster.nodes';
        const want =
          p?.kind === 'node-label'
            ? `a node labelled ${p.label}=true`
            : p?.kind === 'control-plane' || p?.kind === 'every-control-plane-node'
              ? 'a manager'
              : 'a node matching its placement';
        out.push({
          path: where,
          message: `${c.name} needs ${want}, and none of cluster.nodes (${nodes.map((n) => n.name).join(', ')}) is one`,
          hint:
            p?.kind === 'node-label'
              ? `label one node: cluster.nodes[].labels: { ${p.label}: "true" } (and docker node update --label-add ${p.label}=true NODE)`
              : 'fix the placement or the nodes',
        });
      }
      return out;
    },
  },
];

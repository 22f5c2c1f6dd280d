// Where each component runs on a multi-node target, what it reserves there, and how a change
// rolls over its replicas, decided once by role and spec. Single-host renderers (Compose)
// never read these fields.
import { posix } from 'node:path';
import type { Service } from '../spec/schema.js';
import type { Component, Healthcheck, Placement, Update } from './model.js';
import { Duration, type Size } from '../spec/units.js';

/** Node label (value `true`) that marks the node holding databases, caches and their backups. */
export const DATA_NODE_LABEL = 'wharf.db';

/** A component that keeps data on a node's disk (a named volume or a project-relative path). */
export function keepsData(c: Component): boolean {
  return c.mounts.some((m) => m.type === 'volume' || (m.type === 'bind' && !posix.isAbsolute(m.source)));
}

/** Traefik routes by what the orchestrator says runs (Swarm service labels); HAProxy by DNS. */
export function readsOrchestrator(c: Component): boolean {
  return c.role === 'proxy' && c.engine === 'traefik';
}

export function placementFor(c: Component, spec?: Service['placement']): Placement {
  if (spec)
    return {
      kind: 'constraints',
      ...(spec.node ? { node: spec.node } : {}),
      labels: { ...spec.labels },
      ...(spec.role ? { role: spec.role } : {}),
    };
  switch (c.role) {
    // Their volumes live on one node's disk: a task moved elsewhere would start empty.
    case 'database':
    case 'cache':
    case 'backup':
    case 'object-store':
      return { kind: 'node-label', label: DATA_NODE_LABEL };
    case 'prometheus':
    case 'alertmanager':
    case 'grafana':
    case 'portainer':
      return { kind: 'control-plane' };
    // Host agents report on the node they run on; the edge answers on every node's address.
    case 'node-exporter':
    case 'cadvisor':
      return { kind: 'every-node' };
    // Traefik discovers the routed services from the Swarm API, which only managers answer.
    case 'proxy':
      return readsOrchestrator(c) ? { kind: 'every-control-plane-node' } : { kind: 'every-node' };
    // An application with a volume stays beside its data, as the databases do.
    default:
      return keepsData(c) ? { kind: 'node-label', label: DATA_NODE_LABEL } : { kind: 'spread' };
  }
}

/** Seconds of a duration (a Duration, or text in its grammar: "5s", "1m30s", "500ms", "2d"). */
export function seconds(d: Duration | string): number {
  return (typeof d === 'string' ? Duration.parse(d) : d).toSeconds();
}

/** How long a new replica may take to be declared unhealthy: start period, then every retry. */
export function healthWindow(h: Healthcheck): number {
  return seconds(h.startPeriod) + h.retries * seconds(h.interval) + seconds(h.timeout);
}

/** Start-first only when two replicas can run side by side: not on one node's data or one host port. */
export function safeOrder(c: Component): Update['order'] {
  return c.ports.length || keepsData(c) ? 'stop-first' : 'start-first';
}

/** Watch each new replica past its health window, so one that turns unhealthy late still fails the update.
 *  Without a healthcheck the scheduler only sees "running": watch a little while for crash loops. */
export function defaultMonitor(c: Component): Duration {
  return Duration.seconds(Math.ceil((c.healthcheck ? healthWindow(c.healthcheck) : 10) + 5));
}

export function updateFor(c: Component, spec?: Service['update']): Update {
  // A spec's unsafe order or short monitor is kept as written: `wharf check --target swarm` names it.
  return { order: spec?.order ?? safeOrder(c), monitor: spec?.monitor ?? defaultMonitor(c), parallelism: spec?.parallelism ?? 1 };
}

/** Reserve a quarter of the CPU limit and half the memory limit: enough for the scheduler to
 *  refuse an overfull node, small enough that a 2-core test node fits a whole stack. */
export function reservationFor(r: Component['resources']): { reserveCpus: number; reserveMemory: Size } {
  return { reserveCpus: Math.round((r.cpus / 4) * 1000) / 1000, reserveMemory: r.memory.divideWhole(2) };
}

export function placeComponents(components: Component[], services: Record<string, Service> = {}): void {
  for (const c of components) {
    const svc = c.role === 'app' ? services[c.name] : undefined;
    c.placement = placementFor(c, svc?.placement);
    if (readsOrchestrator(c)) c.readsOrchestrator = true;
    c.update = updateFor(c, svc?.update);
    c.resources = { ...c.resources, ...reservationFor(c.resources) };
  }
}

// Where each component runs on a multi-node target, and what it reserves there, decided
// once by role. Single-host renderers (Compose) never read these fields.
import type { Component, Placement } from './model.js';

/** Node label (value `true`) that marks the node holding databases, caches and their backups. */
export const DATA_NODE_LABEL = 'wharf.db';

export function placementFor(c: Component): Placement {
  switch (c.role) {
    // Their volumes live on one node's disk: a task moved elsewhere would start empty.
    case 'database': case 'cache': case 'backup': return { kind: 'node-label', label: DATA_NODE_LABEL };
    case 'prometheus': case 'alertmanager': case 'grafana': case 'portainer': return { kind: 'control-plane' };
    // Host agents report on the node they run on; the edge answers on every node's address.
    case 'node-exporter': case 'cadvisor': case 'proxy': return { kind: 'every-node' };
    default: return { kind: 'spread' };
  }
}

/** Reserve a quarter of the CPU limit and half the memory limit: enough for the scheduler to
 *  refuse an overfull node, small enough that a 2-core test node fits a whole stack. */
export function reservationFor(r: Component['resources']): { reserveCpus: number; reserveMemory: string } {
  const m = /^(\d+)([KMG])$/i.exec(r.memory);
  const mem = m ? `${Math.max(1, Math.floor(Number(m[1]) / 2))}${m[2]!.toUpperCase()}` : r.memory;
  return { reserveCpus: Math.round((r.cpus / 4) * 1000) / 1000, reserveMemory: mem };
}

export function placeComponents(components: Component[]): void {
  for (const c of components) {
    c.placement = placementFor(c);
    c.resources = { ...c.resources, ...reservationFor(c.resources) };
  }
}

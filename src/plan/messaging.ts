// The spec's messaging: section as the plan's model: the Kafka cluster, its topics and users,
// and which service connects as which user on which listener (decided once, here).
import type { Stack } from '../spec/schema.js';
import type { Messaging } from './model.js';
import { byCodeUnit } from './sort.js';
import { Size } from '../spec/units.js';

export function planMessaging(stack: Stack): Messaging | undefined {
  const m = stack.messaging;
  if (!m) return undefined;
  const listener = m.kafka.listeners[0]!;
  return {
    cluster: m.kafka.name,
    version: m.kafka.version,
    nodePools: m.kafka.nodePools.map((p) => ({
      name: p.name,
      roles: [...p.roles].sort(byCodeUnit) as Array<'broker' | 'controller'>,
      replicas: p.replicas,
      storage: { size: p.storage.size, class: p.storage.class },
      resources: { cpus: p.resources.cpus ?? 1, memory: p.resources.memory ?? Size.parse('2G') },
    })),
    listeners: m.kafka.listeners.map((l) => ({ ...l })),
    topics: Object.entries(m.topics)
      .map(([name, t]) => ({ name, partitions: t.partitions, replicas: t.replicas, config: { ...t.config } }))
      .sort((a, b) => byCodeUnit(a.name, b.name)),
    users: Object.entries(m.users)
      .map(([name, u]) => ({
        name,
        read: [...new Set(u.read)].sort(byCodeUnit),
        write: [...new Set(u.write)].sort(byCodeUnit),
        authentication: listener.authentication,
      }))
      .sort((a, b) => byCodeUnit(a.name, b.name)),
    clients: Object.entries(stack.services)
      .flatMap(([service, s]) =>
        s.messaging ? [{ service, user: s.messaging.user, listener: listener.name, port: listener.port, tls: listener.tls }] : [],
      )
      .sort((a, b) => byCodeUnit(a.service, b.service)),
  };
}

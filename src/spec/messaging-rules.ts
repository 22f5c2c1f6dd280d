// Cross-field rules of the messaging: section (Kafka). Errors name the path to fix.
import type { Stack } from './schema.js';
import type { Issue } from './issues.js';

type Rule = (s: Stack) => Issue[];
const err = (path: string, message: string, hint?: string): Issue => ({ path, message, hint, severity: 'error' });

/** Brokers of the cluster: the nodes of every pool with the broker role. */
export function brokerCount(m: NonNullable<Stack['messaging']>): number {
  return m.kafka.nodePools.filter((p) => p.roles.includes('broker')).reduce((n, p) => n + p.replicas, 0);
}

export const servicesUseDeclaredUsers: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) => {
    if (!svc.messaging) return [];
    const path = `services.${n}.messaging.user`;
    if (!s.messaging)
      return [
        err(
          path,
          'there is no messaging: section',
          'declare messaging: { users: { NAME: { read: [...], write: [...] } } }, or remove services.' + n + '.messaging',
        ),
      ];
    const users = Object.keys(s.messaging.users);
    return s.messaging.users[svc.messaging.user]
      ? []
      : [
          err(
            path,
            `"${svc.messaging.user}" is not a user under messaging.users`,
            users.length ? `declared: ${users.join(', ')}` : `declare messaging.users.${svc.messaging.user}`,
          ),
        ];
  });

export const usersNameDeclaredTopics: Rule = (s) => {
  const m = s.messaging;
  if (!m) return [];
  const topics = Object.keys(m.topics);
  return Object.entries(m.users).flatMap(([u, user]) =>
    (['read', 'write'] as const).flatMap((k) =>
      user[k].flatMap((t, i) =>
        m.topics[t]
          ? []
          : [
              err(
                `messaging.users.${u}.${k}[${i}]`,
                `"${t}" is not a topic under messaging.topics`,
                topics.length ? `declared: ${topics.join(', ')}` : `declare messaging.topics.${t}: {}`,
              ),
            ],
      ),
    ),
  );
};

export const poolsHaveBothRoles: Rule = (s) => {
  const m = s.messaging;
  if (!m) return [];
  const out: Issue[] = [];
  const seen = new Set<string>();
  m.kafka.nodePools.forEach((p, i) => {
    if (seen.has(p.name)) out.push(err(`messaging.kafka.nodePools[${i}].name`, `pool "${p.name}" is declared twice`));
    seen.add(p.name);
    if (new Set(p.roles).size !== p.roles.length) out.push(err(`messaging.kafka.nodePools[${i}].roles`, 'names a role twice'));
  });
  for (const role of ['controller', 'broker'] as const) {
    if (!m.kafka.nodePools.some((p) => p.roles.includes(role)))
      out.push(
        err(
          'messaging.kafka.nodePools',
          `no pool has the ${role} role: a KRaft cluster needs controllers and brokers`,
          `add "${role}" to a pool's roles`,
        ),
      );
  }
  // KRaft's quorum needs a majority of its voters: an even count tolerates no more losses than one fewer
  const controllers = m.kafka.nodePools.filter((p) => p.roles.includes('controller')).reduce((n, p) => n + p.replicas, 0);
  if (controllers > 0 && controllers % 2 === 0)
    out.push({
      ...err(
        'messaging.kafka.nodePools',
        `${controllers} controllers: the KRaft quorum tolerates no more losses than ${controllers - 1} would`,
        `use ${controllers - 1} or ${controllers + 1} controllers`,
      ),
      severity: 'warning',
    });
  return out;
};

export const topicsFitBrokers: Rule = (s) => {
  const m = s.messaging;
  if (!m) return [];
  const brokers = brokerCount(m);
  return Object.entries(m.topics).flatMap(([t, topic]) => {
    const path = `messaging.topics.${t}`;
    const out: Issue[] = [];
    if (topic.replicas > brokers)
      out.push(
        err(
          `${path}.replicas`,
          `${topic.replicas} replicas but the cluster has ${brokers} broker${brokers === 1 ? '' : 's'}`,
          `use at most ${brokers} replicas, or add brokers to messaging.kafka.nodePools`,
        ),
      );
    const isr = topic.config['min.insync.replicas'];
    if (isr !== undefined && Number(isr) > topic.replicas)
      out.push(
        err(
          `${path}.config.min.insync.replicas`,
          `${isr} in-sync replicas required of ${topic.replicas}: every write would fail`,
          `use at most ${topic.replicas}`,
        ),
      );
    return out;
  });
};

export const listenersDistinct: Rule = (s) => {
  const m = s.messaging;
  if (!m) return [];
  const names = new Set<string>(),
    ports = new Set<number>();
  return m.kafka.listeners.flatMap((l, i) => {
    const out: Issue[] = [];
    if (names.has(l.name)) out.push(err(`messaging.kafka.listeners[${i}].name`, `listener "${l.name}" is declared twice`));
    if (ports.has(l.port)) out.push(err(`messaging.kafka.listeners[${i}].port`, `port ${l.port} is used by another listener`));
    if (l.authentication === 'tls' && !l.tls)
      out.push(err(`messaging.kafka.listeners[${i}].authentication`, 'TLS client authentication needs tls: true'));
    names.add(l.name);
    ports.add(l.port);
    return out;
  });
};

/** Strimzi labels its pods app.kubernetes.io/name=kafka / entity-operator: a component so named would share their NetworkPolicy. */
export const strimziNamesFree: Rule = (s) => {
  if (!s.messaging) return [];
  return (['services', 'databases', 'caches'] as const).flatMap((k) =>
    Object.keys(s[k])
      .filter((n) => ['kafka', 'entity-operator'].includes(n))
      .map((n) => err(`${k}.${n}`, `"${n}" is the name Strimzi gives its own pods (app.kubernetes.io/name)`, 'pick another name')),
  );
};

/** Strimzi names each node's pod <cluster>-<pool>-<node id>, a host name: at most 63 characters. */
export const podNamesFit: Rule = (s) => {
  const m = s.messaging;
  if (!m) return [];
  return m.kafka.nodePools.flatMap((p, i) => {
    const longest = `${m.kafka.name}-${p.name}-999`;
    return longest.length <= 63
      ? []
      : [
          err(
            `messaging.kafka.nodePools[${i}].name`,
            `pods named ${m.kafka.name}-${p.name}-N would be longer than 63 characters, which Kubernetes refuses`,
            'shorten the pool name or messaging.kafka.name',
          ),
        ];
  });
};

export const messagingRules: Rule[] = [
  podNamesFit,
  strimziNamesFree,
  servicesUseDeclaredUsers,
  usersNameDeclaredTopics,
  poolsHaveBothRoles,
  topicsFitBrokers,
  listenersDistinct,
];

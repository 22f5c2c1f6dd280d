// Cross-field rules: small named functions, each returning the issues it finds.
import { posix } from 'node:path';
import type { Stack } from './schema.js';
import type { Issue } from './issues.js';
import { staysInside } from './grammar.js';
import { acmeCa, isPublicCa, unprovableHost } from './acme.js';
import { clusterRules } from './cluster-rules.js';
import { messagingRules } from './messaging-rules.js';
import { receiverSecretNames } from './monitoring-schema.js';
import { allBackups, backupNamesUnique, backupsOutsideSecrets } from './backup-rules.js';

export { allBackups };

type Rule = (s: Stack) => Issue[];
const err = (path: string, message: string, hint?: string): Issue => ({ path, message, hint, severity: 'error' });

export const imageOrBuild: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) =>
    svc.image && svc.build
      ? [err(`services.${n}`, 'has both "image" and "build"', 'keep one: build produces the image')]
      : !svc.image && !svc.build
        ? [err(`services.${n}`, 'needs "image" or "build"')]
        : [],
  );

export const usedBackendsExist: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) =>
    svc.uses.flatMap((u, i) =>
      s.databases[u] || s.caches[u]
        ? []
        : [
            err(
              `services.${n}.uses[${i}]`,
              `"${u}" is not a database or cache of this stack`,
              hintFrom([...Object.keys(s.databases), ...Object.keys(s.caches)]),
            ),
          ],
    ),
  );

export const secretsDeclared: Rule = (s) => {
  const declared = new Set(Object.keys(s.secrets));
  const out: Issue[] = [];
  for (const [n, svc] of Object.entries(s.services)) {
    svc.secrets.forEach((sec, i) => {
      if (!declared.has(sec))
        out.push(
          err(
            `services.${n}.secrets[${i}]`,
            `secret "${sec}" is not declared under secrets`,
            `add secrets.${sec}: { generate: true } or { file: PATH }`,
          ),
        );
    });
  }
  s.monitoring.alerts.receivers.forEach((r, i) => {
    for (const ref of receiverSecretNames(r))
      if (!declared.has(ref)) out.push(err(`monitoring.alerts.receivers[${i}]`, `secret "${ref}" is not declared under secrets`));
  });
  const hb = s.monitoring.alerts.heartbeat?.urlSecret;
  if (hb && !declared.has(hb)) out.push(err('monitoring.alerts.heartbeat.urlSecret', `secret "${hb}" is not declared under secrets`));
  const backups = allBackups(s);
  for (const [path, b] of backups) {
    if (b.destination.type === 's3') {
      for (const k of ['accessKeySecret', 'secretKeySecret', 'caSecret'] as const) {
        if (b.destination[k] !== undefined && !declared.has(b.destination[k]))
          out.push(err(`${path}.destination.${k}`, `secret "${b.destination[k]}" is not declared under secrets`));
      }
    }
  }
  return out;
};

/** The platform's own component names: never a service's (an import renames a clash NAME-2). */
export const platformComponentNames: readonly string[] = [
  'proxy',
  'traefik',
  'haproxy',
  'prometheus',
  'alertmanager',
  'grafana',
  'node-exporter',
  'cadvisor',
  'backup',
  'portainer',
];

/** How a service's env entry { secret, as } is read: `as` defaults from the variable's name. */
export function envSecretMode(name: string, as: 'file' | 'value' | undefined): 'file' | 'value' {
  return as ?? (name.endsWith('_FILE') ? 'file' : 'value');
}

export const envSecretsResolve: Rule = (s) => {
  const out: Issue[] = [];
  for (const [n, svc] of Object.entries(s.services)) {
    let injects = false;
    for (const [k, v] of Object.entries(svc.env)) {
      if (typeof v === 'string') continue;
      const path = `services.${n}.env.${k}.secret`;
      const [used, part] = v.secret.split('.');
      if (part) {
        if (!svc.uses.includes(used!))
          out.push(
            err(path, `"${used}" is not in services.${n}.uses`, `add it to uses, or pick one of: ${svc.uses.join(', ') || '(none)'}`),
          );
      } else if (!s.secrets[used!]) {
        out.push(
          err(
            path,
            `secret "${used}" is not declared under secrets`,
            `declare secrets.${used}: { generate: true } or { file: PATH }, or reference a used backend as NAME.url / NAME.password`,
          ),
        );
      }
      if (envSecretMode(k, v.as) === 'value') injects = true;
    }
    // The wrapper replaces the entrypoint; the image's own command cannot be read at render time.
    if (injects && !svc.command)
      out.push(
        err(
          `services.${n}.command`,
          'is required when env reads a secret value at start (as: value)',
          "give the image's full start command (its ENTRYPOINT and CMD together), e.g. command: [docker-entrypoint.sh, postgres]; " +
            'or use a *_FILE variable if the image reads files',
        ),
      );
  }
  return out;
};

export const healthProbeIsOne: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) => {
    const h = svc.health;
    if (!h) return [];
    const given = (['path', 'command', 'tcp'] as const).filter((k) => h[k] !== undefined);
    const path = `services.${n}.health`;
    if (given.length > 1) return [err(path, `has ${given.join(' and ')}: a health check is one probe`, 'keep one of path, command, tcp')];
    if (h.from !== 'edge') return [];
    if (h.command)
      return [
        err(
          `${path}.from`,
          'the edge cannot run a command',
          'probe from the edge with path or tcp, or run the command in the container (from: container)',
        ),
      ];
    if (!svc.routes.length)
      return [
        err(`${path}.from`, 'nothing probes an unrouted service from the edge', 'route it, or give it a probe the container can run'),
      ];
    if (h.tcp && s.proxy.kind === 'traefik')
      return [err(`${path}.tcp`, 'Traefik health checks are HTTP only', 'use path, or proxy.kind: haproxy')];
    return [];
  });

export const uniqueNames: Rule = (s) => {
  const seen = new Map<string, string>();
  const out: Issue[] = [];
  const reserved = new Set([...platformComponentNames, ...(s.storage.minio ? ['minio'] : [])]);
  for (const [kind, rec] of [
    ['services', s.services],
    ['databases', s.databases],
    ['caches', s.caches],
  ] as const) {
    for (const n of Object.keys(rec)) {
      if (reserved.has(n)) out.push(err(`${kind}.${n}`, `"${n}" is reserved for a platform component`, 'pick another name'));
      else if (seen.has(n))
        out.push(err(`${kind}.${n}`, `name "${n}" is already used by ${seen.get(n)}.${n}`, 'names share one DNS namespace'));
      else seen.set(n, kind);
    }
  }
  return out;
};

export const uniqueRouteHosts: Rule = (s) => {
  const seen = new Map<string, string>();
  const out: Issue[] = [];
  for (const [n, svc] of Object.entries(s.services)) {
    svc.routes.forEach((r, i) => {
      const key = `${r.host}${r.path}`;
      const prev = seen.get(key);
      if (prev) out.push(err(`services.${n}.routes[${i}]`, `host+path ${key} is already routed to ${prev}`));
      else seen.set(key, `services.${prev ?? n}`);
    });
  }
  return out;
};

export const routedServicesHaveHealth: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) =>
    svc.routes.length && svc.health === false
      ? [
          {
            ...err(`services.${n}.health`, 'routed service without a health check: the edge cannot take a dead replica out'),
            severity: 'warning' as const,
          },
        ]
      : [],
  );

export const edgePortsDistinct: Rule = (s) => [
  ...(s.proxy.httpPort === s.proxy.httpsPort ? [err('proxy.httpsPort', 'must differ from proxy.httpPort')] : []),
  ...([s.proxy.httpPort, s.proxy.httpsPort].includes(s.proxy.stats.port)
    ? [
        err(
          'proxy.stats.port',
          'must differ from proxy.httpPort and proxy.httpsPort',
          'the stats page listens on its own port (default 8404)',
        ),
      ]
    : []),
];

export const tlsFilesNeedPaths: Rule = (s) =>
  s.tls.mode === 'acme' && s.domain.endsWith('.localhost')
    ? [err('tls.mode', 'ACME cannot issue certificates for .localhost domains', 'use mode: self-signed for local stacks')]
    : [];

/** Hosts the ACME certificate cannot name are said at check time, not found at 3 a.m. (`wharf check`, WH013). */
export const acmeHostsProvable: Rule = (s) => {
  if (s.tls.mode !== 'acme' || s.proxy.kind !== 'haproxy') return [];
  const publicCa = isPublicCa(acmeCa(s.tls));
  const hosts = Object.entries(s.services).flatMap(([n, svc]) =>
    svc.routes.map((r, i) => ({ h: r.host, path: `services.${n}.routes[${i}].host` })),
  );
  return hosts.flatMap(({ h, path }) => {
    const why = unprovableHost(h, publicCa);
    return why
      ? [
          {
            ...err(path, `${h} gets no ACME certificate: ${why}; the edge serves its self-signed certificate for it`),
            severity: 'warning' as const,
          },
        ]
      : [];
  });
};

export const retentionKeepsSomething: Rule = (s) =>
  allBackups(s).flatMap(([path, b]) => {
    const r = b.retention;
    const given = [r.keepLast, r.keepDaily, r.keepWeekly, r.keepMonthly].filter((n) => n !== undefined);
    if (!given.length)
      return [
        err(
          `${path}.retention`,
          'keeps nothing: no keepLast, keepDaily, keepWeekly or keepMonthly',
          'say what to keep, e.g. retention: { keepDaily: 7, keepWeekly: 4 }, or leave retention out for the default (keepLast 7, keepWeekly 4)',
        ),
      ];
    if (given.every((n) => n === 0))
      return [err(`${path}.retention`, 'keeps nothing: every keep-* is 0', 'set at least one keep-* above 0, e.g. keepDaily: 7')];
    return [];
  });

export const minioDestinationExists: Rule = (s) =>
  allBackups(s).flatMap(([path, b]) =>
    b.destination.type === 'minio' && !s.storage.minio
      ? [err(`${path}.destination.type`, 'there is no MinIO in the stack', 'add storage: { minio: {} }, or give an S3 endpoint (type: s3)')]
      : [],
  );

export const backupsEncrypted: Rule = (s) =>
  allBackups(s).flatMap(([path, b]) =>
    b.encrypt === false
      ? [
          err(
            `${path}.encrypt`,
            'cannot be false: restic encrypts every repository',
            'remove encrypt (it can only be true); the key is the generated restic password secret',
          ),
        ]
      : [],
  );

/** pgBackRest archives PostgreSQL's WAL; MariaDB/MySQL binary-log recovery is not built. */
export const pointInTimePostgresOnly: Rule = (s) =>
  allBackups(s).flatMap(([path, b]) => {
    if (!b.pointInTime) return [];
    const engine = path.startsWith('databases.') ? s.databases[path.split('.')[1]!]?.engine : undefined;
    if (engine === 'postgres') {
      const d = b.destination;
      const http = d.type === 'minio' || (d.type === 's3' && d.endpoint.startsWith('http:'));
      return http
        ? [
            err(
              `${path}.destination`,
              'point-in-time recovery ships WAL with pgBackRest, which reaches S3 over HTTPS only (rule pointInTimePostgresOnly)',
              'give an https:// endpoint, or a local destination',
            ),
          ]
        : [];
    }
    const what = engine ? `${engine} (its binary log is not archived)` : 'caches and volumes';
    return [
      err(
        `${path}.pointInTime`,
        `point-in-time recovery is offered for PostgreSQL only, not for ${what} (rule pointInTimePostgresOnly)`,
        'remove pointInTime: scheduled dumps (schedule) are what this backup offers',
      ),
    ];
  });

export const buildInsideProject: Rule = (s) =>
  Object.entries(s.services).flatMap(([n, svc]) => {
    const b = svc.build;
    // Compose reads the Dockerfile relative to the context: it must stay inside the context.
    if (!b?.dockerfile) return [];
    const rel = posix.relative(posix.normalize(b.context), posix.join(b.context, b.dockerfile));
    return !posix.isAbsolute(b.dockerfile) && staysInside(rel || '.')
      ? []
      : [
          err(
            `services.${n}.build.dockerfile`,
            `"${b.dockerfile}" resolves outside the build context`,
            'give a path relative to build.context that stays inside it',
          ),
        ];
  });

/** Alertmanager receiver names are one namespace: `null` and `heartbeat` are the platform's own. */
export const receiverNamesFree: Rule = (s) => {
  const seen = new Set<string>();
  return s.monitoring.alerts.receivers.flatMap((r, i) => {
    const path = `monitoring.alerts.receivers[${i}].name`;
    if (r.name === 'null' || r.name === 'heartbeat')
      return [
        err(
          path,
          `"${r.name}" is reserved for the platform's own receiver`,
          r.name === 'heartbeat' ? "set monitoring.alerts.heartbeat for a dead man's switch" : 'pick another name',
        ),
      ];
    if (seen.has(r.name)) return [err(path, `receiver "${r.name}" is declared twice`)];
    seen.add(r.name);
    return [];
  });
};

function hintFrom(names: string[]): string | undefined {
  return names.length ? `declared: ${names.join(', ')}` : 'declare it under databases: or caches:';
}

export const crossFieldRules: Rule[] = [
  imageOrBuild,
  usedBackendsExist,
  secretsDeclared,
  envSecretsResolve,
  healthProbeIsOne,
  uniqueNames,
  uniqueRouteHosts,
  routedServicesHaveHealth,
  edgePortsDistinct,
  tlsFilesNeedPaths,
  retentionKeepsSomething,
  minioDestinationExists,
  backupsEncrypted,
  backupNamesUnique,
  backupsOutsideSecrets,
  pointInTimePostgresOnly,
  buildInsideProject,
  receiverNamesFree,
  ...clusterRules,
  ...messagingRules,
];

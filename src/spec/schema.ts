// The one schema: wharf.yaml and defineStack() are validated by it, types are
// inferred from it, and `wharf schema` prints its JSON Schema.
import { isIP } from 'node:net';
import { z } from 'zod';
import { isCidr, isDockerHost, isIpAddress, isS3Endpoint } from './grammar.js';
import { cidr, cron, duration, hostname, imageRef, memory, memoryLimit, name, port, projectPath, urlPath } from './primitives.js';
import { SPEC_VERSION } from './migrate.js';

export const resourcesSchema = z
  .strictObject({
    cpus: z.number().positive().max(256).describe('CPU limit, in cores').optional(),
    memory: memoryLimit.describe('memory limit, e.g. 256M').optional(),
  })
  .describe('resource limits; every service gets defaults when omitted');

export const routeSchema = z.strictObject({
  host: hostname.describe('host name matched by the edge; "@" prefix-less, full name'),
  path: urlPath(false).default('/'),
  auth: z.boolean().default(false).describe('protect with generated basic-auth credentials'),
  allow: z.array(cidr).optional().describe('source IP allow-list'),
});

export const retentionSchema = z.strictObject({
  keepLast: z.number().int().min(1).optional(),
  keepDaily: z.number().int().min(0).optional(),
  keepWeekly: z.number().int().min(0).optional(),
  keepMonthly: z.number().int().min(0).optional(),
});

/** S3 bucket naming rules (the part every provider accepts) */
const s3Bucket = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'should be an S3 bucket name: 3-63 lowercase letters, digits, dots and dashes');

export const backupSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    schedule: cron.default('@daily'),
    retention: retentionSchema.prefault({ keepLast: 7, keepWeekly: 4 }),
    destination: z
      .union([
        z.strictObject({ type: z.literal('local'), path: projectPath.default('./.wharf/backups') }),
        z.strictObject({
          type: z.literal('s3'),
          endpoint: z
            .string()
            .url()
            .refine(
              isS3Endpoint,
              'should be http(s)://HOST[:PORT] only: no path (the bucket has its own key), no user or password (keys come from secrets)',
            )
            .describe('S3-compatible endpoint, e.g. https://s3.eu-central-1.amazonaws.com or http://minio:9000'),
          bucket: z.string().min(1),
          accessKeySecret: name.describe('secret holding the access key id'),
          secretKeySecret: name.describe('secret holding the secret access key'),
        }),
        z
          .strictObject({ type: z.literal('minio') })
          .describe("the stack's own MinIO (storage.minio): endpoint, bucket and keys are filled in"),
      ])
      .prefault({ type: 'local' }),
    encrypt: z.boolean().default(true),
    verify: z.strictObject({ schedule: cron.default('@weekly'), restoreTest: z.boolean().default(true) }).prefault({}),
  })
  .describe('scheduled, encrypted, verified backups');

const healthSchema = z.strictObject({
  path: urlPath(true).optional().describe('HTTP GET that must answer 200 (the default probe, at /health)'),
  ready: urlPath(true)
    .optional()
    .describe(
      'HTTP GET that answers 200 only while the service can take traffic (its dependencies reachable); Kubernetes readiness probe, default: the health probe',
    ),
  command: z.array(z.string().min(1)).min(1).optional().describe("the image's own probe, run in the container (exit 0 = healthy)"),
  tcp: z.literal(true).optional().describe('healthy when the service port is listening (read from /proc/net/tcp: needs only sh and grep)'),
  from: z
    .enum(['container', 'edge'])
    .default('container')
    .describe('edge: the image has no shell or HTTP client, so only the edge proxy probes it (path or tcp) and takes failing replicas out'),
  interval: duration.prefault('5s'),
  timeout: duration.prefault('3s'),
  retries: z.number().int().min(1).max(100).default(5),
  startPeriod: duration.prefault('20s'),
});

const buildSchema = z.strictObject({
  context: z
    .string()
    .min(1)
    .regex(/^[^\x00-\x1f\x7f\\]+$/, 'should be a path (no control characters or backslashes)')
    .describe('build context, relative to wharf.yaml (../ allowed for monorepos; never the filesystem root)'),
  dockerfile: z.string().min(1).optional().describe('relative to context; must stay inside it'),
  args: z.record(z.string(), z.string()).default({}),
});

/** The targets a spec can be rendered for (src/render/index.ts registers one renderer each). */
export const targetNames = ['compose', 'swarm', 'k8s'] as const;
export type TargetName = (typeof targetNames)[number];

const dockerHost = z
  .string()
  .refine(isDockerHost, 'should be a Docker engine address: tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH');
const sshUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'should be a Unix user name: lowercase letters, digits, dashes, underscores');
const nodeName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, "should be a node's host name: lowercase letters, digits, dots and dashes");
const labelKey = z.string().regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/, 'should be a node label name like zone or wharf.db');
const labelValue = z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'should be a label value: letters, digits, dots, dashes, underscores');

const placementSchema = z
  .strictObject({
    node: nodeName.optional().describe('run only on the node with this host name'),
    labels: z.record(labelKey, labelValue).default({}).describe('run only on nodes carrying every one of these labels'),
    role: z.enum(['manager', 'worker']).optional().describe('run only on managers, or only on workers'),
  })
  .describe('multi-node targets: where the service may run (single-host targets ignore it)');

const updateSchema = z
  .strictObject({
    order: z
      .enum(['start-first', 'stop-first'])
      .optional()
      .describe('start the new replica before stopping the old one; default start-first, stop-first with a volume or a published port'),
    monitor: duration.optional().describe('how long each new replica is watched before the next one rolls; default its health window + 5s'),
    parallelism: z.number().int().min(1).max(100).default(1).describe('replicas replaced at a time'),
  })
  .describe('multi-node targets: how a changed service rolls');

const autoscaleSchema = z
  .strictObject({
    min: z.number().int().min(1).max(100).describe('fewest replicas'),
    max: z.number().int().min(1).max(100).describe('most replicas'),
    cpu: z.number().int().min(10).max(100).default(70).describe('target CPU use, percent of the CPU request, averaged over the replicas'),
  })
  .refine((a) => a.min <= a.max, { message: 'min should be at most max', path: ['min'] })
  .describe(
    'Kubernetes: a HorizontalPodAutoscaler scales the service between min and max replicas on CPU (Compose and Swarm run `replicas`)',
  );

/** `db.url`, `db.password` (a database or cache the service uses) or a user secret's name. */
export const secretRef = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,30}[a-z0-9](\.(url|password))?$/,
    'should be USED.url, USED.password (a database or cache in uses) or the name of a declared secret',
  );

const envSecretSchema = z
  .strictObject({
    secret: secretRef,
    as: z
      .enum(['file', 'value'])
      .optional()
      .describe(
        'file: the variable holds the path of the mounted secret file; value: an entrypoint wrapper reads the file at start and exports its contents (the image needs /bin/sh, and the service needs command). Default: file for names ending in _FILE, value otherwise',
      ),
  })
  .describe('an environment variable filled from a secret file, never from a value in the rendered files');

export const serviceSchema = z
  .strictObject({
    image: imageRef.optional().describe('image reference; pin a tag or digest'),
    build: buildSchema.optional(),
    command: z.array(z.string()).optional(),
    port: port.describe('port the service listens on inside its container'),
    replicas: z.number().int().min(1).max(100).default(1),
    routes: z.array(routeSchema).default([]),
    health: z
      .union([healthSchema, z.literal(false)])
      .prefault({})
      .describe('one of path (HTTP, default /health), command or tcp; false for none'),
    metrics: z.union([z.strictObject({ path: urlPath(true).default('/metrics'), port: port.optional() }), z.literal(false)]).default(false),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'should be an environment variable name'),
        z.union([z.string(), envSecretSchema]),
      )
      .default({})
      .describe(
        'environment: plain strings, or { secret: REF } for a secret (a file path for *_FILE / __FILE names, the value itself otherwise)',
      ),
    secrets: z.array(name).default([]).describe('names of secrets mounted at /run/secrets/NAME'),
    resources: resourcesSchema.prefault({}),
    uses: z.array(name).default([]).describe('databases and caches this service talks to'),
    dockerSocket: z.enum(['none', 'read-only']).default('none').describe('mount the Docker socket (read-only only)'),
    user: z.string().optional(),
    volumes: z
      .array(z.strictObject({ name, target: z.string().regex(/^\//, 'should be an absolute path'), backup: backupSchema.optional() }))
      .default([]),
    init: z.boolean().default(true).describe('run an init process as PID 1 so SIGTERM stops the service quickly'),
    placement: placementSchema.optional(),
    update: updateSchema.prefault({}),
    autoscale: autoscaleSchema.optional(),
    messaging: z
      .strictObject({ user: name.describe('a user under messaging.users: its topics are what this service may read and write') })
      .optional()
      .describe('k8s: this service talks to the Kafka cluster of messaging: as this user (its password is generated by Strimzi)'),
  })
  .refine((s) => !s.autoscale || (s.replicas >= s.autoscale.min && s.replicas <= s.autoscale.max), {
    message: 'should lie between autoscale.min and autoscale.max: it is the count Compose and Swarm run, and where the autoscaler starts',
    path: ['replicas'],
  })
  .describe('an application service');

export const databaseSchema = z.strictObject({
  engine: z.enum(['postgres', 'mysql', 'mariadb']),
  version: z
    .string()
    .regex(/^\d+(\.\d+)*$/, 'should be a version number like 16 or 11.4')
    .optional(),
  database: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/)
    .optional()
    .describe('database name; defaults to the stack name'),
  user: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,31}$/)
    .optional(),
  resources: resourcesSchema.prefault({}),
  backup: backupSchema.optional(),
  maxConnections: z.number().int().min(10).max(10000).optional(),
});

export const cacheSchema = z.strictObject({
  engine: z.literal('redis'),
  version: z
    .string()
    .regex(/^\d+(\.\d+)*$/)
    .optional(),
  maxmemory: memory.prefault('128M'),
  persistence: z.boolean().default(false).describe('keep an RDB snapshot on a volume'),
  resources: resourcesSchema.prefault({}),
  backup: backupSchema.optional(),
});

/** The Kafka versions Strimzi 0.45.2 (the operator wharf pins, src/render/k8s/controllers.ts) runs. */
export const kafkaVersions = ['3.8.0', '3.8.1', '3.9.0', '3.9.1', '3.9.2'] as const;
const topicName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/,
    "should be a topic name: lowercase letters, digits, dots and dashes (it is also the KafkaTopic's Kubernetes name)",
  );
const quantity = z.string().regex(/^\d+(Mi|Gi|Ti)$/, 'should be a size like 512Mi, 10Gi or 1Ti');

export const messagingSchema = z
  .strictObject({
    kafka: z
      .strictObject({
        name: name.default('kafka').describe("the Kafka cluster's name (Strimzi names its pods and Services after it)"),
        version: z.enum(kafkaVersions).default('3.9.0').describe('Apache Kafka version, pinned'),
        nodePools: z
          .array(
            z.strictObject({
              name,
              roles: z
                .array(z.enum(['controller', 'broker']))
                .min(1)
                .describe("KRaft roles of the pool's nodes"),
              replicas: z.number().int().min(1).max(32),
              storage: z
                .strictObject({
                  size: quantity.default('10Gi'),
                  class: z
                    .string()
                    .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'should be a StorageClass name')
                    .optional()
                    .describe("default: the target's storage class (K3s: local-path)"),
                })
                .prefault({}),
              resources: resourcesSchema.prefault({}),
            }),
          )
          .min(1)
          .prefault([{ name: 'dual', roles: ['controller', 'broker'], replicas: 3 }])
          .describe('KafkaNodePools: every node is a controller, a broker or both (KRaft, no ZooKeeper)'),
        listeners: z
          .array(
            z.strictObject({
              name: z.string().regex(/^[a-z0-9]{1,11}$/, "should be 1-11 lowercase letters and digits (Strimzi's listener name)"),
              port: port.refine(
                (p) => p >= 9092 && ![9404, 9999].includes(p),
                "should be 9092 or above, not 9404 or 9999 (9090, 9091 and 8443 are Strimzi's own)",
              ),
              tls: z.boolean().default(true).describe('encrypt client connections (clients trust the cluster CA Strimzi generates)'),
              authentication: z.enum(['scram-sha-512', 'tls']).default('scram-sha-512'),
            }),
          )
          .min(1)
          .default([{ name: 'tls', port: 9093, tls: true, authentication: 'scram-sha-512' }])
          .describe('cluster-internal listeners; services connect to the first one'),
      })
      .prefault({}),
    topics: z
      .record(
        topicName,
        z.strictObject({
          partitions: z.number().int().min(1).max(10000).default(3),
          replicas: z.number().int().min(1).max(32).default(3),
          config: z
            .record(
              z.string().regex(/^[a-z][a-z0-9.]*$/, 'should be a Kafka topic config key like retention.ms'),
              z.union([z.string(), z.number(), z.boolean()]),
            )
            .default({}),
        }),
      )
      .default({}),
    users: z
      .record(
        name,
        z.strictObject({
          read: z.array(topicName).default([]).describe('topics this user may consume (its consumer groups are named after the user)'),
          write: z.array(topicName).default([]).describe('topics this user may produce to'),
        }),
      )
      .default({})
      .describe("KafkaUsers with simple ACLs; Strimzi generates each one's password as a Secret"),
  })
  .describe('k8s: a Kafka cluster run by Strimzi (KRaft), its topics and users');

export const receiverSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    name,
    url: z.string().url(),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
  z.strictObject({
    type: z.literal('email'),
    name,
    to: z.string().email(),
    from: z.string().email(),
    smarthost: z.string().regex(/^[^:\s]+:\d+$/, 'should be host:port'),
    username: z.string().optional(),
    passwordSecret: name.optional(),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
  z.strictObject({
    type: z.literal('slack'),
    name,
    channel: z.string().regex(/^#/),
    webhookSecret: name.describe('secret holding the Slack webhook URL'),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
]);

export const monitoringSchema = z.strictObject({
  enabled: z.boolean().default(true),
  scrapeInterval: duration.prefault('15s'),
  evaluationInterval: duration.optional(),
  retention: duration.prefault('15d'),
  grafana: z.union([z.strictObject({ host: hostname.optional(), allow: z.array(cidr).optional() }), z.literal(false)]).prefault({}),
  cadvisor: z.boolean().default(true),
  nodeExporter: z.boolean().default(true),
  alerts: z
    .strictObject({
      receivers: z.array(receiverSchema).default([]),
      groupWait: duration.prefault('30s'),
      groupInterval: duration.prefault('5m'),
      repeatInterval: duration.prefault('4h'),
      heartbeat: z
        .strictObject({
          url: z
            .string()
            .url()
            .describe("dead man's switch URL (healthchecks.io, Dead Man's Snitch, ...) that expects a ping every interval"),
          interval: duration.prefault('5m').describe('how often the always-firing Watchdog alert is sent'),
        })
        .optional()
        .describe('where the Watchdog alert goes: silence there means the alerting pipeline is broken'),
      overrides: z
        .record(
          z.string(),
          z.strictObject({ threshold: z.number().optional(), for: duration.optional(), disabled: z.boolean().optional() }),
        )
        .default({}),
    })
    .prefault({}),
});

export const proxySchema = z.strictObject({
  kind: z.enum(['traefik', 'haproxy']).default('traefik'),
  bind: z
    .string()
    .refine(isIpAddress, 'should be an IP address like 0.0.0.0, 127.0.0.1 or :: (no port, no host name)')
    .default('0.0.0.0')
    .describe('host address the edge ports are published on'),
  httpPort: port.default(80),
  httpsPort: port.default(443),
  dashboard: z
    .union([z.strictObject({ host: hostname.optional(), allow: z.array(cidr).optional() }), z.literal(false)])
    .prefault({})
    .describe('Traefik dashboard or HAProxy stats page, always behind basic auth'),
  stats: z.strictObject({ port: port.default(8404), publish: z.boolean().default(false) }).prefault({}),
  memory: memoryLimit.optional().describe('memory limit of the edge (default 128M); HAProxy derives its maxconn from it'),
  maxconn: z
    .number()
    .int()
    .min(64)
    .max(1_000_000)
    .optional()
    .describe('HAProxy: concurrent connections to admit; the memory limit is derived from it unless proxy.memory is given too'),
});

export const tlsSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('self-signed') }),
  z.strictObject({ mode: z.literal('acme'), email: z.string().email(), staging: z.boolean().default(false) }),
  z.strictObject({ mode: z.literal('files'), cert: z.string().min(1), key: z.string().min(1) }),
]);

export const imageKeys = [
  'traefik',
  'haproxy',
  'prometheus',
  'alertmanager',
  'grafana',
  'node-exporter',
  'cadvisor',
  'postgres',
  'mysql',
  'mariadb',
  'redis',
  'postgres-exporter',
  'mysqld-exporter',
  'redis-exporter',
  'restic',
  'portainer',
  'node',
  'minio',
] as const;

export const stackSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z
      .literal(SPEC_VERSION)
      .default(SPEC_VERSION)
      .describe('the spec version the file was written for (`wharf migrate` rewrites an older one)'),
    name: name.describe('stack name; prefixes containers, networks and volumes'),
    target: z.enum(targetNames).optional().describe('the target commands use when --target is not given (default compose)'),
    domain: hostname.describe('base domain; routes default to SERVICE.DOMAIN'),
    tls: tlsSchema.prefault({ mode: 'self-signed' }),
    proxy: proxySchema.prefault({}),
    services: z.record(name, serviceSchema).default({}),
    databases: z.record(name, databaseSchema).default({}),
    caches: z.record(name, cacheSchema).default({}),
    monitoring: monitoringSchema.prefault({}),
    secrets: z
      .record(
        name,
        z.union([
          z.strictObject({ file: z.string().min(1) }),
          z.strictObject({ generate: z.literal(true), length: z.number().int().min(16).max(256).default(32) }),
        ]),
      )
      .default({})
      .describe('user secrets: read from a file, or generated'),
    images: z.partialRecord(z.enum(imageKeys), imageRef).default({}).describe('override any component image'),
    cluster: z
      .strictObject({
        encryptNetworks: z
          .boolean()
          .default(true)
          .describe(
            'multi-node targets: encrypt the internal networks between nodes (Swarm: IPsec overlays, which need kernel ESP with AES-GCM; without it their traffic between nodes is dropped)',
          ),
        resolveImage: z
          .enum(['always', 'changed', 'never'])
          .default('always')
          .describe(
            'Swarm: pin image digests at deploy (docker stack deploy --resolve-image); never when this machine cannot reach the registry the nodes pull from',
          ),
        manager: dockerHost.optional().describe("Swarm: a manager's engine the commands talk to (default: DOCKER_HOST, or --host)"),
        nodes: z
          .array(
            z.strictObject({
              name: nodeName.describe("the node's host name, as `docker node ls` shows it"),
              address: z.string().refine(isIpAddress, 'should be an IPv4 or IPv6 address'),
              role: z.enum(['manager', 'worker']).default('manager'),
              labels: z.record(labelKey, labelValue).default({}),
              dockerHost: dockerHost
                .optional()
                .describe(
                  "how wharf reaches this node's engine for exec and logs (default: the manager's scheme and port at the node's address)",
                ),
              wgAddress: z
                .string()
                .refine((s) => isIP(s) === 4, 'should be an IPv4 address inside cluster.wireguard.subnet')
                .optional()
                .describe(
                  "`wharf cluster`: this node's address on wg0 (default: the subnet's host number = the node's position + 1); Swarm advertises and carries VXLAN on it",
                ),
              sshUser: sshUser.optional().describe('`wharf cluster`: the SSH user Ansible logs in as (default: cluster.ssh.user)'),
            }),
          )
          .default([])
          .describe(
            "the cluster's nodes, when known: checked offline (quorum, placement) and used to reach each node's containers; `address` is the public address SSH and WireGuard use",
          ),
        ssh: z
          .strictObject({
            user: sshUser.default('root').describe('the SSH user Ansible logs in as on every node'),
            port: z.number().int().min(1).max(65535).default(22),
          })
          .prefault({}),
        wireguard: z
          .strictObject({
            subnet: cidr
              .refine(
                (s) => !isCidr(s) || (isIP(s.split('/')[0]!) === 4 && Number(s.split('/')[1]) <= 30),
                'should be an IPv4 subnet with a prefix of /30 or wider',
              )
              .default('10.213.0.0/24')
              .describe("the WireGuard mesh's subnet; every node gets one address on wg0 inside it"),
            port: z.number().int().min(1).max(65535).default(51820).describe('UDP port WireGuard listens on (opened publicly)'),
            underlayMtu: z
              .number()
              .int()
              .min(1280)
              .max(9000)
              .default(1500)
              .describe('MTU of the public network between the nodes; wg0 and the overlay MTUs are computed from it'),
          })
          .prefault({}),
        firewall: z
          .strictObject({
            enabled: z.boolean().default(true).describe('UFW: deny incoming by default; SSH and WireGuard public, Swarm ports only on wg0'),
            sshFrom: z.array(cidr).default([]).describe('sources allowed to reach SSH (default: anywhere)'),
          })
          .prefault({}),
      })
      .prefault({}),
    messaging: messagingSchema.optional(),
    storage: z
      .strictObject({
        minio: z
          .union([
            z.strictObject({
              bucket: s3Bucket.default('wharf-backups').describe('bucket the backups go to (restic creates it on the first backup)'),
              placement: placementSchema
                .optional()
                .describe(
                  'multi-node targets: where MinIO and its volume live (default: the node labelled wharf.db=true, beside the databases)',
                ),
            }),
            z.literal(false),
          ])
          .default(false)
          .describe(
            'MinIO, an S3-compatible object store in the stack for backups (destination: { type: minio }): root credentials generated as secrets, a volume, not published',
          ),
      })
      .prefault({}),
    extras: z
      .strictObject({ portainer: z.union([z.strictObject({ host: hostname.optional() }), z.literal(false)]).default(false) })
      .prefault({}),
  })
  .describe('wharf stack specification');

export type StackInput = z.input<typeof stackSchema>;
export type Stack = z.output<typeof stackSchema>;
export type Service = z.output<typeof serviceSchema>;
export type Database = z.output<typeof databaseSchema>;
export type Cache = z.output<typeof cacheSchema>;
export type Backup = z.output<typeof backupSchema>;
export type Receiver = z.output<typeof receiverSchema>;
export type Messaging = z.output<typeof messagingSchema>;
export type ImageKey = (typeof imageKeys)[number];

export function jsonSchema(): unknown {
  return z.toJSONSchema(stackSchema, { io: 'input', unrepresentable: 'any' });
}

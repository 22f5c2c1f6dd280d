// services: an application service: image or build, routes, health, env and secrets, rollout.
import { z } from 'zod';
import {
  cidr,
  containerUser,
  duration,
  hostname,
  imageRef,
  memoryLimit,
  mountTarget,
  name,
  port,
  positiveDuration,
  processText,
  urlPath,
} from './primitives.js';
import { backupSchema } from './backup-schema.js';
import { placementSchema } from './cluster-schema.js';

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
  interval: positiveDuration.prefault('5s'),
  timeout: positiveDuration.prefault('3s'),
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
  args: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'should be a build-arg name (letters, digits, _)'), processText).default({}),
});

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

/** A Kubernetes annotation key (an optional DNS prefix and a 63-character name): Docker accepts it too. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** wharf's own labels, Compose's bookkeeping and the edge's discovery labels: a user label there would change what runs */
const RESERVED_LABEL = /^(dev\.wharf\.|com\.docker\.|traefik\.)/;

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
        'file: the variable holds the path of the mounted secret file; value: ' +
          'an entrypoint wrapper reads the file at start and exports its contents (the image needs /bin/sh, ' +
          'and the service needs command). Default: file for names ending in _FILE, value otherwise',
      ),
  })
  .describe('an environment variable filled from a secret file, never from a value in the rendered files');

export const serviceSchema = z
  .strictObject({
    image: imageRef.optional().describe('image reference; pin a tag or digest'),
    build: buildSchema.optional(),
    command: z.array(processText).optional(),
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
        z.union([processText, envSecretSchema]),
      )
      .default({})
      .describe(
        'environment: plain strings, or { secret: REF } for a secret (a file path for *_FILE / __FILE names, the value itself otherwise)',
      ),
    secrets: z.array(name).default([]).describe('names of secrets mounted at /run/secrets/NAME'),
    resources: resourcesSchema.prefault({}),
    uses: z.array(name).default([]).describe('databases and caches this service talks to'),
    dockerSocket: z.enum(['none', 'read-only']).default('none').describe('mount the Docker socket (read-only only)'),
    user: containerUser.optional(),
    capAdd: z
      .array(z.string().regex(/^[A-Z][A-Z_]{1,30}$/, 'should be a Linux capability name without CAP_, e.g. NET_ADMIN'))
      .default([])
      .describe('Linux capabilities added to the defaults (ALL and SYS_ADMIN are refused by wharf check)'),
    labels: z
      .record(
        z
          .string()
          .regex(LABEL_KEY, 'should be a label key Docker and Kubernetes both accept (DOMAIN/NAME or NAME, at most 63 characters)')
          .refine((k) => !RESERVED_LABEL.test(k), 'dev.wharf., com.docker. and traefik. labels are set by wharf itself'),
        z.string().max(4096),
      )
      .default({})
      .describe('metadata labels on the containers (Compose, Swarm) and pod annotations (Kubernetes)'),
    volumes: z.array(z.strictObject({ name, target: mountTarget, backup: backupSchema.optional() })).default([]),
    init: z.boolean().default(true).describe('run an init process as PID 1 so SIGTERM stops the service quickly'),
    placement: placementSchema.optional(),
    update: updateSchema.prefault({}),
    autoscale: autoscaleSchema.optional(),
    hooks: z
      .strictObject({
        beforeRollout: z
          .array(z.string())
          .min(1)
          .optional()
          .describe('argv run in a one-off container of the new image before any replica is replaced (a migration); failing aborts'),
        afterRollout: z.array(z.string()).min(1).optional().describe('argv run in a one-off container once every replica is replaced'),
      })
      .optional()
      .describe('release hooks, each an argv list (never a shell string)'),
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

// The one schema: wharf.yaml and defineStack() are validated by it, types are
// inferred from it, and `wharf schema` prints its JSON Schema. Each section lives in its own
// module (service-schema.ts, data-schema.ts, ...); this one composes them.
import { z } from 'zod';
import { hostname, imageRef, name } from './primitives.js';
import { SPEC_VERSION } from './migrate.js';
import { backupSchema, storageSchema } from './backup-schema.js';
import { clusterSchema } from './cluster-schema.js';
import { cacheSchema, databaseSchema } from './data-schema.js';
import { proxySchema, tlsSchema } from './edge-schema.js';
import { messagingSchema } from './messaging-schema.js';
import { monitoringSchema, receiverSchema } from './monitoring-schema.js';
import { serviceSchema } from './service-schema.js';

export { backupSchema, retentionSchema } from './backup-schema.js';
export { cacheSchema, databaseSchema } from './data-schema.js';
export { proxySchema, tlsSchema } from './edge-schema.js';
export { kafkaVersions, messagingSchema } from './messaging-schema.js';
export { monitoringSchema, receiverSchema } from './monitoring-schema.js';
export { resourcesSchema, routeSchema, secretRef, serviceSchema } from './service-schema.js';

/** The targets a spec can be rendered for (src/render/index.ts registers one renderer each). */
export const targetNames = ['compose', 'swarm', 'k8s'] as const;
export type TargetName = (typeof targetNames)[number];

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
  'pgbackrest',
  'portainer',
  'node',
  'minio',
  'lego',
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
    cluster: clusterSchema.prefault({}),
    messaging: messagingSchema.optional(),
    storage: storageSchema.prefault({}),
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

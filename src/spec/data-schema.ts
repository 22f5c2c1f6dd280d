// databases: and caches: the stack's own PostgreSQL/MySQL/MariaDB and Redis.
import { z } from 'zod';
import { memory, name } from './primitives.js';
import { backupSchema } from './backup-schema.js';
import { resourcesSchema } from './service-schema.js';

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
  volume: name
    .optional()
    .describe('the volume holding the data (default NAME-data); `wharf import compose` keeps the Compose one, so its data stays'),
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
  volume: name
    .optional()
    .describe('the volume holding the data (default NAME-data); `wharf import compose` keeps the Compose one, so its data stays'),
  resources: resourcesSchema.prefault({}),
  backup: backupSchema.optional(),
});

// Backups (retention, destination, verification) and storage: the stack's own MinIO they may go to.
import { z } from 'zod';
import { isS3Endpoint } from './grammar.js';
import { cron, duration, name, projectPath } from './primitives.js';
import { placementSchema } from './cluster-schema.js';

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
          caSecret: name
            .optional()
            .describe(
              'secret holding the PEM certificate of a private CA that signed the endpoint; restic and pointInTime (pgBackRest) verify with it',
            ),
          timeout: duration
            .refine((d) => d.toSeconds() >= 1, 'should be 1s or more')
            .optional()
            .describe('how long the endpoint may give no answer before a backup, list or restore fails naming it; default 30s'),
        }),
        z
          .strictObject({ type: z.literal('minio') })
          .describe("the stack's own MinIO (storage.minio): endpoint, bucket and keys are filled in"),
      ])
      .prefault({ type: 'local' }),
    encrypt: z.boolean().default(true),
    pointInTime: z
      .boolean()
      .default(false)
      .describe(
        'PostgreSQL only: archive the WAL continuously (pgBackRest, encrypted) so `wharf restore DB --to TIME` can go back to any ' +
          'moment since the oldest base backup; base backups follow schedule',
      ),
    verify: z.strictObject({ schedule: cron.default('@weekly'), restoreTest: z.boolean().default(true) }).prefault({}),
  })
  .describe('scheduled, encrypted, verified backups');

export const storageSchema = z.strictObject({
  minio: z
    .union([
      z.strictObject({
        bucket: s3Bucket.default('wharf-backups').describe('bucket the backups go to (restic creates it on the first backup)'),
        placement: placementSchema
          .optional()
          .describe('multi-node targets: where MinIO and its volume live (default: the node labelled wharf.db=true, beside the databases)'),
      }),
      z.literal(false),
    ])
    .default(false)
    .describe(
      'MinIO, an S3-compatible object store in the stack for backups (destination: { type: minio }): ' +
        'root credentials generated as secrets, a volume, not published',
    ),
});

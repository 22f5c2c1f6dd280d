// MinIO in the stack (storage.minio): an S3-compatible object store for backups, as seed 001
// keeps its shared storage. Pure.
//
// - Root credentials are generated secrets, read by MinIO from files: MINIO_ROOT_USER_FILE and
//   MINIO_ROOT_PASSWORD_FILE hold secret *names*, which both the image's entrypoint (older
//   releases: /run/secrets/$NAME) and MinIO itself (newer: a name relative to /run/secrets, or a
//   path) resolve; the values never reach the environment.
// - On the internal backend network only: nothing is published, the console is off.
// - Its volume lives where the databases do (the wharf.db node), unless placed otherwise.
// - Health: `mc ready local` (the image ships mc and no curl/wget; mc's built-in `local` alias
//   is http://localhost:9000), the probe MinIO documents for Compose.
// - The bucket is created by the first backup (`restic init` creates a missing bucket), so no
//   one-shot init container has to hold the root credentials.
import type { Stack } from '../spec/schema.js';
import { pickImage } from './images.js';
import type { BackupJob, Component, Secret, Volume } from './model.js';
import { Duration, Size } from '../spec/units.js';

export const MINIO_COMPONENT = 'minio';
export const MINIO_PORT = 9000;
export const MINIO_USER_SECRET = 'minio-root-user';
export const MINIO_PASSWORD_SECRET = 'minio-root-password';
export const MINIO_VOLUME = 'minio-data';

type S3Destination = Extract<BackupJob['destination'], { type: 's3' }>;

/** Where a `destination: { type: minio }` backup goes: the in-stack endpoint, bucket and root keys. */
export function minioDestination(stack: Stack): S3Destination | undefined {
  const m = stack.storage.minio;
  if (!m) return undefined;
  return {
    type: 's3',
    endpoint: `http://${MINIO_COMPONENT}:${MINIO_PORT}`,
    bucket: m.bucket,
    accessKeySecret: MINIO_USER_SECRET,
    secretKeySecret: MINIO_PASSWORD_SECRET,
  };
}

/** Whether a job's S3 endpoint is the stack's own MinIO (reached on the backend network). */
export function isInStackMinio(d: BackupJob['destination']): boolean {
  return (
    d.type === 's3' &&
    d.endpoint.replace(/\/+$/, '') === `http://${MINIO_COMPONENT}:${MINIO_PORT}` &&
    d.accessKeySecret === MINIO_USER_SECRET
  );
}

export interface MinioPart {
  component: Component;
  secrets: Secret[];
  volume: Volume;
}

/** `base`: the plan's component defaults (hardening, empty lists). */
export function planMinio(
  stack: Stack,
  base: Omit<Component, 'name' | 'role' | 'image' | 'networks' | 'resources'>,
): MinioPart | undefined {
  if (!stack.storage.minio) return undefined;
  const secrets: Secret[] = [
    // MinIO wants a root user of 3+ characters and a password of 8+; random ones are both
    { name: MINIO_USER_SECRET, purpose: "MinIO root user (the backups' S3 access key)", source: { kind: 'random', length: 20 } },
    { name: MINIO_PASSWORD_SECRET, purpose: "MinIO root password (the backups' S3 secret key)", source: { kind: 'random', length: 40 } },
  ];
  const component: Component = {
    ...base,
    name: MINIO_COMPONENT,
    role: 'object-store',
    image: pickImage('minio', stack.images),
    imageKey: 'minio',
    command: ['server', '/data', '--address', `:${MINIO_PORT}`],
    env: { MINIO_ROOT_USER_FILE: MINIO_USER_SECRET, MINIO_ROOT_PASSWORD_FILE: MINIO_PASSWORD_SECRET, MINIO_BROWSER: 'off' },
    secrets: secrets.map((s) => ({ secret: s.name, target: `/run/secrets/${s.name}` })),
    networks: ['backend'],
    port: MINIO_PORT,
    mounts: [{ type: 'volume', source: MINIO_VOLUME, target: '/data', readOnly: false }],
    healthcheck: {
      probe: { kind: 'exec', command: ['mc', 'ready', 'local'] },
      interval: Duration.parse('10s'),
      timeout: Duration.parse('5s'),
      retries: 5,
      startPeriod: Duration.parse('20s'),
    },
    resources: { cpus: 1, memory: Size.parse('1G') },
    stopGracePeriod: Duration.parse('30s'),
  };
  return {
    component,
    secrets,
    volume: { name: MINIO_VOLUME, component: MINIO_COMPONENT, purpose: "MinIO objects (the backups' repositories)" },
  };
}

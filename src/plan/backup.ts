// The backup service of a plan: one container running wharf's scheduler, restic and the
// database clients, that dumps every BackupJob into its restic repository, checks it, and
// writes Prometheus metrics as textfiles into a volume (Plan.monitoring.textfiles: each target
// decides who publishes them). Pure.
//
// Image: the `restic` image key. By default wharf builds it from the rendered
// backup/Dockerfile (FROM restic/restic:0.17.3 + the PostgreSQL client of the database's
// major version, the MariaDB client and redis-cli, ENTRYPOINT reset), because no official
// image carries restic and pg_dump/mysqldump/redis-cli together, and pg_dump must be at least
// the server's major version. An `images: { restic: ... }` override replaces the build: it
// must carry restic >= 0.17 (for --stdin-from-command) and the clients; the plan sets the entrypoint.
import { posix } from 'node:path';
import type { Stack } from '../spec/schema.js';
import { defaultImages } from './images.js';
import type { BackupJob, Component, Mount, NetworkName, Secret, Volume } from './model.js';
import { MINIO_COMPONENT, isInStackMinio } from './minio.js';
import { Duration, Size } from '../spec/units.js';

export const BACKUP_COMPONENT = 'backup';
export const RESTIC_PASSWORD_SECRET = 'backup-restic-password';
export const BACKUP_METRICS_VOLUME = 'backup-metrics';

/** The repository of a job: a directory under one of the local mounts, or an S3 URL. */
export interface JobRepository {
  /** restic repository string inside the container (local: uses $WHARF_REPO_DIR for the default mount) */
  repository: string;
  /** host directory (relative to the project, as in the spec) for local destinations */
  hostPath?: string;
  /** mount point in the container for that directory */
  mountPoint?: string;
}

/** Distinct local destinations get /repo, /repo-2, ... in the order of the sorted paths. */
export function jobRepositories(jobs: BackupJob[]): Map<string, JobRepository> {
  const localPaths = [...new Set(jobs.flatMap((j) => (j.destination.type === 'local' ? [j.destination.path] : [])))].sort();
  const mountOf = (p: string) => {
    const i = localPaths.indexOf(p);
    return i === 0 ? '/repo' : `/repo-${i + 1}`;
  };
  const out = new Map<string, JobRepository>();
  for (const j of jobs) {
    if (j.destination.type === 'local') {
      const m = mountOf(j.destination.path);
      out.set(j.name, {
        repository: m === '/repo' ? `$WHARF_REPO_DIR/${j.name}` : `${m}/${j.name}`,
        hostPath: j.destination.path,
        mountPoint: m,
      });
    } else {
      const endpoint = j.destination.endpoint.replace(/\/+$/, '');
      out.set(j.name, { repository: `s3:${endpoint}/${j.destination.bucket}/${j.name}` });
    }
  }
  return out;
}

export interface BackupServicePart {
  components: Component[];
  secrets: Secret[];
  volumes: Volume[];
  /** the metrics the backup writes as textfiles, for Plan.monitoring.textfiles */
  textfiles?: { volume: string; writer: string };
}

/** PostgreSQL major version the backup image's pg_dump must match (the highest in the stack). */
export function postgresMajor(components: Component[], jobs: BackupJob[]): string {
  const majors = jobs
    .filter((j) => j.kind === 'postgres')
    .map((j) => components.find((c) => c.name === j.target)?.image ?? '')
    .map((img) => /:(\d+)/.exec(img)?.[1])
    .filter((m): m is string => !!m)
    .map(Number);
  return String(majors.length ? Math.max(...majors) : Number(/:(\d+)/.exec(defaultImages.postgres)![1]));
}

/**
 * The backup component (and what it needs) for the plan's jobs; empty when there are none.
 * `components` are the plan's other components: the backup joins their networks and mounts the
 * volumes it archives.
 */
export function planBackupService(stack: Stack, jobs: BackupJob[], components: Component[], projectDir = '../..'): BackupServicePart {
  if (!jobs.length) return { components: [], secrets: [], volumes: [] };
  const secrets: Secret[] = [
    { name: RESTIC_PASSWORD_SECRET, purpose: 'restic repository password (encrypts every backup)', source: { kind: 'random', length: 48 } },
  ];
  const volumes: Volume[] = [
    { name: BACKUP_METRICS_VOLUME, component: BACKUP_COMPONENT, purpose: 'backup metrics (node-exporter textfiles) and run state' },
  ];
  const secretNames = new Set<string>([RESTIC_PASSWORD_SECRET]);
  const mounts: Mount[] = [
    { type: 'config', bundle: 'backup-scripts', target: '/backup', readOnly: true },
    { type: 'volume', source: BACKUP_METRICS_VOLUME, target: '/metrics', readOnly: false },
  ];
  const repos = jobRepositories(jobs);
  const seenMounts = new Set<string>();
  for (const j of jobs) {
    const r = repos.get(j.name)!;
    if (r.hostPath && r.mountPoint && !seenMounts.has(r.mountPoint)) {
      seenMounts.add(r.mountPoint);
      const source = posix.isAbsolute(r.hostPath) ? r.hostPath : posix.normalize(posix.join(projectDir, r.hostPath));
      mounts.push({ type: 'bind', source, target: r.mountPoint, readOnly: false });
    }
    if (j.destination.type === 's3') {
      secretNames.add(j.destination.accessKeySecret);
      secretNames.add(j.destination.secretKeySecret);
      if (j.destination.caSecret) secretNames.add(j.destination.caSecret);
    }
    const pw = jobPasswordSecret(j, components);
    if (pw) secretNames.add(pw);
    // Volumes are mounted read-write: a restore writes them back (with the owning service stopped).
    if (j.kind === 'volume') mounts.push({ type: 'volume', source: j.name, target: `/volumes/${j.name}`, readOnly: false });
    // A Redis restore replaces the RDB in the cache's data volume (with the cache stopped).
    const rdb = j.kind === 'redis' ? redisDataVolume(j, components) : undefined;
    if (rdb) mounts.push({ type: 'volume', source: rdb, target: `/volumes/${rdb}`, readOnly: false });
  }
  const networks: NetworkName[] = jobs.some((j) => j.kind !== 'volume') ? ['backend'] : [];
  // S3 destinations outside the stack need a way out (the internal backend network has none);
  // the stack's own MinIO is on the backend network.
  const toMinio = jobs.some((j) => isInStackMinio(j.destination));
  if (toMinio && !networks.includes('backend')) networks.push('backend');
  if (jobs.some((j) => j.destination.type === 's3' && !isInStackMinio(j.destination)) || networks.length === 0) networks.push('edge');
  const override = stack.images.restic;
  const pgMajor = postgresMajor(components, jobs);
  const backup: Component = {
    name: BACKUP_COMPONENT,
    role: 'backup',
    imageKey: 'restic',
    image: override ?? `${stack.name}/backup:restic-${defaultImages.restic.split(':')[1]}-pg${pgMajor}`,
    build: override
      ? undefined
      : {
          context: { bundle: 'backup-scripts' },
          dockerfile: 'Dockerfile',
          args: { RESTIC_IMAGE: defaultImages.restic, PG_MAJOR: pgMajor },
        },
    // An entrypoint, not a command: restic/restic (and look-alikes) have ENTRYPOINT restic.
    entrypoint: ['/backup/bin/scheduler.sh'],
    env: {
      TZ: 'UTC',
      WHARF_BACKUP_HOME: '/backup',
      WHARF_METRICS_DIR: '/metrics',
      WHARF_REPO_DIR: '/repo',
      RESTIC_CACHE_DIR: '/metrics/cache',
    },
    secrets: [...secretNames].sort().map((s) => ({ secret: s, target: `/run/secrets/${s}` })),
    networks,
    ports: [],
    mounts,
    replicas: 1,
    dependsOn: [...new Set([...jobs.filter((j) => j.kind !== 'volume').map((j) => j.target), ...(toMinio ? [MINIO_COMPONENT] : [])])]
      .sort()
      .map((t) => ({ name: t, on: 'ready' as const })),
    // The scheduler is a shell loop: if it stops the container stops, and the restart policy
    // plus the BackupStale alert cover it. Liveness of the backups is what the metrics prove.
    healthWaiver: 'the scheduler is the container process; backup health is the wharf_backup_* metrics and their alerts',
    resources: { cpus: 1, memory: Size.parse('512M') },
    init: true,
    hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: false, addCaps: [] },
    stopGracePeriod: Duration.parse('30s'),
    labels: {},
  };
  return { components: [backup], secrets, volumes, textfiles: { volume: BACKUP_METRICS_VOLUME, writer: BACKUP_COMPONENT } };
}

/** The volume holding a Redis job's RDB (`--dir /data`), or undefined without persistence. */
export function redisDataVolume(j: BackupJob, components: Component[]): string | undefined {
  if (j.kind !== 'redis') return undefined;
  const c = components.find((x) => x.name === j.target);
  return c?.mounts.flatMap((m) => (m.type === 'volume' && m.target === '/data' ? [m.source] : []))[0];
}

/** The secret holding the password the job's dump client logs in with. */
export function jobPasswordSecret(j: BackupJob, components: Component[]): string | undefined {
  if (j.kind === 'volume') return undefined;
  const c = components.find((x) => x.name === j.target);
  if (j.kind === 'mysql') return `${j.target}-root-password`;
  if (c && !c.secrets.some((s) => s.secret === `${j.target}-password`)) return undefined;
  return `${j.target}-password`;
}

/** Connection facts of a job's target, from its component. */
export function jobConnection(j: BackupJob, components: Component[]): { host: string; port: number; user: string; database: string } {
  const c = components.find((x) => x.name === j.target);
  const env = c?.env ?? {};
  if (j.kind === 'postgres')
    return { host: j.target, port: c?.port ?? 5432, user: env.POSTGRES_USER ?? 'app', database: env.POSTGRES_DB ?? 'app' };
  if (j.kind === 'mysql')
    return { host: j.target, port: c?.port ?? 3306, user: 'root', database: env.MYSQL_DATABASE ?? env.MARIADB_DATABASE ?? 'app' };
  if (j.kind === 'redis') return { host: j.target, port: c?.port ?? 6379, user: 'default', database: '0' };
  return { host: '', port: 0, user: '', database: '' };
}

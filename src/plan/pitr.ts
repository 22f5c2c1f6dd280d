// Point-in-time recovery for PostgreSQL: a `<db>-pitr` component beside each database whose
// backup says pointInTime. Pure.
//
// How the WAL leaves the database: PostgreSQL's archive_command copies each finished segment
// into a spool directory of a volume the database and the archiver share (mounted at
// /var/run/postgresql, which also holds the server's socket), and the archiver ships the spool
// to a pgBackRest repository. Why not pgBackRest's own archive-push in archive_command: the
// official postgres image has no pgBackRest, and a wharf-built database image would need a
// registry on multi-node targets. Why not pg_receivewal: it streams each record (an RPO of
// seconds) but its last segment is a `.partial` file no restore tool reads without renaming,
// and its replication slot fills the disk when the receiver stops; archive_timeout bounds the
// RPO here instead, and a restore first closes the current segment when the server is up.
// The archiver image is the database's own image plus pgBackRest (same PostgreSQL binaries: a
// restore replays the WAL in the archiver container, where pgBackRest's archive-get exists).
import { posix } from 'node:path';
import type { Stack } from '../spec/schema.js';
import { Duration, Size } from '../spec/units.js';
import { BACKUP_METRICS_VOLUME, jobRepositories } from './backup.js';
import type { BackupJob, Component, Mount, NetworkName, Secret, Volume } from './model.js';
import { isInStackMinio } from './minio.js';
import { postgresData } from './postgres-data.js';

export const PITR_SUFFIX = '-pitr';
/** PostgreSQL switches to a new WAL segment at least this often while it is written to */
export const ARCHIVE_TIMEOUT_SECONDS = 30;
/** how often the archiver ships the spool */
export const PUSH_INTERVAL_SECONDS = 5;
export const SOCKET_DIR = '/var/run/postgresql';
// pgBackRest checks that archive_command names it before a backup: the spool does
export const SPOOL_DIR = `${SOCKET_DIR}/pgbackrest-spool`;

export const pitrComponent = (db: string) => `${db}${PITR_SUFFIX}`;
export const pitrCipherSecret = (db: string) => `${db}-pitr-cipher`;
export const walVolume = (db: string) => `${db}-wal`;

/** archive_command: the finished segment into the spool, under a dot name until it is whole. */
export function archiveCommand(spool = SPOOL_DIR): string {
  return `mkdir -p ${spool} && cp %p ${spool}/.%f && mv ${spool}/.%f ${spool}/%f`;
}

/** The PostgreSQL settings that archive the WAL (appended to the database's command). */
export function archiveSettings(spool = SPOOL_DIR): string[] {
  return ['-c', 'archive_mode=on', '-c', `archive_command=${archiveCommand(spool)}`, '-c', `archive_timeout=${ARCHIVE_TIMEOUT_SECONDS}s`];
}

export const pitrJobs = (jobs: BackupJob[]) => jobs.filter((j) => j.kind === 'postgres' && j.pointInTime);

/**
 * The archivers of the plan's point-in-time jobs; the database components they serve are
 * changed in place (archive settings, the shared socket/spool volume).
 */
export function planPitr(stack: Stack, jobs: BackupJob[], components: Component[], projectDir = '../..') {
  const out = { components: [] as Component[], secrets: [] as Secret[], volumes: [] as Volume[] };
  const repos = jobRepositories(jobs);
  for (const j of pitrJobs(jobs)) {
    const db = components.find((c) => c.name === j.target);
    if (!db) continue;
    const dir = postgresData(db.image);
    const data = db.mounts.find((m) => m.type === 'volume' && m.target === dir.mount);
    if (!data || data.type !== 'volume') continue;
    const wal = walVolume(db.name);
    out.volumes.push({ name: wal, component: db.name, purpose: `${db.name} socket and WAL segments waiting for the archiver` });
    db.command = [...(db.command ?? ['postgres']), ...archiveSettings()];
    db.mounts.push({ type: 'volume', source: wal, target: SOCKET_DIR, readOnly: false });
    const cipher = pitrCipherSecret(db.name);
    out.secrets.push({
      name: cipher,
      purpose: `pgBackRest repository key of ${db.name} (aes-256-cbc)`,
      source: { kind: 'random', length: 48 },
    });
    const repo = repos.get(j.name)!;
    const mounts: Mount[] = [
      { type: 'config', bundle: 'pitr-scripts', target: '/pitr', readOnly: true },
      { type: 'volume', source: data.source, target: dir.mount, readOnly: false },
      { type: 'volume', source: wal, target: SOCKET_DIR, readOnly: false },
      { type: 'volume', source: BACKUP_METRICS_VOLUME, target: '/metrics', readOnly: false },
    ];
    if (repo.hostPath && repo.mountPoint) {
      const source = posix.isAbsolute(repo.hostPath) ? repo.hostPath : posix.normalize(posix.join(projectDir, repo.hostPath));
      // its own directory, not the 0700 root-owned destination above it: pgBackRest runs as the data's owner
      const sub = `${db.name}${PITR_SUFFIX}`;
      mounts.push({ type: 'bind', source: posix.join(source, sub), target: posix.join(repo.mountPoint, sub), readOnly: false });
    }
    const secrets = [cipher];
    if (j.destination.type === 's3') secrets.push(j.destination.accessKeySecret, j.destination.secretKeySecret);
    if (j.destination.type === 's3' && j.destination.caSecret) secrets.push(j.destination.caSecret);
    const networks: NetworkName[] = j.destination.type === 's3' && !isInStackMinio(j.destination) ? ['edge'] : ['backend'];
    const override = stack.images.pgbackrest;
    out.components.push({
      name: pitrComponent(db.name),
      role: 'wal-archiver',
      imageKey: 'pgbackrest',
      image: override ?? `${stack.name}/pgbackrest:${db.image.replace(/[^A-Za-z0-9_.-]+/g, '-')}`,
      build: override ? undefined : { context: { bundle: 'pitr-scripts' }, dockerfile: 'Dockerfile', args: { POSTGRES_IMAGE: db.image } },
      entrypoint: ['/pitr/pitr.sh', 'run'],
      env: { TZ: 'UTC', PITR_HOME: '/pitr', PITR_ENV: `/pitr/${db.name}/pitr.env`, PITR_CONF: `/pitr/${db.name}/pgbackrest.conf` },
      secrets: [...new Set(secrets)].sort().map((s) => ({ secret: s, target: `/run/secrets/${s}` })),
      networks,
      ports: [],
      mounts,
      replicas: 1,
      dependsOn: [{ name: db.name, on: 'ready' }],
      healthWaiver: 'the archiver loop is the container process; its health is the wharf_pitr_* metrics and their alerts',
      resources: { cpus: 0.5, memory: Size.parse('256M') },
      init: true,
      // root, to read the data directory and hand a restored one back to its owner (setpriv)
      hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: false, addCaps: [] },
      stopGracePeriod: Duration.parse('30s'),
      labels: {},
    });
  }
  return out;
}

// plan -> the WAL archivers' files (plan/pitr.ts): the script, the scheduler it borrows from the
// backup service, the Dockerfile of the default image, and per database its settings
// (pitr.env, sourced) and pgBackRest's configuration (no secret: keys come from files at run time).
import type { BackupJob, Plan } from '../../plan/model.js';
import { jobConnection, jobRepositories } from '../../plan/backup.js';
import {
  ARCHIVE_TIMEOUT_SECONDS,
  PUSH_INTERVAL_SECONDS,
  SOCKET_DIR,
  SPOOL_DIR,
  archiveCommand,
  pitrCipherSecret,
  pitrJobs,
} from '../../plan/pitr.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { scripts } from './scripts.js';
import { scripts as backupScripts } from '../backup/scripts.js';
import { shellQuote as q } from '../../escape/shell.js';
import { pgbackrestValue as v } from '../../escape/pgbackrest.js';
import { normalizeCron } from '../../spec/cron.js';
import { postgresData } from '../../plan/postgres-data.js';

/** Where the files put things: the container's paths, moved by tests running on a host. */
export interface PitrPaths {
  spool: string;
  pgdata: string;
  socket: string;
  repoDir: string;
}
/** the container's paths; the data directory is where the database's image keeps it */
function containerPaths(plan: Plan, j: BackupJob): PitrPaths {
  const db = plan.components.find((c) => c.name === j.target)!;
  return { spool: SPOOL_DIR, pgdata: postgresData(db.image).pgdata, socket: SOCKET_DIR, repoDir: '/repo' };
}

export function renderPitrEnv(plan: Plan, j: BackupJob, paths: PitrPaths = containerPaths(plan, j)): string {
  const conn = jobConnection(j, plan.components);
  const lines = [
    `# ${generatedHeader}`,
    `# WAL archiver of ${j.target}: PostgreSQL copies finished segments to SPOOL, pitr.sh ships them every INTERVAL seconds.`,
    `STANZA=${q(j.target)}`,
    `DB_USER=${q(conn.user)}`,
    `DB_NAME=${q(conn.database)}`,
    `SPOOL=${q(paths.spool)}`,
    `PGDATA=${q(paths.pgdata)}`,
    `SOCKET=${q(paths.socket)}`,
    `CIPHER_SECRET=${q(pitrCipherSecret(j.target))}`,
    `INTERVAL=${PUSH_INTERVAL_SECONDS}`,
    `ARCHIVE_TIMEOUT=${ARCHIVE_TIMEOUT_SECONDS}`,
    `SCHEDULE=${q(normalizeCron(j.schedule))}`,
    `ARCHIVE_COMMAND=${q(archiveCommand(paths.spool))}`,
  ];
  if (j.destination.type === 's3')
    lines.push(`S3_ACCESS_KEY_SECRET=${q(j.destination.accessKeySecret)}`, `S3_SECRET_KEY_SECRET=${q(j.destination.secretKeySecret)}`);
  return `${lines.join('\n')}\n`;
}

export function renderPgbackrestConf(plan: Plan, j: BackupJob, paths: PitrPaths = containerPaths(plan, j)): string {
  const conn = jobConnection(j, plan.components);
  const repo = jobRepositories(plan.backups).get(j.name)!;
  const lines = [`# ${generatedHeader}`, '[global]'];
  if (j.destination.type === 's3') {
    // pgBackRest reaches S3 over HTTPS only (rule pointInTimeOverHttps)
    const u = new URL(j.destination.endpoint);
    lines.push(
      'repo1-type=s3',
      `repo1-path=/${v(j.target)}-pitr`,
      `repo1-s3-bucket=${v(j.destination.bucket)}`,
      `repo1-s3-endpoint=${v(u.hostname)}`,
      `repo1-storage-port=${u.port || '443'}`,
      'repo1-s3-region=us-east-1',
      'repo1-s3-uri-style=path',
    );
    // a private CA: verified against it, never with verification off
    if (j.destination.caSecret) lines.push(`repo1-storage-ca-file=/run/secrets/${v(j.destination.caSecret)}`);
    // the spec's timeout, as for restic: pgBackRest retries a request until io-timeout (60 s by default)
    if (j.destination.timeout) lines.push(`io-timeout=${Math.ceil(j.destination.timeout.toSeconds())}`);
  } else {
    const dir = repo.mountPoint === '/repo' ? paths.repoDir : repo.mountPoint!;
    lines.push('repo1-type=posix', `repo1-path=${v(dir)}/${v(j.target)}-pitr`);
  }
  const keep = j.retention.keepLast ?? Math.max(2, j.retention.keepDaily ?? 0);
  lines.push(
    '# every file in the repository is encrypted; the key is the generated secret named in pitr.env',
    'repo1-cipher-type=aes-256-cbc',
    `repo1-retention-full=${keep}`,
    'compress-type=lz4',
    'start-fast=y',
    'log-level-console=warn',
    'log-level-file=off',
    'lock-path=/tmp/pgbackrest',
    '',
    `[${v(j.target)}]`,
    `pg1-user=${v(conn.user)}`,
    `pg1-database=${v(conn.database)}`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderPitrDockerfile(): string {
  return `# ${generatedHeader}
# The WAL archiver: the database's own image (the same PostgreSQL binaries replay the WAL at a
# restore) plus pgBackRest and jq, from the Debian archive.
ARG POSTGRES_IMAGE=postgres:16.6-bookworm
FROM \${POSTGRES_IMAGE}
USER root
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends pgbackrest jq \\
 && rm -rf /var/lib/apt/lists/* && pgbackrest version && jq --version && setpriv --version
ENTRYPOINT []
CMD ["/pitr/pitr.sh", "run"]
`;
}

export function renderPitr(plan: Plan): RenderedFile[] {
  const jobs = pitrJobs(plan.backups);
  if (!jobs.length) return [];
  const files: RenderedFile[] = [
    { path: 'pitr/Dockerfile', contents: renderPitrDockerfile() },
    { path: 'pitr/pitr.sh', contents: scripts['pitr.sh']!, mode: 0o755 },
    { path: 'pitr/scheduler.sh', contents: backupScripts['scheduler.sh']!, mode: 0o755 },
  ];
  for (const j of jobs) {
    files.push({ path: `pitr/${j.target}/pitr.env`, contents: renderPitrEnv(plan, j) });
    files.push({ path: `pitr/${j.target}/pgbackrest.conf`, contents: renderPgbackrestConf(plan, j) });
  }
  return files;
}

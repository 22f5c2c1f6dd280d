// plan -> the backup service's files: scripts, one env file per job, the schedule and the
// Dockerfile of the default backup image. Pure: no fs, env, clock or randomness.
import type { BackupJob, Plan } from '../../plan/model.js';
import { RESTIC_PASSWORD_SECRET, jobConnection, jobPasswordSecret, jobRepositories, redisDataVolume } from '../../plan/backup.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { scripts } from './scripts.js';
import { byCodeUnit } from '../../plan/sort.js';

/** Smallest dump that can be a real backup, per kind (the "20-byte backups" floor). */
export const MIN_BYTES: Record<BackupJob['kind'], number> = { postgres: 256, mysql: 512, redis: 32, volume: 1024 };

const macros: Record<string, string> = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *' };
export function cronFields(expr: string): string {
  return macros[expr] ?? expr.trim().split(/\s+/).join(' ');
}

export function retentionFlags(r: BackupJob['retention']): string {
  const f: string[] = [];
  if (r.keepLast !== undefined) f.push(`--keep-last ${r.keepLast}`);
  if (r.keepDaily) f.push(`--keep-daily ${r.keepDaily}`);
  if (r.keepWeekly) f.push(`--keep-weekly ${r.keepWeekly}`);
  if (r.keepMonthly) f.push(`--keep-monthly ${r.keepMonthly}`);
  // retention with nothing to keep would delete every snapshot: keep the last one at least
  return f.length ? f.join(' ') : '--keep-last 1';
}

const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

export function renderJobEnv(plan: Plan, job: BackupJob): string {
  const repo = jobRepositories(plan.backups).get(job.name)!;
  const conn = jobConnection(job, plan.components);
  const pw = jobPasswordSecret(job, plan.components);
  const lines = [
    `# ${generatedHeader}`,
    `# backup job ${job.name}: ${job.kind} ${job.target}, schedule "${job.schedule}", verify "${job.verifySchedule}"`,
    `# restic encrypts every repository (AES-256 + Poly1305) with the ${RESTIC_PASSWORD_SECRET} secret.`,
    `KIND=${job.kind}`,
    `TARGET=${q(job.target)}`,
    `REPOSITORY="${repo.repository}"`,
    `RESTIC_PASSWORD_SECRET=${RESTIC_PASSWORD_SECRET}`,
    `RETENTION=${q(retentionFlags(job.retention))}`,
    `MIN_BYTES=${MIN_BYTES[job.kind]}`,
    `RESTORE_TEST=${job.restoreTest ? 1 : 0}`,
  ];
  if (job.destination.type === 's3') {
    lines.push(`S3_ACCESS_KEY_SECRET=${job.destination.accessKeySecret}`, `S3_SECRET_KEY_SECRET=${job.destination.secretKeySecret}`);
  }
  if (job.kind === 'volume') {
    lines.push(`VOLUME=${q(job.name)}`);
  } else {
    // WHARF_DB_HOST / WHARF_DB_PORT / WHARF_DB_USER move the job to another server (tests on loopback)
    lines.push(
      `DB_HOST="\${WHARF_DB_HOST:-${conn.host}}"`,
      `DB_PORT="\${WHARF_DB_PORT:-${conn.port}}"`,
      `DB_USER="\${WHARF_DB_USER:-${conn.user}}"`,
      `DB_NAME=${q(conn.database)}`,
      `DB_PASSWORD_SECRET=${pw ?? ''}`,
    );
    // empty: the cache keeps no RDB, so an in-place restore is refused
    if (job.kind === 'redis') lines.push(`REDIS_VOLUME=${q(redisDataVolume(job, plan.components) ?? '')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderSchedule(plan: Plan): string {
  const lines = [`# ${generatedHeader}`, '# m h dom mon dow  script job   (times in UTC; read by backup/bin/scheduler.sh)'];
  for (const j of plan.backups) {
    lines.push(`${cronFields(j.schedule)} backup ${j.name}`);
    lines.push(`${cronFields(j.verifySchedule)} verify ${j.name}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderDockerfile(): string {
  return `# ${generatedHeader}
# The default backup image: restic plus the database clients the jobs run. pg_dump must be at
# least the server's major version, so PG_MAJOR follows the stack's PostgreSQL image.
ARG RESTIC_IMAGE=restic/restic:0.17.3
FROM \${RESTIC_IMAGE}
ARG PG_MAJOR=16
RUN apk add --no-cache "postgresql\${PG_MAJOR}-client" mariadb-client redis tar tzdata \\
 && restic version && pg_dump --version && mysqldump --version && redis-cli --version
ENTRYPOINT []
CMD ["/backup/bin/scheduler.sh"]
`;
}

export function renderBackup(plan: Plan): RenderedFile[] {
  if (!plan.backups.length) return [];
  const files: RenderedFile[] = [
    { path: 'backup/Dockerfile', contents: renderDockerfile() },
    { path: 'backup/schedule', contents: renderSchedule(plan) },
  ];
  for (const [name, text] of Object.entries(scripts)) {
    files.push({ path: `backup/bin/${name}`, contents: text, mode: name === 'lib.sh' ? 0o644 : 0o755 });
  }
  for (const j of plan.backups) files.push({ path: `backup/jobs/${j.name}.env`, contents: renderJobEnv(plan, j) });
  return files.sort((a, b) => byCodeUnit(a.path, b.path));
}

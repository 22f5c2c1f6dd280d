// plan -> the backup service's files: scripts, one env file per job, the schedule and the
// Dockerfile of the default backup image. Pure: no fs, env, clock or randomness.
import type { BackupJob, Plan } from '../../plan/model.js';
import { RESTIC_PASSWORD_SECRET, jobConnection, jobPasswordSecret, jobRepositories, redisDataVolume } from '../../plan/backup.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { scripts } from './scripts.js';
import { byCodeUnit } from '../../plan/sort.js';
import { shellQuote as q } from '../../escape/shell.js';
import { normalizeCron } from '../../spec/cron.js';

/** Smallest dump that can be a real backup, per kind (the "20-byte backups" floor). */
export const MIN_BYTES: Record<BackupJob['kind'], number> = { postgres: 256, mysql: 512, redis: 32, volume: 1024 };

export function retentionFlags(r: BackupJob['retention']): string {
  const f: string[] = [];
  if (r.keepLast !== undefined) f.push(`--keep-last ${r.keepLast}`);
  if (r.keepDaily) f.push(`--keep-daily ${r.keepDaily}`);
  if (r.keepWeekly) f.push(`--keep-weekly ${r.keepWeekly}`);
  if (r.keepMonthly) f.push(`--keep-monthly ${r.keepMonthly}`);
  // retention with nothing to keep would delete every snapshot: keep the last one at least
  return f.length ? f.join(' ') : '--keep-last 1';
}

export function renderJobEnv(plan: Plan, job: BackupJob): string {
  const repo = jobRepositories(plan.backups).get(job.name)!;
  const conn = jobConnection(job, plan.components);
  const pw = jobPasswordSecret(job, plan.components);
  // Sourced by lib.sh: every value is one single-quoted word, comments hold no values.
  const lines = [
    `# ${generatedHeader}`,
    `# restic encrypts every repository (AES-256 + Poly1305) with the ${RESTIC_PASSWORD_SECRET} secret.`,
    `KIND=${q(job.kind)}`,
    `TARGET=${q(job.target)}`,
    `SCHEDULE=${q(job.schedule)}`,
    `VERIFY_SCHEDULE=${q(job.verifySchedule)}`,
    `REPOSITORY=${repositoryWord(repo.repository)}`,
    `RESTIC_PASSWORD_SECRET=${q(RESTIC_PASSWORD_SECRET)}`,
    `RETENTION=${q(retentionFlags(job.retention))}`,
    `MIN_BYTES=${MIN_BYTES[job.kind]}`,
    `RESTORE_TEST=${job.restoreTest ? 1 : 0}`,
  ];
  if (job.destination.type === 's3') {
    lines.push(`S3_ACCESS_KEY_SECRET=${q(job.destination.accessKeySecret)}`, `S3_SECRET_KEY_SECRET=${q(job.destination.secretKeySecret)}`);
    // a private CA: restic verifies the endpoint against it (RESTIC_CACERT), never with verification off
    if (job.destination.caSecret) lines.push(`S3_CA_SECRET=${q(job.destination.caSecret)}`);
    // lib.sh's probe gives up after WHARF_REPO_TIMEOUT whole seconds (30 when unset)
    if (job.destination.timeout) lines.push(`WHARF_REPO_TIMEOUT=${Math.ceil(job.destination.timeout.toSeconds())}`);
  }
  if (job.kind === 'volume') {
    lines.push(`VOLUME=${q(job.name)}`);
  } else {
    // lib.sh lets WHARF_DB_HOST / WHARF_DB_PORT / WHARF_DB_USER move the job to another server (tests on loopback)
    lines.push(
      `DB_HOST=${q(conn.host)}`,
      `DB_PORT=${q(String(conn.port))}`,
      `DB_USER=${q(conn.user)}`,
      `DB_NAME=${q(conn.database)}`,
      `DB_PASSWORD_SECRET=${q(pw ?? '')}`,
    );
    // empty: the cache keeps no RDB, so an in-place restore is refused
    if (job.kind === 'redis') lines.push(`REDIS_VOLUME=${q(redisDataVolume(job, plan.components) ?? '')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The default local repository lives under $WHARF_REPO_DIR (moved by tests): that prefix
 *  is the one expansion left to the shell, the rest is quoted. */
function repositoryWord(repository: string): string {
  const prefix = '$WHARF_REPO_DIR/';
  return repository.startsWith(prefix) ? `"$WHARF_REPO_DIR"/${q(repository.slice(prefix.length))}` : q(repository);
}

/** Job names are words of the schedule file and parts of paths: the plan guarantees the
 *  grammar, and a name outside it is a bug, not something to quote. */
function jobName(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error(`bug: backup job name ${JSON.stringify(name)} is not lowercase letters, digits and dashes`);
  return name;
}

export function renderSchedule(plan: Plan): string {
  const lines = [`# ${generatedHeader}`, '# m h dom mon dow  script job   (UTC; expanded lists, read by backup/bin/scheduler.sh)'];
  for (const j of plan.backups) {
    lines.push(`${normalizeCron(j.schedule)} backup ${jobName(j.name)}`);
    lines.push(`${normalizeCron(j.verifySchedule)} verify ${jobName(j.name)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderDockerfile(): string {
  return `# ${generatedHeader}
# The default backup image: restic, the database clients the jobs run and jq (the scripts read
# restic's JSON with it). pg_dump must be at least the server's major version, so PG_MAJOR
# follows the stack's PostgreSQL image.
ARG RESTIC_IMAGE=restic/restic:0.17.3
FROM \${RESTIC_IMAGE}
ARG PG_MAJOR=16
RUN apk add --no-cache "postgresql\${PG_MAJOR}-client" mariadb-client redis tar tzdata jq \\
 && restic version && pg_dump --version && mysqldump --version && redis-cli --version && jq --version
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
  for (const j of plan.backups) files.push({ path: `backup/jobs/${jobName(j.name)}.env`, contents: renderJobEnv(plan, j) });
  return files.sort((a, b) => byCodeUnit(a.path, b.path));
}

// The backup service in the plan and its rendered files: pure, plus real shells for syntax
// and the scheduler's cron matching.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBackup, renderSchedule, retentionFlags, cronFields } from '../../src/render/backup/index.js';
import { scripts } from '../../src/render/backup/scripts.js';
import { RESTIC_PASSWORD_SECRET, TEXTFILE_DIR } from '../../src/plan/backup.js';
import { planFromYaml, postgresSpec } from './backup-harness.js';
import { BACKUP_LAST_STATUS_METRIC, BACKUP_LAST_SUCCESS_METRIC, BACKUP_VERIFY_LAST_STATUS_METRIC } from '../../src/render/prometheus/catalogue.js';

const repo = join(import.meta.dirname, '..', '..');
const template = (n: string) => planFromYaml(readFileSync(join(repo, 'templates', `${n}.yaml`), 'utf8'));

describe('backup plan', () => {
  it('api template: one backup service with the restic password, the db password, the repo bind mount and the metrics volume', () => {
    const plan = template('api');
    const b = plan.components.find((c) => c.role === 'backup')!;
    assert.ok(b);
    assert.equal(b.imageKey, 'restic');
    assert.deepEqual(b.entrypoint, ['/backup/bin/scheduler.sh']);
    assert.deepEqual(b.secrets.map((s) => s.secret), [RESTIC_PASSWORD_SECRET, 'db-password']);
    assert.deepEqual(plan.secrets.find((s) => s.name === RESTIC_PASSWORD_SECRET)!.source, { kind: 'random', length: 48 });
    assert.deepEqual(b.mounts.map((m) => `${m.type}:${m.source}:${m.target}`), ['config:backup:/backup', 'volume:backup-metrics:/metrics', 'bind:../../.wharf/backups:/repo']);
    assert.deepEqual(b.networks, ['backend']);
    assert.deepEqual(b.dependsOn, [{ name: 'db', condition: 'service_healthy' }]);
    assert.equal(b.build?.args.PG_MAJOR, '16', 'pg_dump follows the server major version');
    const ne = plan.components.find((c) => c.role === 'node-exporter')!;
    assert.ok(ne.command!.includes(`--collector.textfile.directory=${TEXTFILE_DIR}`));
    assert.ok(ne.mounts.some((m) => m.source === 'backup-metrics' && m.target === TEXTFILE_DIR && m.readOnly));
  });

  it('an images.restic override replaces the build', () => {
    const plan = planFromYaml(`${postgresSpec()}images:\n  restic: local/restic:test\n`);
    const b = plan.components.find((c) => c.role === 'backup')!;
    assert.equal(b.image, 'local/restic:test');
    assert.equal(b.build, undefined);
  });

  it('no backups, no backup service', () => {
    const plan = planFromYaml(postgresSpec().replace(/    backup:\n(      .*\n|        .*\n)*/, ''));
    assert.equal(plan.backups.length, 0);
    assert.equal(plan.components.some((c) => c.role === 'backup'), false);
    assert.deepEqual(renderBackup(plan), []);
  });
});

describe('backup renderer', () => {
  it('haproxy-mysql (seed 003): every 5 minutes keeping 10, mysqldump as root from the root-password secret', () => {
    const plan = template('haproxy-mysql');
    const files = renderBackup(plan);
    assert.deepEqual(files.map((f) => f.path), [
      'backup/Dockerfile', 'backup/bin/backup.sh', 'backup/bin/lib.sh', 'backup/bin/list.sh', 'backup/bin/restore.sh',
      'backup/bin/scheduler.sh', 'backup/bin/verify.sh', 'backup/jobs/db.env', 'backup/schedule',
    ]);
    const env = files.find((f) => f.path === 'backup/jobs/db.env')!.contents;
    assert.match(env, /^KIND=mysql$/m);
    assert.match(env, /^RETENTION='--keep-last 10'$/m);
    assert.match(env, /^DB_USER="\$\{WHARF_DB_USER:-root\}"$/m);
    assert.match(env, /^DB_PASSWORD_SECRET=db-root-password$/m);
    assert.match(env, /^REPOSITORY="\$WHARF_REPO_DIR\/db"$/m);
    assert.match(renderSchedule(plan), /^\*\/5 \* \* \* \* backup db$/m);
    assert.match(renderSchedule(plan), /^0 0 \* \* 0 verify db$/m);
    assert.equal(files.find((f) => f.path === 'backup/bin/backup.sh')!.mode, 0o755);
    const b = plan.components.find((c) => c.role === 'backup')!;
    assert.ok(b.secrets.some((s) => s.secret === 'db-root-password'));
  });

  it('api (seed 002): daily keeping 7 plus weekly', () => {
    const plan = template('api');
    const env = renderBackup(plan).find((f) => f.path === 'backup/jobs/db.env')!.contents;
    assert.match(env, /^RETENTION='--keep-daily 7 --keep-weekly 4'$/m);
    assert.match(renderSchedule(plan), /^0 3 \* \* \* backup db$/m);
  });

  it('retention and cron helpers', () => {
    assert.equal(retentionFlags({}), '--keep-last 1');
    assert.equal(retentionFlags({ keepLast: 3, keepMonthly: 6 }), '--keep-last 3 --keep-monthly 6');
    assert.equal(cronFields('@daily'), '0 0 * * *');
    assert.equal(cronFields(' */5  * * * *'), '*/5 * * * *');
  });

  it('no secret value in rendered files: only secret names', () => {
    const plan = template('api');
    for (const f of renderBackup(plan)) assert.doesNotMatch(f.contents, /PASSWORD=['"]?[A-Za-z0-9+/]{16}/);
  });

  it('the scripts write the metric names the alert catalogue reads, with its labels', () => {
    const lib = scripts['lib.sh']!;
    for (const m of [BACKUP_LAST_SUCCESS_METRIC, BACKUP_LAST_STATUS_METRIC, BACKUP_VERIFY_LAST_STATUS_METRIC]) assert.ok(lib.includes(`m ${m} `), m);
    assert.ok(lib.includes('L="backup=\\"$JOB\\",target=\\"$TARGET\\"'));
  });

  it('scripts.ts is generated from sh/*.sh and up to date', async () => {
    const gen = await import('../../src/render/backup/gen-scripts.mjs' as string) as { generate: () => string };
    assert.equal(readFileSync(join(repo, 'src/render/backup/scripts.ts'), 'utf8'), gen.generate(), 'run: node src/render/backup/gen-scripts.mjs');
  });

  it('every script parses with dash and busybox-compatible sh -n', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sh-'));
    try {
      for (const [n, text] of Object.entries(scripts)) {
        writeFileSync(join(dir, n), text);
        const r = spawnSync('dash', ['-n', join(dir, n)], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${n}: ${r.stderr}`);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('the scheduler matches cron expressions like cron', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sched-'));
    const sched = join(dir, 'scheduler.sh');
    writeFileSync(sched, scripts['scheduler.sh']!);
    const match = (expr: string, at: string) => spawnSync('sh', [sched, '--match', expr, ...at.split(' ')]).status === 0;
    const table: Array<[string, string, boolean]> = [
      ['*/5 * * * *', '10 3 1 1 0', true], ['*/5 * * * *', '11 3 1 1 0', false],
      ['0 3 * * *', '0 3 5 6 2', true], ['0 3 * * *', '0 4 5 6 2', false],
      ['0 0 * * 0', '0 0 5 6 0', true], ['0 0 * * 7', '0 0 5 6 0', true], ['0 0 * * 0', '0 0 5 6 1', false],
      ['0 0 1 * 1-5', '0 0 2 6 3', true], ['0 0 1 * 1-5', '0 0 2 6 6', false], // dom OR dow when both are set
      ['0 0 1,15 * *', '0 0 15 6 6', true], ['5-20/5 * * * *', '15 1 1 1 1', true], ['5-20/5 * * * *', '25 1 1 1 1', false],
      ['30 2 * 1-3 *', '30 2 9 4 1', false],
    ];
    try {
      for (const [expr, at, want] of table) assert.equal(match(expr, at), want, `${expr} @ ${at}`);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

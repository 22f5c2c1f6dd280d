// The backup service in the plan and its rendered files: pure, plus real shells for syntax
// and the scheduler's cron matching.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBackup, renderJobEnv, renderSchedule, retentionFlags } from '../../src/render/backup/index.js';
import { cronRuns, normalizeCron } from '../../src/spec/cron.js';
import { SCRIPT_NAMES, scripts } from '../../src/render/backup/scripts.js';
import { RESTIC_PASSWORD_SECRET } from '../../src/plan/backup.js';
import { TEXTFILE_DIR, withTextfiles } from '../../src/render/textfiles.js';
import { planFromYaml, postgresSpec } from './backup-harness.js';
import {
  BACKUP_LAST_STATUS_METRIC,
  BACKUP_LAST_SUCCESS_METRIC,
  BACKUP_VERIFY_LAST_STATUS_METRIC,
} from '../../src/render/prometheus/catalogue.js';

const repo = join(import.meta.dirname, '..', '..');
const template = (n: string) => planFromYaml(readFileSync(join(repo, 'templates', `${n}.yaml`), 'utf8'));

describe('backup plan', () => {
  it('api template: one backup service with the restic password, the db password, the repo bind mount and the metrics volume', () => {
    const plan = template('api');
    const b = plan.components.find((c) => c.role === 'backup')!;
    assert.ok(b);
    assert.equal(b.imageKey, 'restic');
    assert.deepEqual(b.entrypoint, ['/backup/bin/scheduler.sh']);
    assert.deepEqual(
      b.secrets.map((s) => s.secret),
      [RESTIC_PASSWORD_SECRET, 'db-password'],
    );
    assert.deepEqual(plan.secrets.find((s) => s.name === RESTIC_PASSWORD_SECRET)!.source, { kind: 'random', length: 48 });
    assert.deepEqual(
      b.mounts.map((m) => `${m.type}:${m.type === 'config' ? m.bundle : m.source}:${m.target}`),
      ['config:backup-scripts:/backup', 'volume:backup-metrics:/metrics', 'bind:../../.wharf/backups:/repo'],
    );
    assert.deepEqual(b.networks, ['backend']);
    assert.deepEqual(b.dependsOn, [{ name: 'db', on: 'ready' }]);
    assert.equal(b.build?.args.PG_MAJOR, '16', 'pg_dump follows the server major version');
    // the metrics are a relation of the plan; the host's node-exporter publishes them on Compose and Swarm
    assert.deepEqual(plan.monitoring.textfiles, { volume: 'backup-metrics', writer: 'backup' });
    const planned = plan.components.find((c) => c.role === 'node-exporter')!;
    assert.ok(
      !planned.mounts.some((m) => m.type === 'volume' && m.source === 'backup-metrics'),
      'the backup plan leaves node-exporter alone',
    );
    const ne = withTextfiles(plan, planned);
    assert.ok(ne.command!.includes(`--collector.textfile.directory=${TEXTFILE_DIR}`));
    assert.ok(ne.mounts.some((m) => m.type === 'volume' && m.source === 'backup-metrics' && m.target === TEXTFILE_DIR && m.readOnly));
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
    assert.equal(
      plan.components.some((c) => c.role === 'backup'),
      false,
    );
    assert.deepEqual(renderBackup(plan), []);
  });
});

describe('backup renderer', () => {
  it('haproxy-mysql (seed 003): every 5 minutes keeping 10, mysqldump as root from the root-password secret', () => {
    const plan = template('haproxy-mysql');
    const files = renderBackup(plan);
    assert.deepEqual(
      files.map((f) => f.path),
      [
        'backup/Dockerfile',
        'backup/bin/backup.sh',
        'backup/bin/lib.sh',
        'backup/bin/list.sh',
        'backup/bin/restore.sh',
        'backup/bin/scheduler.sh',
        'backup/bin/verify.sh',
        'backup/jobs/db.env',
        'backup/schedule',
      ],
    );
    const env = files.find((f) => f.path === 'backup/jobs/db.env')!.contents;
    assert.match(env, /^KIND='mysql'$/m);
    assert.match(env, /^RETENTION='--keep-last 10'$/m);
    assert.match(env, /^DB_USER='root'$/m);
    assert.match(env, /^DB_PASSWORD_SECRET='db-root-password'$/m);
    assert.match(env, /^REPOSITORY="\$WHARF_REPO_DIR"\/'db'$/m);
    assert.match(renderSchedule(plan), /^0,5,10,15,20,25,30,35,40,45,50,55 \* \* \* \* backup db$/m);
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

  it('retention helper', () => {
    assert.equal(retentionFlags({}), '--keep-last 1');
    assert.equal(retentionFlags({ keepLast: 3, keepMonthly: 6 }), '--keep-last 3 --keep-monthly 6');
  });

  it('no secret value in rendered files: only secret names', () => {
    const plan = template('api');
    for (const f of renderBackup(plan)) assert.doesNotMatch(f.contents, /PASSWORD=['"]?[A-Za-z0-9+/]{16}/);
  });

  it('the scripts write the metric names the alert catalogue reads, with its labels', () => {
    const lib = scripts['lib.sh']!;
    for (const m of [BACKUP_LAST_SUCCESS_METRIC, BACKUP_LAST_STATUS_METRIC, BACKUP_VERIFY_LAST_STATUS_METRIC])
      assert.ok(lib.includes(`m("${m}", `), m);
    assert.ok(lib.includes('L="backup=\\"$JOB\\",target=\\"$(prom_label "$TARGET")\\"'));
  });

  it('scripts.ts names every script of sh/ (the bundle inlines the directory, tsx reads the list)', () => {
    const onDisk = readdirSync(join(repo, 'src/render/backup/sh'))
      .filter((n) => n.endsWith('.sh'))
      .sort();
    assert.deepEqual([...SCRIPT_NAMES], onDisk);
    for (const n of onDisk) assert.equal(scripts[n], readFileSync(join(repo, 'src/render/backup/sh', n), 'utf8'), n);
  });

  it('every script parses with dash and busybox-compatible sh -n', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sh-'));
    try {
      for (const [n, text] of Object.entries(scripts)) {
        writeFileSync(join(dir, n), text);
        const r = spawnSync('dash', ['-n', join(dir, n)], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${n}: ${r.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the scheduler matches the expanded schedule like cron', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sched-'));
    const sched = join(dir, 'scheduler.sh');
    writeFileSync(sched, scripts['scheduler.sh']!);
    const match = (expr: string, at: string) => spawnSync('sh', [sched, '--match', normalizeCron(expr), ...at.split(' ')]).status === 0;
    const table: Array<[string, string, boolean]> = [
      ['*/5 * * * *', '10 3 1 1 0', true],
      ['*/5 * * * *', '11 3 1 1 0', false],
      ['0 3 * * *', '0 3 5 6 2', true],
      ['0 3 * * *', '0 4 5 6 2', false],
      ['0 0 * * 0', '0 0 5 6 0', true],
      ['0 0 * * 7', '0 0 5 6 0', true],
      ['0 0 * * 0', '0 0 5 6 1', false],
      ['0 0 1 * 1-5', '0 0 2 6 3', true],
      ['0 0 1 * 1-5', '0 0 2 6 6', false], // dom OR dow when both are set
      ['0 0 1,15 * *', '0 0 15 6 6', true],
      ['5-20/5 * * * *', '15 1 1 1 1', true],
      ['5-20/5 * * * *', '25 1 1 1 1', false],
      ['30 2 * 1-3 *', '30 2 9 4 1', false],
    ];
    try {
      for (const [expr, at, want] of table) assert.equal(match(expr, at), want, `${expr} @ ${at}`);
      // a field the renderer never writes (a step, a range) matches nothing: no arithmetic in sh
      assert.equal(spawnSync('sh', [sched, '--match', '*/0 * * * *', '0', '0', '1', '1', '1']).status, 1);
      assert.equal(spawnSync('sh', [sched, '--match', '1-5 * * * *', '3', '0', '1', '1', '1']).status, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the real scheduler.sh on the expanded schedule agrees with the cron library, minute by minute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sched-'));
    const sched = join(dir, 'scheduler.sh');
    writeFileSync(sched, scripts['scheduler.sh']!);
    const exprs = [
      '* * * * *',
      '*/5 * * * *',
      '*/7 */3 * * *',
      '0 3 * * *',
      '15 4 1 * *',
      '0 0 1 * 1-5',
      '0 0 1,15 * 5',
      '30 2 * 1-3 *',
      '5-20/5 * * * *',
      '0 0 * * 7',
      '0 0 * * sun,sat',
      '0 12 29 2 *',
      '59 23 31 * *',
      '0 0 */2 * *',
      '0 0 * * */2',
      '@hourly',
      '@daily',
      '@weekly',
      '@monthly',
    ];
    const fields = (d: Date) => [d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay()].join(' ');
    let rnd = 42;
    const next = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648);
    try {
      for (const expr of exprs) {
        // the library's own run times (every one must match) and random minutes over 2026-2029
        const at: Date[] = cronRuns(expr, new Date(Date.UTC(2026, 0, 1)), 60);
        for (let i = 0; i < 200; i++) at.push(new Date(Date.UTC(2026, 0, 1) + (next() % (4 * 525600)) * 60000));
        const want = at.map((t) => (cronRuns(expr, new Date(t.getTime() - 60000), 1)[0]!.getTime() === t.getTime() ? '1' : '0'));
        const r = spawnSync('sh', [sched, '--match-each', normalizeCron(expr)], {
          input: `${at.map(fields).join('\n')}\n`,
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
        const got = r.stdout.trim().split('\n');
        assert.equal(got.length, at.length);
        for (let i = 0; i < at.length; i++) assert.equal(got[i], want[i], `${expr} at ${at[i]!.toISOString()}`);
        assert.ok(want.filter((w) => w === '1').length >= 60, `${expr}: the library's runs are matches`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a job env file sourced by the real lib.sh load_job runs nothing and keeps hostile values intact', () => {
    const nasty = `x'; touch PWNED; echo '\n$(touch PWNED)\`touch PWNED\`\n"; touch PWNED #\\ ü`;
    const plan = template('api');
    const job = { ...plan.backups[0]!, schedule: `0 3 * * *\ntouch PWNED`, target: nasty };
    const env = renderJobEnv(plan, job);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-job-'));
    try {
      mkdirSync(join(dir, 'jobs'));
      mkdirSync(join(dir, 'secrets'));
      writeFileSync(join(dir, 'jobs', `${job.name}.env`), env);
      writeFileSync(join(dir, 'secrets', `${nasty}-password`), 'pw'); // the secret is named after the target
      writeFileSync(join(dir, 'lib.sh'), scripts['lib.sh']!);
      writeFileSync(
        join(dir, 'show.sh'),
        `. "$1/lib.sh"\nload_job ${job.name}\nprintf '%s' "$TARGET" > "$1/target"\nprintf '%s' "$SCHEDULE" > "$1/schedule"\ncleanup\n`,
      );
      const r = spawnSync('/bin/sh', [join(dir, 'show.sh'), dir], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          WHARF_BACKUP_HOME: dir,
          WHARF_SECRETS_DIR: join(dir, 'secrets'),
          WHARF_METRICS_DIR: join(dir, 'm'),
          WHARF_TMP: dir,
          WHARF_REPO_DIR: join(dir, 'repo'),
        },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(existsSync(join(dir, 'PWNED')), false, 'no command ran');
      assert.equal(readFileSync(join(dir, 'target'), 'utf8'), nasty);
      assert.equal(readFileSync(join(dir, 'schedule'), 'utf8'), job.schedule);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

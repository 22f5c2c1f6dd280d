// Backups: metrics written by the backup runner.
import type { BackupJob } from '../../../plan/model.js';
import { promqlString as str } from '../../../escape/promql.js';
import {
  BACKUP_LAST_SUCCESS_METRIC,
  BACKUP_LAST_STATUS_METRIC,
  BACKUP_VERIFY_LAST_STATUS_METRIC,
  flat,
  ramp,
  sel,
  fmtDuration,
  backupStaleSeconds,
  type Draft,
  type RuleContext,
} from './shared.js';

export function backupsRules({ plan, m, p }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  if (p.backups && plan.backups.length) {
    const b0 = plan.backups[0]!;
    const bl = { job: 'backup', instance: '10.0.8.1:9000', backup: b0.name, target: b0.target };
    const bcomp = '{{ $labels.target }}';
    const ov = m.overrides.BackupStale?.threshold;
    const staleOf = (b: BackupJob) => ov ?? backupStaleSeconds(b.schedule);
    // a job whose last success is always "now"
    const healthy = (b: BackupJob, step: number) => ({
      series: sel(BACKUP_LAST_SUCCESS_METRIC, { ...bl, backup: b.name, target: b.target }),
      values: ramp(0, step * 60),
    });
    drafts.push({
      alert: 'BackupFailed',
      group: 'backups',
      severity: 'critical',
      for: '0m',
      component: bcomp,
      down: false,
      // last_over_time: a failure keeps firing when the textfile then vanishes (the series would
      // go stale and the alert resolve as if fixed); BackupStale's absent() rule takes over after.
      expr: () =>
        plan.backups
          .map((b) => `last_over_time(${BACKUP_LAST_STATUS_METRIC}{backup=${str(b.name)}}[${fmtDuration(staleOf(b))}]) == 0`)
          .join('\nor\n'),
      summary: 'Backup {{ $labels.backup }} failed',
      description: () => 'The last run of backup {{ $labels.backup }} (of {{ $labels.target }}) failed: no new restore point was written.',
      runbook:
        'Run `wharf backup {{ $labels.backup }}` to see the error; a stale restic lock (`restic unlock`) or a full destination are common.',
      fixture: {
        firing: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: flat(0) }],
        quiet: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: flat(1) }],
        labels: bl,
        at: '5m',
        // failed, then the textfile is gone: 10 samples, nothing after
        alsoFires: [
          {
            name: 'textfile gone after a failure',
            firing: [{ series: sel(BACKUP_LAST_STATUS_METRIC, bl), values: '0x10' }],
            labels: bl,
            at: '30m',
          },
        ],
      },
    });
    drafts.push({
      alert: 'BackupVerifyFailed',
      group: 'backups',
      severity: 'warning',
      for: '0m',
      component: bcomp,
      down: false,
      expr: () => `${BACKUP_VERIFY_LAST_STATUS_METRIC} == 0`,
      summary: 'Verification of backup {{ $labels.backup }} failed',
      description: () =>
        'The last integrity check or restore test of backup {{ $labels.backup }} (of {{ $labels.target }}) failed: restores may not work.',
      runbook: 'Run `restic check --read-data-subset` against the repository; if data is damaged, take a new full backup now.',
      fixture: {
        firing: [{ series: sel(BACKUP_VERIFY_LAST_STATUS_METRIC, bl), values: flat(0) }],
        quiet: [{ series: sel(BACKUP_VERIFY_LAST_STATUS_METRIC, bl), values: flat(1) }],
        labels: bl,
        at: '5m',
      },
    });
    const stale0 = staleOf(b0);
    const stepMin = Math.max(1, Math.ceil((stale0 + 3600) / 60 / 250));
    drafts.push({
      alert: 'BackupStale',
      group: 'backups',
      severity: 'warning',
      for: '0m',
      component: bcomp,
      down: false,
      thresholdUnit: 'seconds since the last success (default: twice the schedule period plus 15m)',
      expr: () =>
        plan.backups
          .map((b) => `time() - ${BACKUP_LAST_SUCCESS_METRIC}{backup=${str(b.name)}} > ${ov ?? backupStaleSeconds(b.schedule)}`)
          .join('\nor\n'),
      summary: 'Backup {{ $labels.backup }} is stale',
      description: () =>
        'No run of backup {{ $labels.backup }} (of {{ $labels.target }}) has succeeded for more than two scheduled periods.',
      runbook:
        'Check that the backup scheduler runs (`wharf status`) and run `wharf backup {{ $labels.backup }}` by hand to see why it fails.',
      fixture: {
        firing: [
          { series: sel(BACKUP_LAST_SUCCESS_METRIC, bl), values: flat(0) },
          ...plan.backups.slice(1).map((b) => healthy(b, stepMin)),
        ],
        quiet: plan.backups.map((b) => healthy(b, stepMin)),
        labels: bl,
        interval: `${stepMin}m`,
        at: `${Math.ceil((stale0 + 1800) / 60 / stepMin) * stepMin}m`,
      },
    });
    // A backup that never succeeded (or whose metrics vanished) has no series to be stale:
    // absent() per job, firing once it has lasted the job's stale threshold.
    for (const b of plan.backups) {
      const t = staleOf(b);
      const step = Math.max(1, Math.ceil((t + 3600) / 60 / 250));
      const others = plan.backups.filter((x) => x !== b).map((x) => healthy(x, step));
      drafts.push({
        alert: 'BackupStale',
        group: 'backups',
        severity: 'warning',
        for: fmtDuration(t),
        fixedFor: true,
        component: bcomp,
        down: false,
        expr: () => `absent(${BACKUP_LAST_SUCCESS_METRIC}{backup=${str(b.name)},target=${str(b.target)}})`,
        summary: 'Backup {{ $labels.backup }} is stale',
        description: () =>
          'Backup {{ $labels.backup }} (of {{ $labels.target }}) has no successful run on record: it never ran, or its metrics are gone.',
        runbook:
          'Check that the backup service runs (`wharf status`) and that node-exporter reads its textfiles; run `wharf backup {{ $labels.backup }}` by hand.',
        fixture: {
          firing: others.length ? others : [{ series: sel('up', { job: 'backup-never-ran' }), values: flat(1) }],
          quiet: [healthy(b, step), ...others],
          labels: { backup: b.name, target: b.target },
          interval: `${step}m`,
          at: `${Math.ceil((t + 1800) / 60 / step) * step}m`,
        },
      });
    }
  }
  return drafts;
}

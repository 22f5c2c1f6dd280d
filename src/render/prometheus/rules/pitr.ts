// Point-in-time recovery: metrics the WAL archiver (render/pitr/sh/pitr.sh) writes as textfiles.
// Archiving that fails, falls behind, or stops shortens the recoverable window without a sound.
import { pitrJobs, ARCHIVE_TIMEOUT_SECONDS, PUSH_INTERVAL_SECONDS } from '../../../plan/pitr.js';
import { flat, ramp, sel, type Draft, type RuleContext } from './shared.js';

export const PITR_STATUS_METRIC = 'wharf_pitr_archive_last_status';
export const PITR_PENDING_AGE_METRIC = 'wharf_pitr_oldest_pending_age_seconds';
export const PITR_LAST_RUN_METRIC = 'wharf_pitr_last_run_timestamp_seconds';

/** a segment waiting longer than this is behind: ten pushes and two segment switches */
export const PITR_BEHIND_SECONDS = 10 * PUSH_INTERVAL_SECONDS + 2 * ARCHIVE_TIMEOUT_SECONDS;
/** the archiver writes its metrics every push; silence this long means it stopped */
export const PITR_SILENT_SECONDS = 120;

export function pitrRules({ plan, p }: RuleContext): Draft[] {
  const jobs = pitrJobs(plan.backups);
  if (!p.backups || !jobs.length) return [];
  const l = { job: 'node-exporter', instance: '10.0.8.2:9100', database: jobs[0]!.target };
  const comp = '{{ $labels.database }}-pitr';
  return [
    {
      alert: 'PitrArchiveFailing',
      group: 'backups',
      severity: 'critical',
      for: '2m',
      component: comp,
      down: false,
      expr: () => `${PITR_STATUS_METRIC} == 0`,
      summary: 'WAL archiving of {{ $labels.database }} fails',
      description: (_t, f) =>
        `The WAL archiver of {{ $labels.database }} has failed to ship segments to the repository for ${f}: the recoverable window stopped growing.`,
      runbook:
        'Read `wharf logs {{ $labels.database }}-pitr`: an unwritable destination, a full disk or a wrong repository key are common.',
      fixture: {
        firing: [{ series: sel(PITR_STATUS_METRIC, l), values: flat(0) }],
        quiet: [{ series: sel(PITR_STATUS_METRIC, l), values: flat(1) }],
        labels: l,
        at: '5m',
      },
    },
    {
      alert: 'PitrArchiveBehind',
      group: 'backups',
      severity: 'warning',
      for: '0m',
      threshold: PITR_BEHIND_SECONDS,
      thresholdUnit: 'seconds the oldest WAL segment has waited for the archiver',
      component: comp,
      down: false,
      expr: (t) => `${PITR_PENDING_AGE_METRIC} > ${t}`,
      summary: 'WAL archiving of {{ $labels.database }} falls behind',
      description: (t) =>
        `A WAL segment of {{ $labels.database }} has waited more than ${t}s to reach the repository: a restore cannot reach the last writes.`,
      runbook: 'Check the destination is reachable and fast enough (`wharf backups {{ $labels.database }}` shows the WAL waiting).',
      fixture: {
        firing: [{ series: sel(PITR_PENDING_AGE_METRIC, l), values: ramp(0, 60) }],
        quiet: [{ series: sel(PITR_PENDING_AGE_METRIC, l), values: flat(3) }],
        labels: l,
        at: '10m',
      },
    },
    {
      alert: 'PitrArchiverDown',
      group: 'backups',
      severity: 'critical',
      for: '0m',
      threshold: PITR_SILENT_SECONDS,
      thresholdUnit: 'seconds since the WAL archiver last wrote its metrics',
      component: comp,
      down: true,
      expr: (t) => `time() - ${PITR_LAST_RUN_METRIC} > ${t}`,
      summary: 'The WAL archiver of {{ $labels.database }} stopped',
      description: (t) =>
        `The WAL archiver of {{ $labels.database }} has not run for more than ${t}s: segments pile up in the spool, unshipped.`,
      runbook: 'Run `wharf status`; start it with `wharf up`. Segments stay in the spool until it ships them.',
      fixture: {
        // a timestamp that keeps up with the clock, and one that stopped at 0
        firing: [{ series: sel(PITR_LAST_RUN_METRIC, l), values: flat(0) }],
        quiet: [{ series: sel(PITR_LAST_RUN_METRIC, l), values: ramp(0, 60) }],
        labels: l,
        at: '10m',
      },
    },
  ];
}

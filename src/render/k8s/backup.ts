// Backups on K3s: the same restic jobs as Compose (render/backup: scripts, job env files),
// run by Kubernetes instead of wharf's scheduler loop. Per job a CronJob running
// `bin/backup.sh <job>` on its schedule and one running `bin/verify.sh <job>` on the verify
// schedule; never two runs of one job at once (concurrencyPolicy Forbid), times in UTC.
// The scripts write their metrics as textfiles into the `backup-metrics` PVC, exactly as on
// Compose; the backup-metrics exporter (view.ts) publishes them to Prometheus. Secrets are
// the SOPS Secrets every workload mounts, at the same /run/secrets paths.
import { CronJob } from 'kubernetes-models/batch/v1';
import { PersistentVolumeClaim } from 'kubernetes-models/v1';
import type { Component, Plan } from '../../plan/model.js';
import { normalizeCron } from '../../spec/cron.js';
import { labelsOf, sortedKeys, type K8sObject } from './objects.js';
import { podSpec, type WorkloadOptions } from './workloads.js';

/** A run longer than this is stuck (a dump that hangs): it is killed and the run fails. */
export const BACKUP_DEADLINE_SECONDS = 6 * 3600;

export function backupObjects(plan: Plan, c: Component, own: string[], o: WorkloadOptions): K8sObject[] {
  const labels = labelsOf(plan, c.name, c.role);
  const out: K8sObject[] = own.map(
    (name) =>
      new PersistentVolumeClaim({
        metadata: { name, namespace: o.namespace, labels },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: o.storageClass, resources: { requests: { storage: o.volumeSize } } },
      }),
  );
  for (const j of plan.backups) {
    for (const [script, schedule, name] of [
      ['backup', j.schedule, `backup-${j.name}`],
      ['verify', j.verifySchedule, `backup-${j.name}-verify`],
    ] as const) {
      // The scheduler's entrypoint is replaced by the one script, for the one job.
      const run: Component = { ...c, entrypoint: [`/backup/bin/${script}.sh`, j.name], command: undefined };
      const spec = podSpec(plan, run, o);
      const podLabels = { ...labels, 'wharf.dev/backup': j.name, 'wharf.dev/backup-run': script };
      out.push(
        new CronJob({
          metadata: { name, namespace: o.namespace, labels: podLabels },
          spec: {
            // expanded to plain lists by the cron library: the same instants the Compose scheduler runs
            schedule: normalizeCron(schedule),
            timeZone: 'Etc/UTC',
            concurrencyPolicy: 'Forbid',
            startingDeadlineSeconds: 3600,
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
              metadata: { labels: podLabels },
              spec: {
                // no retry: a failed run is in the metrics (BackupFailed) and the next schedule tries again
                backoffLimit: 0,
                activeDeadlineSeconds: BACKUP_DEADLINE_SECONDS,
                template: {
                  metadata: { labels: podLabels, ...(o.podAnnotations ? { annotations: sortedKeys(o.podAnnotations) } : {}) },
                  spec: { ...spec, restartPolicy: 'Never', containers: spec.containers.map((x) => ({ ...x, lifecycle: undefined })) },
                },
              },
            },
          },
        }),
      );
    }
  }
  return out;
}

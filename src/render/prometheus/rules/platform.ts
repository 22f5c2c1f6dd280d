// Platform: scrape targets and whole jobs.
import { promqlRegex, promqlReplacement, promqlString as str } from '../../../escape/promql.js';
import { flat, sel, type Draft, type RuleContext } from './shared.js';

export function platformRules({ jobs, appJobs, otherJobs, comp }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  const notApps = appJobs.length ? `job!~${str(promqlRegex(appJobs.map((j) => j.job)))}` : '';
  const anyJob = otherJobs[0] ?? jobs[0];
  if (anyJob) {
    const base = { job: anyJob.job, component: anyJob.component };
    drafts.push({
      alert: 'TargetDown',
      group: 'platform',
      severity: 'warning',
      for: '2m',
      component: comp,
      down: true,
      expr: () => `${notApps ? `up{${notApps}}` : 'up'} == 0 unless on (job) (sum by (job) (up) == 0)`,
      summary: 'Scrape target {{ $labels.instance }} of {{ $labels.job }} is down',
      description: (_t, f) =>
        `Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for ${f}, while other targets of the job answer.`,
      runbook:
        'Check the container: `wharf status`, `docker compose logs <service>`; a failing healthcheck or a crash loop usually shows there.',
      fixture: {
        firing: [
          { series: sel('up', { ...base, instance: '10.0.0.1:1' }), values: flat(0) },
          { series: sel('up', { ...base, instance: '10.0.0.2:1' }), values: flat(1) },
        ],
        quiet: [
          { series: sel('up', { ...base, instance: '10.0.0.1:1' }), values: flat(1) },
          { series: sel('up', { ...base, instance: '10.0.0.2:1' }), values: flat(1) },
        ],
        labels: { ...base, instance: '10.0.0.1:1' },
      },
    });
  }
  if (otherJobs.length) {
    const j0 = otherJobs[0]!;
    drafts.push({
      alert: 'JobDown',
      group: 'platform',
      severity: 'critical',
      for: '2m',
      component: comp,
      down: true,
      // Docker DNS drops a dead container's address, so its `up` series vanishes instead of reading 0.
      expr: () =>
        otherJobs
          .map(
            (j) =>
              `label_replace(label_replace(absent(up{job=${str(j.job)}} == 1), "job", ${promqlReplacement(j.job)}, "", ""),` +
              ` "component", ${promqlReplacement(j.component)}, "", "")`,
          )
          .join('\nor\n'),
      summary: 'No target of {{ $labels.job }} is up',
      description: (_t, f) =>
        `Every target of job {{ $labels.job }} ({{ $labels.component }}) has been down or missing from Docker DNS for ${f}.`,
      runbook:
        'The container is stopped or crash-looping: `wharf status`, then `docker compose logs` for it; `wharf up` restarts what is missing.',
      fixture: {
        firing: otherJobs.map((j, i) => ({
          series: sel('up', { job: j.job, component: j.component, instance: `10.0.0.${i + 1}:1` }),
          values: flat(i === 0 ? 0 : 1),
        })),
        quiet: otherJobs.map((j, i) => ({
          series: sel('up', { job: j.job, component: j.component, instance: `10.0.0.${i + 1}:1` }),
          values: flat(1),
        })),
        labels: { job: j0.job, component: j0.component },
      },
    });
  }
  return drafts;
}

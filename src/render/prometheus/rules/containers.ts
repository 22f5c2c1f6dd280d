// Containers: cAdvisor. Every target labels its containers dev.wharf.service and dev.wharf.stack
// (and cAdvisor keeps only those), so one rule reads them on Compose and Swarm alike.
import { flat, ramp, sel, pct, type Draft, type RuleContext } from './shared.js';

export function containersRules({ plan, p, jobs, appJobs, comp }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  if (p.cadvisor) {
    const job = jobs.find((j) => j.component === 'cadvisor')?.job ?? 'cadvisor';
    const svc = appJobs[0]?.component ?? 'prometheus';
    const c = {
      job,
      instance: '10.0.3.1:8080',
      component: 'cadvisor',
      name: `${plan.name}-${svc}-1`,
      container_label_dev_wharf_service: svc,
    };
    const out = { ...c, component: svc };
    const toComponent = (e: string) => `label_replace(${e}, "component", "$1", "container_label_dev_wharf_service", "(.+)")`;
    drafts.push({
      alert: 'ContainerHighMemory',
      group: 'containers',
      severity: 'warning',
      for: '5m',
      component: comp,
      down: false,
      threshold: 0.8,
      thresholdUnit: 'ratio of the memory limit',
      expr: (t) =>
        `${toComponent('container_memory_working_set_bytes{name!=""} / (container_spec_memory_limit_bytes{name!=""} > 0)')} > ${t}`,
      summary: 'Container {{ $labels.name }} is near its memory limit',
      description: (t, f) =>
        `Container {{ $labels.name }} has used more than ${pct(t)} of its memory limit for ${f}; at 100% the kernel OOM-kills it.`,
      runbook: 'Raise `resources.memory` of the service in wharf.yaml, or look for a leak: the containers dashboard shows the trend.',
      fixture: {
        firing: [
          { series: sel('container_memory_working_set_bytes', c), values: flat(9e8) },
          { series: sel('container_spec_memory_limit_bytes', c), values: flat(1e9) },
        ],
        quiet: [
          { series: sel('container_memory_working_set_bytes', c), values: flat(2e8) },
          { series: sel('container_spec_memory_limit_bytes', c), values: flat(1e9) },
        ],
        labels: out,
      },
    });
    const L = 'name, instance, job, container_label_dev_wharf_service';
    drafts.push({
      alert: 'ContainerHighCpu',
      group: 'containers',
      severity: 'warning',
      for: '5m',
      component: comp,
      down: false,
      threshold: 0.8,
      thresholdUnit: 'ratio of the CPU quota',
      expr: (t) =>
        `${toComponent(
          `sum by (${L}) (rate(container_cpu_usage_seconds_total{name!=""}[5m]))` +
            ` * sum by (${L}) (container_spec_cpu_period{name!=""})` +
            ` / sum by (${L}) (container_spec_cpu_quota{name!=""} > 0)`,
        )} > ${t}`,
      summary: 'Container {{ $labels.name }} is near its CPU limit',
      description: (t, f) =>
        `Container {{ $labels.name }} has used more than ${pct(t)} of its CPU quota for ${f}; beyond it, it is throttled.`,
      runbook: 'Raise `resources.cpus` or `replicas` of the service in wharf.yaml; the service dashboard shows whether latency suffers.',
      fixture: {
        firing: [
          { series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 54) },
          { series: sel('container_spec_cpu_period', c), values: flat(100000) },
          { series: sel('container_spec_cpu_quota', c), values: flat(100000) },
        ],
        quiet: [
          { series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 6) },
          { series: sel('container_spec_cpu_period', c), values: flat(100000) },
          { series: sel('container_spec_cpu_quota', c), values: flat(100000) },
        ],
        labels: { name: c.name, instance: c.instance, job, container_label_dev_wharf_service: svc, component: svc },
      },
    });
    drafts.push({
      alert: 'ContainerRestarting',
      group: 'containers',
      severity: 'warning',
      for: '0m',
      component: comp,
      down: false,
      threshold: 2,
      thresholdUnit: 'restarts in 15 minutes',
      // cAdvisor's container_start_time_seconds is the creation time (a restart keeps it); a
      // restart recreates the cgroup, so the container's CPU counter resets.
      expr: (t) => `${toComponent('max without (cpu) (resets(container_cpu_usage_seconds_total{name!=""}[15m]))')} >= ${t}`,
      summary: 'Container {{ $labels.name }} keeps restarting',
      description: (t) => `Container {{ $labels.name }} has restarted at least ${t} times in 15 minutes.`,
      runbook:
        'Read the logs of the previous runs (`docker logs <container>`); a failing healthcheck, a missing secret or an OOM kill are the usual causes.',
      fixture: {
        firing: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: '0+10x5 0+10x5 0+10x5 0+10x300' }],
        quiet: [{ series: sel('container_cpu_usage_seconds_total', { ...c, cpu: 'total' }), values: ramp(0, 10) }],
        labels: out,
        at: '14m',
      },
    });
    // No ContainerOomKilled: cAdvisor counts OOM events from /dev/kmsg, a device the cAdvisor
    // service is not given (and Swarm services cannot be); HostOomKillDetected reads the kernel's
    // own counter through node-exporter instead.
  }
  return drafts;
}

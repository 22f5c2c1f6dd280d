// The host dashboard (node-exporter) and the containers dashboard (cAdvisor).
import type { DashboardContext, DashboardSpec } from './types.js';
import { promqlString } from '../../escape/promql.js';

const FS = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.*|nfs.*",mountpoint!~"/(dev|proc|sys|run)($|/).*"';

/** Host and containers, when their exporters run. */
export function hostDashboards(ctx: DashboardContext): DashboardSpec[] {
  const { plan, jobOf } = ctx;
  const p = plan.monitoring.present;
  const out: DashboardSpec[] = [];
  // Host.
  if (p.nodeExporter) {
    const j = `job=${promqlString(jobOf('node-exporter'))}`;
    out.push({
      slug: 'host',
      title: `${plan.name} / Host`,
      tags: ['wharf', 'host'],
      panels: [
        {
          title: 'CPU busy',
          kind: 'timeseries',
          unit: 'percentunit',
          source: jobOf('node-exporter'),
          max: 1,
          queries: [{ expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{${j},mode="idle"}[5m]))`, legend: '{{instance}}' }],
        },
        {
          title: 'Load per core',
          kind: 'timeseries',
          unit: 'short',
          source: jobOf('node-exporter'),
          queries: [
            {
              expr: `node_load1{${j}} / on (instance) count by (instance) (node_cpu_seconds_total{${j},mode="idle"})`,
              legend: '{{instance}}',
            },
          ],
        },
        {
          title: 'Memory available',
          kind: 'timeseries',
          unit: 'percentunit',
          source: jobOf('node-exporter'),
          max: 1,
          queries: [{ expr: `node_memory_MemAvailable_bytes{${j}} / node_memory_MemTotal_bytes{${j}}`, legend: '{{instance}}' }],
        },
        {
          title: 'Disk space used',
          kind: 'timeseries',
          unit: 'percentunit',
          source: jobOf('node-exporter'),
          max: 1,
          queries: [
            { expr: `1 - node_filesystem_avail_bytes{${j},${FS}} / node_filesystem_size_bytes{${j},${FS}}`, legend: '{{mountpoint}}' },
          ],
        },
        {
          title: 'Network traffic',
          kind: 'timeseries',
          unit: 'Bps',
          source: jobOf('node-exporter'),
          queries: [
            { expr: `sum by (instance) (rate(node_network_receive_bytes_total{${j},device!="lo"}[5m]))`, legend: 'in {{instance}}' },
            { expr: `sum by (instance) (rate(node_network_transmit_bytes_total{${j},device!="lo"}[5m]))`, legend: 'out {{instance}}' },
          ],
        },
        {
          title: 'Disk I/O',
          kind: 'timeseries',
          unit: 'Bps',
          source: jobOf('node-exporter'),
          queries: [
            { expr: `sum by (instance) (rate(node_disk_read_bytes_total{${j}}[5m]))`, legend: 'read {{instance}}' },
            { expr: `sum by (instance) (rate(node_disk_written_bytes_total{${j}}[5m]))`, legend: 'write {{instance}}' },
          ],
        },
      ],
    });
  }

  // Containers.
  if (p.cadvisor) {
    const job = jobOf('cadvisor');
    const j = `job=${promqlString(job)},name!=""`;
    out.push({
      slug: 'containers',
      title: `${plan.name} / Containers`,
      tags: ['wharf', 'containers'],
      panels: [
        {
          title: 'CPU by container',
          kind: 'timeseries',
          unit: 'short',
          source: job,
          queries: [{ expr: `sum by (name) (rate(container_cpu_usage_seconds_total{${j}}[5m]))`, legend: '{{name}}' }],
        },
        {
          title: 'Memory working set by container',
          kind: 'timeseries',
          unit: 'bytes',
          source: job,
          queries: [{ expr: `sum by (name) (container_memory_working_set_bytes{${j}})`, legend: '{{name}}' }],
        },
        {
          title: 'Memory used of limit',
          kind: 'timeseries',
          unit: 'percentunit',
          source: job,
          max: 1,
          queries: [
            {
              expr: `max by (name) (container_memory_working_set_bytes{${j}} / (container_spec_memory_limit_bytes{${j}} > 0))`,
              legend: '{{name}}',
            },
          ],
        },
        {
          title: 'Network received by container',
          kind: 'timeseries',
          unit: 'Bps',
          source: job,
          queries: [{ expr: `sum by (name) (rate(container_network_receive_bytes_total{${j}}[5m]))`, legend: '{{name}}' }],
        },
        {
          title: 'Restarts (15m)',
          kind: 'timeseries',
          unit: 'short',
          source: job,
          queries: [{ expr: `max by (name) (resets(container_cpu_usage_seconds_total{${j}}[15m]))`, legend: '{{name}}' }],
        },
      ],
    });
  }
  return out;
}

// The dashboards as data first (title, panels, PromQL, which scrape job feeds each query),
// so the same model builds the Grafana JSON and lists every query for the live e2e check.
import type { Plan } from '../../plan/model.js';
import { promqlRegex, promqlString } from '../../escape/promql.js';
import { RECORDED, jobComponents, BACKUP_LAST_SUCCESS_METRIC, BACKUP_LAST_STATUS_METRIC } from '../prometheus/catalogue.js';

export interface QuerySpec {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  kind: 'timeseries' | 'stat';
  unit: string;
  description?: string;
  queries: QuerySpec[];
  /** the scrape job whose metrics the panel reads (`prometheus` for its own series) */
  source: string;
  /** width on Grafana's 24-column grid */
  width?: number;
  max?: number;
}

export interface DashboardSpec {
  slug: string;
  title: string;
  tags: string[];
  panels: PanelSpec[];
}

const FS = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.*|nfs.*",mountpoint!~"/(dev|proc|sys|run)($|/).*"';

/** Every dashboard the plan's components call for, in a stable order. */
export function dashboardSpecs(plan: Plan): DashboardSpec[] {
  const m = plan.monitoring;
  if (!m.enabled) return [];
  const p = m.present;
  const jobs = jobComponents(plan);
  const jobOf = (component: string) =>
    jobs.find((j) => j.component === component && j.job !== component)?.job ??
    jobs.find((j) => j.component === component)?.job ??
    component;
  const apps = jobs.filter((j) => j.app);
  const out: DashboardSpec[] = [];

  // Platform overview.
  const overview: PanelSpec[] = [
    { title: 'Targets up', kind: 'stat', unit: 'short', source: 'prometheus', width: 6, queries: [{ expr: 'sum(up)' }] },
    {
      title: 'Targets down',
      kind: 'stat',
      unit: 'short',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'count(up == 0) or vector(0)' }],
    },
    {
      title: 'Alerts firing',
      kind: 'stat',
      unit: 'short',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }],
    },
    {
      title: 'Scrape duration (max)',
      kind: 'stat',
      unit: 's',
      source: 'prometheus',
      width: 6,
      queries: [{ expr: 'max(scrape_duration_seconds)' }],
    },
    {
      title: 'Targets up by job',
      kind: 'timeseries',
      unit: 'short',
      source: 'prometheus',
      queries: [{ expr: 'sum by (job) (up)', legend: '{{job}}' }],
    },
  ];
  if (apps.length) {
    const a = promqlString(promqlRegex(apps.map((j) => j.job)));
    overview.push(
      {
        title: 'Requests/s by service',
        kind: 'timeseries',
        unit: 'reqps',
        source: apps[0]!.job,
        queries: [{ expr: `sum by (job) (${RECORDED.requestRate}{job=~${a}})`, legend: '{{job}}' }],
      },
      {
        title: 'p95 latency by service',
        kind: 'timeseries',
        unit: 's',
        source: apps[0]!.job,
        queries: [{ expr: `max by (job) (${RECORDED.p95}{job=~${a}})`, legend: '{{job}}' }],
      },
      {
        title: 'Error ratio by service',
        kind: 'timeseries',
        unit: 'percentunit',
        source: apps[0]!.job,
        queries: [{ expr: `max by (job) (${RECORDED.errorRatio}{job=~${a}})`, legend: '{{job}}' }],
      },
    );
  }
  if (p.nodeExporter) {
    overview.push({
      title: 'Host CPU busy',
      kind: 'timeseries',
      unit: 'percentunit',
      source: jobOf('node-exporter'),
      max: 1,
      queries: [{ expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: '{{instance}}' }],
    });
  }
  out.push({ slug: 'overview', title: `${plan.name} / Platform overview`, tags: ['wharf', 'overview'], panels: overview });

  // Per-service RED (seed 002 §5.6 panels plus error ratio).
  for (const a of apps) {
    const j = `job=${promqlString(a.job)}`;
    out.push({
      slug: `service-${a.job}`,
      title: `${plan.name} / Service ${a.job}`,
      tags: ['wharf', 'service'],
      panels: [
        { title: 'Replicas up', kind: 'stat', unit: 'short', source: a.job, width: 6, queries: [{ expr: `sum(up{${j}})` }] },
        {
          title: 'Requests/s',
          kind: 'stat',
          unit: 'reqps',
          source: a.job,
          width: 6,
          queries: [{ expr: `sum(${RECORDED.requestRate}{${j}})` }],
        },
        { title: 'p95 latency', kind: 'stat', unit: 's', source: a.job, width: 6, queries: [{ expr: `max(${RECORDED.p95}{${j}})` }] },
        {
          title: 'Error ratio',
          kind: 'stat',
          unit: 'percentunit',
          source: a.job,
          width: 6,
          queries: [{ expr: `max(${RECORDED.errorRatio}{${j}})` }],
        },
        {
          title: 'Requests/s by status code',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (status_code) (rate(app_requests_total{${j}}[5m]))`, legend: '{{status_code}}' }],
        },
        {
          title: 'Latency percentiles',
          kind: 'timeseries',
          unit: 's',
          source: a.job,
          queries: [
            { expr: `max(${RECORDED.p50}{${j}})`, legend: 'p50' },
            { expr: `max(${RECORDED.p95}{${j}})`, legend: 'p95' },
            { expr: `max(${RECORDED.p99}{${j}})`, legend: 'p99' },
          ],
        },
        {
          title: 'Requests/s by endpoint',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (endpoint) (${RECORDED.endpointRate}{${j}})`, legend: '{{endpoint}}' }],
        },
        {
          title: 'p95 latency by endpoint',
          kind: 'timeseries',
          unit: 's',
          source: a.job,
          queries: [{ expr: `max by (endpoint) (${RECORDED.endpointP95}{${j}})`, legend: '{{endpoint}}' }],
        },
        {
          title: 'Error ratio',
          kind: 'timeseries',
          unit: 'percentunit',
          source: a.job,
          queries: [{ expr: `max(${RECORDED.errorRatio}{${j}})`, legend: 'error ratio' }],
        },
        {
          title: 'Requests/s by replica',
          kind: 'timeseries',
          unit: 'reqps',
          source: a.job,
          queries: [{ expr: `sum by (instance) (rate(app_requests_total{${j}}[5m]))`, legend: '{{instance}}' }],
        },
      ],
    });
  }

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

  // Databases and cache.
  if (p.postgres.length) {
    const job = jobOf(p.postgres[0]!);
    const j = `job=~${promqlString(promqlRegex(p.postgres.map(jobOf)))}`;
    out.push({
      slug: 'postgres',
      title: `${plan.name} / PostgreSQL`,
      tags: ['wharf', 'database'],
      panels: [
        { title: 'Up', kind: 'stat', unit: 'short', source: job, width: 6, queries: [{ expr: `min(pg_up{${j}})` }] },
        {
          title: 'Connections used',
          kind: 'stat',
          unit: 'percentunit',
          source: job,
          width: 6,
          queries: [{ expr: `sum(pg_stat_activity_count{${j}}) / max(pg_settings_max_connections{${j}})` }],
        },
        {
          title: 'Connections by state',
          kind: 'timeseries',
          unit: 'short',
          source: job,
          queries: [{ expr: `sum by (state) (pg_stat_activity_count{${j}})`, legend: '{{state}}' }],
        },
        {
          title: 'Transactions/s',
          kind: 'timeseries',
          unit: 'ops',
          source: job,
          queries: [
            {
              expr: `sum by (datname) (rate(pg_stat_database_xact_commit{${j}}[5m]) + rate(pg_stat_database_xact_rollback{${j}}[5m]))`,
              legend: '{{datname}}',
            },
          ],
        },
        {
          title: 'Buffer cache hit ratio',
          kind: 'timeseries',
          unit: 'percentunit',
          source: job,
          max: 1,
          queries: [
            {
              expr: `sum by (datname) (rate(pg_stat_database_blks_hit{${j}}[5m])) / (sum by (datname) (rate(pg_stat_database_blks_hit{${j}}[5m])) + sum by (datname) (rate(pg_stat_database_blks_read{${j}}[5m])) > 0)`,
              legend: '{{datname}}',
            },
          ],
        },
        {
          title: 'Database size',
          kind: 'timeseries',
          unit: 'bytes',
          source: job,
          queries: [{ expr: `sum by (datname) (pg_database_size_bytes{${j}})`, legend: '{{datname}}' }],
        },
      ],
    });
  }
  if (p.mysql.length) {
    const job = jobOf(p.mysql[0]!);
    const j = `job=~${promqlString(promqlRegex(p.mysql.map(jobOf)))}`;
    out.push({
      slug: 'mysql',
      title: `${plan.name} / MySQL`,
      tags: ['wharf', 'database'],
      panels: [
        { title: 'Up', kind: 'stat', unit: 'short', source: job, width: 6, queries: [{ expr: `min(mysql_up{${j}})` }] },
        {
          title: 'Connections used',
          kind: 'stat',
          unit: 'percentunit',
          source: job,
          width: 6,
          queries: [{ expr: `sum(mysql_global_status_threads_connected{${j}}) / max(mysql_global_variables_max_connections{${j}})` }],
        },
        {
          title: 'Queries/s',
          kind: 'timeseries',
          unit: 'ops',
          source: job,
          queries: [{ expr: `sum by (instance) (rate(mysql_global_status_queries{${j}}[5m]))`, legend: '{{instance}}' }],
        },
        {
          title: 'Threads',
          kind: 'timeseries',
          unit: 'short',
          source: job,
          queries: [
            { expr: `sum(mysql_global_status_threads_connected{${j}})`, legend: 'connected' },
            { expr: `sum(mysql_global_status_threads_running{${j}})`, legend: 'running' },
          ],
        },
        {
          title: 'Slow queries/s',
          kind: 'timeseries',
          unit: 'ops',
          source: job,
          queries: [{ expr: `sum(rate(mysql_global_status_slow_queries{${j}}[5m]))`, legend: 'slow' }],
        },
        // mysqld_exporter exports pages by state and skips the total ("old" is part of "data").
        {
          title: 'InnoDB buffer pool used',
          kind: 'timeseries',
          unit: 'percentunit',
          source: job,
          max: 1,
          queries: [
            {
              expr: `1 - sum(mysql_global_status_buffer_pool_pages{${j},state="free"}) / sum(mysql_global_status_buffer_pool_pages{${j},state=~"data|free|misc"})`,
              legend: 'used',
            },
          ],
        },
      ],
    });
  }
  if (p.redis.length) {
    const job = jobOf(p.redis[0]!);
    const j = `job=~${promqlString(promqlRegex(p.redis.map(jobOf)))}`;
    out.push({
      slug: 'redis',
      title: `${plan.name} / Redis`,
      tags: ['wharf', 'cache'],
      panels: [
        { title: 'Up', kind: 'stat', unit: 'short', source: job, width: 6, queries: [{ expr: `min(redis_up{${j}})` }] },
        {
          title: 'Memory used of maxmemory',
          kind: 'stat',
          unit: 'percentunit',
          source: job,
          width: 6,
          queries: [{ expr: `max(redis_memory_used_bytes{${j}} / (redis_memory_max_bytes{${j}} > 0))` }],
        },
        {
          title: 'Commands/s',
          kind: 'timeseries',
          unit: 'ops',
          source: job,
          queries: [{ expr: `sum by (component) (rate(redis_commands_processed_total{${j}}[5m]))`, legend: '{{component}}' }],
        },
        {
          title: 'Hit ratio',
          kind: 'timeseries',
          unit: 'percentunit',
          source: job,
          max: 1,
          queries: [
            {
              expr: `sum by (component) (rate(redis_keyspace_hits_total{${j}}[5m])) / (sum by (component) (rate(redis_keyspace_hits_total{${j}}[5m])) + sum by (component) (rate(redis_keyspace_misses_total{${j}}[5m])) > 0)`,
              legend: '{{component}}',
            },
          ],
        },
        {
          title: 'Connected clients',
          kind: 'timeseries',
          unit: 'short',
          source: job,
          queries: [{ expr: `sum by (component) (redis_connected_clients{${j}})`, legend: '{{component}}' }],
        },
        {
          title: 'Evicted keys/s',
          kind: 'timeseries',
          unit: 'ops',
          source: job,
          queries: [{ expr: `sum by (component) (rate(redis_evicted_keys_total{${j}}[5m]))`, legend: '{{component}}' }],
        },
      ],
    });
  }

  // Edge proxy.
  const proxyJob = jobs.find((x) => x.component === plan.proxy.component)?.job;
  if (proxyJob) {
    const j = `job=${promqlString(proxyJob)}`;
    const panels: PanelSpec[] =
      p.proxy === 'traefik'
        ? [
            {
              title: 'Requests/s by service',
              kind: 'timeseries',
              unit: 'reqps',
              source: proxyJob,
              queries: [{ expr: `sum by (service) (rate(traefik_service_requests_total{${j}}[5m]))`, legend: '{{service}}' }],
            },
            {
              title: '5xx ratio by service',
              kind: 'timeseries',
              unit: 'percentunit',
              source: proxyJob,
              queries: [
                {
                  expr: `sum by (service) (rate(traefik_service_requests_total{${j},code=~"5.."}[5m])) / (sum by (service) (rate(traefik_service_requests_total{${j}}[5m])) > 0)`,
                  legend: '{{service}}',
                },
              ],
            },
            {
              title: 'p95 latency by service',
              kind: 'timeseries',
              unit: 's',
              source: proxyJob,
              queries: [
                {
                  expr: `histogram_quantile(0.95, sum by (service, le) (rate(traefik_service_request_duration_seconds_bucket{${j}}[5m])))`,
                  legend: '{{service}}',
                },
              ],
            },
            {
              title: 'Healthy servers by service',
              kind: 'timeseries',
              unit: 'short',
              source: proxyJob,
              queries: [{ expr: `sum by (service) (traefik_service_server_up{${j}})`, legend: '{{service}}' }],
            },
            {
              title: 'Open connections by entrypoint',
              kind: 'timeseries',
              unit: 'short',
              source: proxyJob,
              queries: [{ expr: `sum by (entrypoint) (traefik_open_connections{${j}})`, legend: '{{entrypoint}}' }],
            },
            {
              title: 'Days until certificate expiry',
              kind: 'stat',
              unit: 'd',
              source: proxyJob,
              width: 12,
              queries: [{ expr: `min((traefik_tls_certs_not_after{${j}} - time()) / 86400)` }],
            },
          ]
        : [
            {
              title: 'Responses/s by backend',
              kind: 'timeseries',
              unit: 'reqps',
              source: proxyJob,
              queries: [{ expr: `sum by (proxy) (rate(haproxy_backend_http_responses_total{${j}}[5m]))`, legend: '{{proxy}}' }],
            },
            {
              title: '5xx ratio by backend',
              kind: 'timeseries',
              unit: 'percentunit',
              source: proxyJob,
              queries: [
                {
                  expr: `sum by (proxy) (rate(haproxy_backend_http_responses_total{${j},code="5xx"}[5m])) / (sum by (proxy) (rate(haproxy_backend_http_responses_total{${j}}[5m])) > 0)`,
                  legend: '{{proxy}}',
                },
              ],
            },
            {
              title: 'Active servers by backend',
              kind: 'timeseries',
              unit: 'short',
              source: proxyJob,
              queries: [{ expr: `sum by (proxy) (haproxy_backend_active_servers{${j}})`, legend: '{{proxy}}' }],
            },
            {
              title: 'Average response time by backend',
              kind: 'timeseries',
              unit: 's',
              source: proxyJob,
              queries: [{ expr: `max by (proxy) (haproxy_backend_response_time_average_seconds{${j}})`, legend: '{{proxy}}' }],
            },
            {
              title: 'Current sessions by frontend',
              kind: 'timeseries',
              unit: 'short',
              source: proxyJob,
              queries: [{ expr: `sum by (proxy) (haproxy_frontend_current_sessions{${j}})`, legend: '{{proxy}}' }],
            },
          ];
    out.push({
      slug: 'proxy',
      title: `${plan.name} / Edge proxy (${p.proxy === 'traefik' ? 'Traefik' : 'HAProxy'})`,
      tags: ['wharf', 'proxy'],
      panels,
    });
  }

  // Backups (metrics written by the backup runner).
  if (p.backups && plan.backups.length) {
    out.push({
      slug: 'backups',
      title: `${plan.name} / Backups`,
      tags: ['wharf', 'backups'],
      panels: [
        {
          title: 'Time since last successful backup',
          kind: 'timeseries',
          unit: 's',
          source: 'backup',
          queries: [{ expr: `time() - max by (backup) (${BACKUP_LAST_SUCCESS_METRIC})`, legend: '{{backup}}' }],
        },
        {
          title: 'Last run succeeded',
          kind: 'timeseries',
          unit: 'short',
          source: 'backup',
          max: 1,
          queries: [{ expr: `min by (backup) (${BACKUP_LAST_STATUS_METRIC})`, legend: '{{backup}}' }],
        },
      ],
    });
  }
  return out;
}

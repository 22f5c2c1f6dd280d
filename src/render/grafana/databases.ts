// The PostgreSQL, MySQL and Redis dashboards, one per engine over all its instances.
import type { DashboardContext, DashboardSpec } from './types.js';
import { promqlRegex, promqlString } from '../../escape/promql.js';

/** A dashboard per database and cache engine the plan runs. */
export function databaseDashboards(ctx: DashboardContext): DashboardSpec[] {
  const { plan, jobOf } = ctx;
  const p = plan.monitoring.present;
  const out: DashboardSpec[] = [];
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
              expr:
                `sum by (datname) (rate(pg_stat_database_blks_hit{${j}}[5m]))` +
                ` / (sum by (datname) (rate(pg_stat_database_blks_hit{${j}}[5m]))` +
                ` + sum by (datname) (rate(pg_stat_database_blks_read{${j}}[5m])) > 0)`,
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
              expr:
                `1 - sum(mysql_global_status_buffer_pool_pages{${j},state="free"})` +
                ` / sum(mysql_global_status_buffer_pool_pages{${j},state=~"data|free|misc"})`,
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
              expr:
                `sum by (component) (rate(redis_keyspace_hits_total{${j}}[5m]))` +
                ` / (sum by (component) (rate(redis_keyspace_hits_total{${j}}[5m]))` +
                ` + sum by (component) (rate(redis_keyspace_misses_total{${j}}[5m])) > 0)`,
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
  return out;
}

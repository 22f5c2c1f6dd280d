// Databases and caches, through their exporters (`component` is the database itself).
import { promqlRegex, promqlString as str } from '../../../escape/promql.js';
import { LEN, flat, ramp, sel, pct, exporterJob, fmtDuration, type Draft, type RuleContext } from './shared.js';

export function databasesRules({ plan, p, comp }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  for (const [engine, names] of [
    ['postgres', p.postgres],
    ['mysql', p.mysql],
  ] as const) {
    const db = names[0];
    if (!db) continue;
    const lbl = { job: exporterJob(plan, db), instance: `10.0.4.1:${engine === 'postgres' ? 9187 : 9104}`, component: db };
    const Name = engine === 'postgres' ? 'Postgres' : 'Mysql';
    const upMetric = engine === 'postgres' ? 'pg_up' : 'mysql_up';
    const pretty = engine === 'postgres' ? 'PostgreSQL' : 'MySQL';
    drafts.push({
      alert: `${Name}Down`,
      group: 'databases',
      severity: 'critical',
      for: '1m',
      component: comp,
      down: true,
      // The exporter itself unreachable says nothing about the database, but nothing watches it
      // then: TargetDown ignores jobs whose every target is down, so this alert covers it.
      expr: () => `${upMetric} == 0 or up{job=~${str(promqlRegex(names.map((n) => exporterJob(plan, n))))}} == 0`,
      summary: `${pretty} {{ $labels.component }} is down`,
      description: (_t, f) =>
        `${pretty} {{ $labels.component }} has not answered its exporter, or the exporter has not answered Prometheus, for ${f}.`,
      runbook:
        'Check the database container (`docker compose logs <db>`), its volume and disk space, ' +
        'and its exporter (`docker compose logs <db>-exporter`); services using it answer 5xx until it is back.',
      fixture: {
        firing: [
          { series: sel(upMetric, lbl), values: flat(0) },
          { series: sel('up', lbl), values: flat(1) },
        ],
        quiet: [
          { series: sel(upMetric, lbl), values: flat(1) },
          { series: sel('up', lbl), values: flat(1) },
        ],
        labels: lbl,
        alsoFires: [{ name: 'exporter unreachable', firing: [{ series: sel('up', lbl), values: flat(0) }], labels: lbl }],
      },
    });
    if (engine === 'postgres') {
      const by = 'job, instance, component';
      drafts.push({
        alert: 'PostgresTooManyConnections',
        group: 'databases',
        severity: 'warning',
        for: '5m',
        component: comp,
        down: false,
        threshold: 0.8,
        thresholdUnit: 'ratio of usable connections',
        expr: (t) =>
          `sum by (${by}) (pg_stat_activity_count) / max by (${by}) (pg_settings_max_connections - pg_settings_superuser_reserved_connections) > ${t}`,
        summary: 'PostgreSQL {{ $labels.component }} is running out of connections',
        description: (t, f) =>
          `More than ${pct(t)} of the connections {{ $labels.component }} accepts (max_connections minus the superuser reserve) have been in use for ${f}.`,
        runbook:
          'Look for connection leaks or too many replicas times pool size; raise `maxConnections` of the database in wharf.yaml if the load is real.',
        fixture: {
          firing: [
            { series: sel('pg_stat_activity_count', { ...lbl, datname: 'app', state: 'active' }), values: flat(90) },
            { series: sel('pg_settings_max_connections', lbl), values: flat(100) },
            { series: sel('pg_settings_superuser_reserved_connections', lbl), values: flat(3) },
          ],
          quiet: [
            { series: sel('pg_stat_activity_count', { ...lbl, datname: 'app', state: 'active' }), values: flat(10) },
            { series: sel('pg_settings_max_connections', lbl), values: flat(100) },
            { series: sel('pg_settings_superuser_reserved_connections', lbl), values: flat(3) },
          ],
          labels: lbl,
        },
      });
      const tx = (state: string, v: number) => ({
        series: sel('pg_stat_activity_max_tx_duration', { ...lbl, datname: 'app', state }),
        values: flat(v),
      });
      drafts.push({
        alert: 'PostgresLongTransaction',
        group: 'databases',
        severity: 'warning',
        for: '5m',
        component: comp,
        down: false,
        threshold: 900,
        thresholdUnit: 'seconds',
        // idle in transaction counts most: it holds locks and stops vacuum while doing nothing
        expr: (t) => `max by (${by}, datname, state) (pg_stat_activity_max_tx_duration{state!="idle"}) > ${t}`,
        summary: 'PostgreSQL {{ $labels.component }} has a transaction open for long',
        description: (t, f) =>
          `A transaction in database {{ $labels.datname }} ({{ $labels.state }}) has been open for more than ${fmtDuration(t)}, ` +
          `for ${f}: it holds locks and keeps vacuum from cleaning up. A very long pg_dump shows here too.`,
        runbook:
          '`SELECT pid, state, now() - xact_start, query FROM pg_stat_activity ORDER BY xact_start` finds it; ' +
          '`SELECT pg_terminate_backend(pid)` ends it; fix the code path that leaves transactions open.',
        fixture: {
          firing: [tx('idle in transaction', 1200), tx('active', 2), tx('idle', 0)],
          quiet: [tx('idle in transaction', 3), tx('active', 2), tx('idle', 0)],
          labels: { ...lbl, datname: 'app', state: 'idle in transaction' },
        },
      });
    } else {
      drafts.push({
        alert: 'MysqlTooManyConnections',
        group: 'databases',
        severity: 'warning',
        for: '5m',
        component: comp,
        down: false,
        threshold: 0.8,
        thresholdUnit: 'ratio of max_connections',
        expr: (t) => `max_over_time(mysql_global_status_threads_connected[1m]) / mysql_global_variables_max_connections > ${t}`,
        summary: 'MySQL {{ $labels.component }} is running out of connections',
        description: (t, f) => `More than ${pct(t)} of max_connections of {{ $labels.component }} have been in use for ${f}.`,
        runbook:
          'Look for connection leaks or too many replicas times pool size; raise `maxConnections` of the database in wharf.yaml if the load is real.',
        fixture: {
          firing: [
            { series: sel('mysql_global_status_threads_connected', lbl), values: flat(140) },
            { series: sel('mysql_global_variables_max_connections', lbl), values: flat(151) },
          ],
          quiet: [
            { series: sel('mysql_global_status_threads_connected', lbl), values: flat(10) },
            { series: sel('mysql_global_variables_max_connections', lbl), values: flat(151) },
          ],
          labels: lbl,
        },
      });
    }
  }
  const cache = p.redis[0];
  if (cache) {
    const lbl = { job: exporterJob(plan, cache), instance: '10.0.5.1:9121', component: cache };
    drafts.push({
      alert: 'RedisDown',
      group: 'databases',
      severity: 'critical',
      for: '1m',
      component: comp,
      down: true,
      expr: () => 'redis_up == 0',
      summary: 'Redis {{ $labels.component }} is down',
      description: (_t, f) =>
        `The exporter of {{ $labels.component }} has not been able to reach Redis for ${f}; services fall back to the database.`,
      runbook: 'Check the cache container (`docker compose logs <cache>`); the API keeps answering from the database, slower.',
      fixture: {
        firing: [{ series: sel('redis_up', lbl), values: flat(0) }],
        quiet: [{ series: sel('redis_up', lbl), values: flat(1) }],
        labels: lbl,
      },
    });
    drafts.push({
      alert: 'RedisRejectedConnections',
      group: 'databases',
      severity: 'warning',
      for: '0m',
      component: comp,
      down: false,
      expr: () => 'increase(redis_rejected_connections_total[5m]) > 0',
      summary: 'Redis {{ $labels.component }} refuses connections',
      description: () =>
        '{{ $labels.component }} has refused connections in the last 5 minutes: maxclients is reached, ' +
        'and the services that were refused fall back to the database or fail.',
      runbook:
        '`redis-cli INFO clients` shows connected_clients against maxclients; ' +
        'look for a connection leak (a client per request instead of a pool) in the services using the cache.',
      fixture: {
        firing: [{ series: sel('redis_rejected_connections_total', lbl), values: `0x5 3x${LEN}` }],
        quiet: [{ series: sel('redis_rejected_connections_total', lbl), values: flat(2) }],
        labels: lbl,
        at: '8m',
      },
    });
    drafts.push({
      alert: 'RedisMemoryHigh',
      group: 'databases',
      severity: 'warning',
      for: '10m',
      component: comp,
      down: false,
      threshold: 0.9,
      thresholdUnit: 'ratio of maxmemory',
      // An allkeys-lru cache sits at maxmemory by design: full only matters while it evicts
      // keys that are still read (hit ratio below a half).
      expr: (t) =>
        `redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${t} and rate(redis_evicted_keys_total[5m]) > 0` +
        ' and rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m])) < 0.5',
      summary: 'Redis {{ $labels.component }} is too small for what is read from it',
      description: (t, f) =>
        `{{ $labels.component }} has been above ${pct(t)} of maxmemory, evicting keys, with fewer than half of its reads hitting, for ${f}.`,
      runbook:
        'The cache evicts keys that are still read (allkeys-lru); raise `maxmemory` of the cache in wharf.yaml, or shorten what the services cache.',
      fixture: {
        firing: [
          { series: sel('redis_memory_used_bytes', lbl), values: flat(1.3e8) },
          { series: sel('redis_memory_max_bytes', lbl), values: flat(1.342e8) },
          { series: sel('redis_evicted_keys_total', lbl), values: ramp(0, 100) },
          { series: sel('redis_keyspace_hits_total', lbl), values: ramp(0, 10) },
          { series: sel('redis_keyspace_misses_total', lbl), values: ramp(0, 100) },
        ],
        // full and evicting, but what is read is there: a healthy LRU cache
        quiet: [
          { series: sel('redis_memory_used_bytes', lbl), values: flat(1.3e8) },
          { series: sel('redis_memory_max_bytes', lbl), values: flat(1.342e8) },
          { series: sel('redis_evicted_keys_total', lbl), values: ramp(0, 100) },
          { series: sel('redis_keyspace_hits_total', lbl), values: ramp(0, 100) },
          { series: sel('redis_keyspace_misses_total', lbl), values: ramp(0, 10) },
        ],
        labels: lbl,
      },
    });
  }
  return drafts;
}

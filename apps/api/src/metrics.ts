// Prometheus metrics: prom-client default metrics plus the seed's app_* series (compatible names,
// millisecond-resolving buckets, a status_code label) and cache/database error counters.
import client from 'prom-client';

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface Metrics {
  registry: client.Registry;
  requests: client.Counter<'endpoint' | 'method' | 'status_code'>;
  latency: client.Histogram<'endpoint' | 'method'>;
  cacheErrors: client.Counter<'operation'>;
  cacheLookups: client.Counter<'endpoint' | 'result'>;
  dbErrors: client.Counter<'endpoint'>;
  /** Record one finished request; label children are cached so the hot path allocates little. */
  observe(endpoint: string, method: string, status: number, seconds: number): void;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({
    name: 'app_requests_total',
    help: 'Total HTTP requests by route pattern, method and status code',
    labelNames: ['endpoint', 'method', 'status_code'] as const,
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'app_request_latency_seconds',
    help: 'HTTP request latency in seconds by route pattern and method',
    labelNames: ['endpoint', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const cacheErrors = new client.Counter({
    name: 'app_cache_errors_total',
    help: 'Redis operations that failed or timed out (requests were served from the database)',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const cacheLookups = new client.Counter({
    name: 'app_cache_lookups_total',
    help: 'Cache lookups by endpoint and result (hit, miss, error)',
    labelNames: ['endpoint', 'result'] as const,
    registers: [registry],
  });
  const dbErrors = new client.Counter({
    name: 'app_db_errors_total',
    help: 'Requests that failed because the database was unavailable or timed out',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  // Pre-create the error series so they read 0 before the first error.
  for (const op of ['get', 'set', 'del']) cacheErrors.labels(op).inc(0);

  const reqChildren = new Map<string, { inc(): void }>();
  const latChildren = new Map<string, { observe(v: number): void }>();

  return {
    registry,
    requests,
    latency,
    cacheErrors,
    cacheLookups,
    dbErrors,
    observe(endpoint, method, status, seconds) {
      const lk = endpoint + ' ' + method;
      let h = latChildren.get(lk);
      if (h === undefined) {
        h = latency.labels(endpoint, method);
        latChildren.set(lk, h);
      }
      h.observe(seconds);
      const rk = lk + ' ' + status;
      let c = reqChildren.get(rk);
      if (c === undefined) {
        c = requests.labels(endpoint, method, String(status));
        reqChildren.set(rk, c);
      }
      c.inc();
    },
  };
}

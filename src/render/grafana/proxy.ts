// The edge proxy dashboard: Traefik's or HAProxy's own metrics.
import type { DashboardContext, DashboardSpec, PanelSpec } from './types.js';
import { promqlString } from '../../escape/promql.js';

/** The edge proxy, when it is scraped. */
export function proxyDashboards(ctx: DashboardContext): DashboardSpec[] {
  const { plan, jobs } = ctx;
  const p = plan.monitoring.present;
  const out: DashboardSpec[] = [];
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
                  expr:
                    `sum by (service) (rate(traefik_service_requests_total{${j},code=~"5.."}[5m]))` +
                    ` / (sum by (service) (rate(traefik_service_requests_total{${j}}[5m])) > 0)`,
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
                  expr:
                    `sum by (proxy) (rate(haproxy_backend_http_responses_total{${j},code="5xx"}[5m]))` +
                    ` / (sum by (proxy) (rate(haproxy_backend_http_responses_total{${j}}[5m])) > 0)`,
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
  return out;
}

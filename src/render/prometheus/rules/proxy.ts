// Edge proxy: Traefik or HAProxy.
import { promTemplateText } from '../../../escape/promql.js';
import { flat, ramp, sel, pct, type Draft, type RuleContext } from './shared.js';

export function proxyRules({ plan, p, jobs }: RuleContext): Draft[] {
  const drafts: Draft[] = [];
  const proxyComp = plan.proxy.component;
  const proxyJob = jobs.find((j) => j.component === proxyComp)?.job;
  if (proxyJob) {
    const pl = { job: proxyJob, instance: '10.0.6.1:8082', component: proxyComp };
    if (p.proxy === 'traefik') {
      const up = (v: number) => [
        { series: sel('traefik_service_server_up', { ...pl, service: 'api@file', url: 'http://10.0.1.1:3000' }), values: flat(v) },
        { series: sel('traefik_service_server_up', { ...pl, service: 'api@file', url: 'http://10.0.1.2:3000' }), values: flat(v) },
      ];
      drafts.push({
        alert: 'TraefikBackendDown',
        group: 'proxy',
        severity: 'critical',
        for: '1m',
        component: promTemplateText(proxyComp),
        down: false,
        // max, not count: count ignores the values and never reaches 0.
        expr: () => 'max by (service) (traefik_service_server_up) == 0',
        summary: 'Traefik has no healthy server for {{ $labels.service }}',
        description: (_t, f) =>
          `Every server behind Traefik service {{ $labels.service }} has failed its health check for ${f}; requests get 503.`,
        runbook: 'The replicas are down or failing /health: check the service alerts and `docker compose logs <service>`.',
        fixture: { firing: up(0), quiet: up(1), labels: { service: 'api@file' } },
      });
      const reqs = (c5: string) => [
        {
          series: sel('traefik_service_requests_total', { ...pl, service: 'api@file', code: '200', method: 'GET', protocol: 'http' }),
          values: ramp(0, 60),
        },
        {
          series: sel('traefik_service_requests_total', { ...pl, service: 'api@file', code: '502', method: 'GET', protocol: 'http' }),
          values: c5,
        },
      ];
      drafts.push({
        alert: 'TraefikHighErrorRatio',
        group: 'proxy',
        severity: 'warning',
        for: '5m',
        component: promTemplateText(proxyComp),
        down: false,
        threshold: 0.05,
        thresholdUnit: 'ratio',
        expr: (t) =>
          `sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m])) > ${t}`,
        summary: 'Traefik service {{ $labels.service }} answers with too many 5xx',
        description: (t, f) => `More than ${pct(t)} of the requests Traefik routed to {{ $labels.service }} have ended in a 5xx for ${f}.`,
        runbook: '502/504 mean the backend is unreachable or slow, 500 comes from the service: compare with the service dashboard.',
        fixture: { firing: reqs(ramp(0, 20)), quiet: reqs(flat(0)), labels: { service: 'api@file' } },
      });
      const cert = (v: number) => [
        { series: sel('traefik_tls_certs_not_after', { ...pl, cn: plan.domain, sans: plan.domain, serial: '1' }), values: flat(v) },
      ];
      drafts.push({
        alert: 'CertificateExpiringSoon',
        group: 'proxy',
        severity: 'warning',
        for: '10m',
        component: promTemplateText(proxyComp),
        down: false,
        threshold: 14,
        thresholdUnit: 'days',
        expr: (t) => `(traefik_tls_certs_not_after - time()) / 86400 < ${t}`,
        summary: 'TLS certificate {{ $labels.cn }} expires soon',
        description: (t) => `The certificate for {{ $labels.sans }} served by Traefik expires in less than ${t} days.`,
        runbook:
          'ACME: check the Traefik logs for renewal errors (rate limits, DNS, port 80 reachability). Files: replace tls.cert/tls.key and `wharf up`.',
        fixture: { firing: cert(10 * 86400), quiet: cert(60 * 86400), labels: { ...pl, cn: plan.domain, sans: plan.domain, serial: '1' } },
      });
    } else {
      const st = (v: number) => [
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'web', state: 'UP' }), values: flat(v) },
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'web', state: 'DOWN' }), values: flat(1 - v) },
        { series: sel('haproxy_server_status', { ...pl, proxy: 'web', server: 'web1', state: 'UP' }), values: flat(v) },
        // a backend without servers (a stats listener) is DOWN by nature and must not alert
        { series: sel('haproxy_backend_status', { ...pl, proxy: 'stats', state: 'UP' }), values: flat(0) },
      ];
      drafts.push({
        alert: 'HAProxyBackendDown',
        group: 'proxy',
        severity: 'critical',
        for: '1m',
        component: promTemplateText(proxyComp),
        down: false,
        expr: () => 'max by (proxy) (haproxy_backend_status{state="UP"}) == 0 and on (proxy) count by (proxy) (haproxy_server_status) > 0',
        summary: 'HAProxy backend {{ $labels.proxy }} has no server up',
        description: (_t, f) =>
          `Every server of HAProxy backend {{ $labels.proxy }} has failed its health check for ${f}; requests get 503.`,
        runbook: 'The replicas are down or failing /health: check the service alerts, the stats page, and `docker compose logs <service>`.',
        fixture: { firing: st(0), quiet: st(1), labels: { proxy: 'web' } },
      });
      const resp = (c5: string) => [
        { series: sel('haproxy_backend_http_responses_total', { ...pl, proxy: 'web', code: '2xx' }), values: ramp(0, 60) },
        { series: sel('haproxy_backend_http_responses_total', { ...pl, proxy: 'web', code: '5xx' }), values: c5 },
      ];
      drafts.push({
        alert: 'HAProxyHighErrorRatio',
        group: 'proxy',
        severity: 'warning',
        for: '5m',
        component: promTemplateText(proxyComp),
        down: false,
        threshold: 0.05,
        thresholdUnit: 'ratio',
        expr: (t) =>
          `sum by (proxy) (rate(haproxy_backend_http_responses_total{code="5xx"}[5m]))` +
          ` / sum by (proxy) (rate(haproxy_backend_http_responses_total[5m])) > ${t}`,
        summary: 'HAProxy backend {{ $labels.proxy }} answers with too many 5xx',
        description: (t, f) => `More than ${pct(t)} of the responses of backend {{ $labels.proxy }} have been 5xx for ${f}.`,
        runbook: 'Compare with the service dashboard: 503 from HAProxy means no server was available, 500 comes from the service.',
        fixture: { firing: resp(ramp(0, 20)), quiet: resp(flat(0)), labels: { proxy: 'web' } },
      });
    }
  }
  return drafts;
}

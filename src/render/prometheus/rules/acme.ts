// ACME certificates of the HAProxy edge: metrics the client writes as textfiles (src/render/acme/sh/acme.sh).
import { promTemplateText } from '../../../escape/promql.js';
import { flat, sel, type Draft, type RuleContext } from './shared.js';

export const ACME_EXPIRY_METRIC = 'wharf_acme_certificate_expiry_timestamp_seconds';
export const ACME_FAILURES_METRIC = 'wharf_acme_renewal_failures';

export function acmeRules({ plan, p, jobs }: RuleContext): Draft[] {
  const acme = plan.tls.acme;
  if (!acme || !p.nodeExporter) return [];
  const job = jobs.find((j) => j.component === 'node-exporter')?.job ?? 'node-exporter';
  const l = { job, instance: '10.0.2.1:9100', component: 'node-exporter' };
  // Expiry as a timestamp: the fixtures run at t=0, so "in N days" is N*86400.
  const expiry = (days: number) => [{ series: sel(ACME_EXPIRY_METRIC, l), values: flat(days * 86400) }];
  const failures = (n: number) => [{ series: sel(ACME_FAILURES_METRIC, l), values: flat(n) }];
  return [
    {
      alert: 'CertificateExpiringSoon',
      group: 'proxy',
      severity: 'warning',
      for: '10m',
      component: promTemplateText(acme.component),
      down: false,
      threshold: 14,
      thresholdUnit: 'days',
      expr: (t) => `(${ACME_EXPIRY_METRIC} - time()) / 86400 < ${t}`,
      summary: 'The edge certificate expires soon',
      description: (t) =>
        `The ACME certificate the edge serves expires in less than ${t} days: renewals (due 30 days before) have not succeeded.`,
      runbook:
        "`docker compose logs acme` shows lego's error (rate limit, DNS, port 80 not reaching the edge); `wharf doctor` lists the certificate.",
      fixture: { firing: expiry(10), quiet: expiry(60), labels: l },
    },
    {
      alert: 'CertificateRenewalFailing',
      group: 'proxy',
      severity: 'warning',
      for: '0m',
      component: promTemplateText(acme.component),
      down: false,
      threshold: 3,
      thresholdUnit: 'attempts',
      expr: (t) => `${ACME_FAILURES_METRIC} >= ${t}`,
      summary: 'ACME renewal keeps failing',
      description: (t) =>
        `The ACME client has failed ${t} or more times in a row; the edge keeps serving the previous certificate while it retries with backoff.`,
      runbook: '`docker compose logs acme`; fix the cause, then `docker compose exec acme /bin/sh /acme-bin/acme.sh run` retries at once.',
      fixture: { firing: failures(4), quiet: failures(0), labels: l },
    },
  ];
}

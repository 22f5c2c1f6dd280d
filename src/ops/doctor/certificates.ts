// doctor: the ACME certificate the edge serves (asked of each running edge through its runtime
// API) and the client's last attempt (its state files): host names, issuer, expiry, last error.
import { docker } from '../../engine/docker.js';
import { askEdge, parseEdgeCert, runtime } from '../../engine/haproxy-runtime.js';
import type { ContainerState } from '../../engine/live.js';
import type { Runner } from '../../engine/run.js';
import type { Plan } from '../../plan/model.js';
import { acmePaths } from '../../plan/acme.js';
import { check, type Check } from './check.js';

/** Days left under which the certificate is a failure: renewals (due 30 days before) have not worked. */
export const CERT_FAIL_DAYS = 14;
const DAY = 86_400_000;

export async function checkCertificates(plan: Plan, containers: ContainerState[], runner: Runner, now = new Date()): Promise<Check[]> {
  const acme = plan.tls.acme;
  if (!acme) return [];
  const client = containers.find((c) => c.service === acme.component && c.state === 'running');
  const state = client
    ? await runner(
        docker.exec(
          client,
          ['sh', '-c', `cd ${acmePaths.data}/state && cat failures; echo; cat last-attempt; cat last-error`],
          'read the ACME client state',
        ),
        {
          reject: false,
        },
      )
    : undefined;
  const [failuresText = '', lastAttempt = '', lastError = ''] = (state?.stdout ?? '').split('\n');
  const failures = Number(failuresText) || 0;
  const attempt = lastAttempt
    ? `last attempt ${lastAttempt}${failures ? `, ${failures} failed in a row: ${lastError}` : ' ok'}`
    : 'no attempt yet';
  const title = `certificate for ${acme.domains.join(', ')}`;
  const out: Check[] = [];
  for (const edge of containers.filter((c) => c.service === plan.proxy.component && c.state === 'running')) {
    const id = `certificate${edge.node ? `:${edge.node}` : ''}`;
    const res = await askEdge(runner, runtime.showCert(edge, `${acmePaths.certs}/edge.pem`), { deadlineMs: 5000 }).catch(() => undefined);
    const cert = res ? parseEdgeCert(res.stdout) : undefined;
    if (!cert) {
      out.push(
        check({
          id,
          title,
          status: failures ? 'fail' : 'warn',
          cause: 'missing',
          detail: `the edge serves its self-signed certificate: none issued yet (${attempt})`,
          hint: `docker compose logs ${acme.component}; port 80 must reach the edge from the CA`,
        }),
      );
      continue;
    }
    const days = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY);
    const missing = acme.domains.filter((d) => !cert.names.includes(d));
    const detail = `serial ${cert.serial} from ${cert.issuer}, expires ${cert.notAfter.toISOString().slice(0, 10)} (${days} days); ${attempt}`;
    const bad = days < CERT_FAIL_DAYS || failures >= 3;
    out.push(
      check({
        id,
        title,
        status: bad ? 'fail' : missing.length || failures ? 'warn' : 'ok',
        ...(bad || missing.length || failures ? { cause: 'not-healthy' as const } : {}),
        detail: missing.length ? `${detail}; not yet on it: ${missing.join(', ')}` : detail,
        ...(bad || failures
          ? { hint: `docker compose logs ${acme.component}; then docker compose exec ${acme.component} /bin/sh /acme-bin/acme.sh run` }
          : {}),
      }),
    );
  }
  return out;
}

// doctor's certificate check against recorded answers of the edge's runtime API and the client's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingRunner } from '../../engine/run.js';
import type { ContainerState } from '../../engine/live.js';
import { loadVariant } from '../../../test/support/templates.js';
import { checkCertificates } from './certificates.js';

const { plan } = loadVariant({
  template: 'haproxy-mysql',
  change: (d) => {
    d.domain = 'shop.example.com';
    d.tls = { mode: 'acme', email: 'ops@example.com' };
  },
});
const container = (service: string): ContainerState =>
  ({ id: `${service}-1`, name: `${service}-1`, service, state: 'running', health: 'none', networks: [] }) as unknown as ContainerState;
const live = [container('proxy'), container('acme')];
const now = new Date('2026-12-07T12:00:00Z');
const cert = (notAfter: string, names = plan.tls.acme!.domains) =>
  [
    `Filename: /certs/edge.pem`,
    'Serial: 0A1B',
    `notAfter: ${notAfter}`,
    `Subject Alternative Name: ${names.map((n) => `DNS:${n}`).join(', ')}`,
    'Issuer: /CN=R11',
    '',
  ].join('\n');
const answers = (showCert: string, state: string) =>
  recordingRunner((c) => (c.argv.some((a) => a.startsWith('show ssl cert')) ? { stdout: showCert } : { stdout: state }));

test('the certificate the edge serves: names, issuer, expiry and the last attempt', async () => {
  const { runner, calls } = answers(cert('Mar  7 12:00:00 2027 GMT'), '0\n2026-12-07T11:00:00Z\n');
  const [c] = await checkCertificates(plan, live, runner, now);
  assert.equal(c!.status, 'ok');
  assert.equal(c!.title, `certificate for ${plan.tls.acme!.domains.join(', ')}`);
  assert.equal(c!.detail, 'serial 0A1B from R11, expires 2027-03-07 (90 days); last attempt 2026-12-07T11:00:00Z ok');
  assert.ok(calls.some((x) => x.argv.includes('show ssl cert /certs/edge.pem')));
});

test('expiring within 14 days, or 3 failures in a row, fails with the last error', async () => {
  const soon = await checkCertificates(plan, live, answers(cert('Dec 17 12:00:00 2026 GMT'), '0\n2026-12-07T11:00:00Z\n').runner, now);
  assert.equal(soon[0]!.status, 'fail');
  const failing = await checkCertificates(
    plan,
    live,
    answers(cert('Feb  7 12:00:00 2027 GMT'), '3\n2026-12-07T11:00:00Z\nacme: error: 429 rateLimited').runner,
    now,
  );
  assert.equal(failing[0]!.status, 'fail');
  assert.match(failing[0]!.detail, /3 failed in a row: acme: error: 429 rateLimited$/);
});

test('none issued yet: a warning saying the self-signed certificate is served', async () => {
  const [c] = await checkCertificates(
    plan,
    live,
    answers("Can't display the certificate: Not found or the certificate is a bundle!\n", '').runner,
    now,
  );
  assert.equal(c!.status, 'warn');
  assert.equal(c!.cause, 'missing');
  assert.match(c!.detail, /self-signed certificate: none issued yet \(no attempt yet\)/);
});

test('without ACME there is no certificate check', async () => {
  const { plan: plain } = loadVariant({ template: 'haproxy-mysql' });
  assert.deepEqual(await checkCertificates(plain, live, answers('', '').runner, now), []);
});

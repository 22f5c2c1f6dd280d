// The ACME client script (sh/acme.sh) for real, on loopback, no Docker: Debian's Pebble (with
// pebble-challtestsrv answering every name with 127.0.0.1) issues over HTTP-01 answered through a
// real HAProxy whose ACME lines are the rendered ones; the certificate reaches the running HAProxy
// over its runtime API (the rendered mutual-TLS frontend, with the certificate wharf generates);
// a forced renewal under load swaps it with no failed request; with Pebble stopped renewals fail,
// are counted, the previous certificate keeps serving, and the rendered CertificateRenewalFailing
// rule reaches a webhook through real Prometheus and Alertmanager, then resolves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { execa } from 'execa';
import { freePort } from '../../../test/support/servers.js';
import { requireTool, toolPath } from '../../../test/support/tools.js';
import { loadVariant } from '../../../test/support/templates.js';
import { haproxyConfig } from '../haproxy/index.js';
import { ensureSecrets } from '../../secrets/generate.js';
import { renderPrometheus } from '../prometheus/index.js';
import { alertTools, startAlertPipeline } from '../../../test/support/alert-pipeline.js';
import { check as checkHAProxy, skipReason as skipHAProxy } from '../../../test/support/haproxy.js';
import { testServerCert } from '../../../test/support/test-cert.js';

const tools = ['pebble', 'pebble-challtestsrv', 'lego', 'socat', 'haproxy', 'openssl'].map((t) => [t, toolPath(t)] as const);
const missing = tools.filter(([, p]) => !p).map(([t]) => t);
const skip = missing.length ? (requireTool(false, missing.join(', ')) ?? false) : false;
const alertSkip = alertTools.some((t) => !toolPath(t)) ? (requireTool(false, alertTools.join(', ')) ?? false) : false;
const script = join(import.meta.dirname, 'sh', 'acme.sh');
const hosts = ['site.acme.test', 'www.acme.test'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
const procs: ChildProcess[] = [];
let pebble: ChildProcess | undefined;
let ports: Record<'dir' | 'mgmt' | 'dns' | 'cts' | 'http' | 'https' | 'challenge' | 'api' | 'runtime', number>;
let env: Record<string, string> = {};
let root = '';

const acmePlan = () =>
  loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      d.domain = 'acme.test';
      d.tls = { mode: 'acme', email: 'ops@acme.test', ca: { directory: 'https://pebble/dir' } };
    },
  }).plan;

/** The ACME lines of the rendered edge config, on loopback ports (the rest of the rendered file needs Docker's DNS). */
function edgeConfig(): string {
  const rendered = haproxyConfig(acmePlan());
  const line = (re: RegExp) => rendered.match(re)![0].trim();
  // the runtime API for the client, as rendered: mutual TLS in front of the loopback API
  const api = rendered
    .slice(rendered.indexOf('defaults edge_api'))
    .replace(/bind :\d+/, `bind 127.0.0.1:${ports.api}`)
    .replaceAll('/run/secrets/', `${join(dir, 'secrets')}/`)
    .replace(/127\.0\.0\.1:\d+$/m, `127.0.0.1:${ports.runtime}`);
  return `global
    stats socket ipv4@127.0.0.1:${ports.runtime} level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
frontend http
    bind 127.0.0.1:${ports.http}
    ${line(/acl acme_challenge .*/)}
    http-request redirect location https://%[req.hdr(host)] code 301 unless acme_challenge
    ${line(/use_backend be_acme .*/)}
frontend https
    bind 127.0.0.1:${ports.https} ssl crt ${join(dir, 'default.pem')} crt ${join(dir, 'certs')}/
    http-request return status 200 content-type text/plain string ok
backend be_acme
    server acme 127.0.0.1:${ports.challenge}
${api}`;
}

function start(cmd: string, args: string[], extra: Record<string, string> = {}): ChildProcess {
  const p = spawn(cmd, args, { cwd: dir, env: { ...process.env, ...extra }, stdio: 'ignore' });
  procs.push(p);
  return p;
}

function startPebble(): ChildProcess {
  return start('pebble', ['-config', 'pebble.json', '-dnsserver', `127.0.0.1:${ports.dns}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
  });
}

async function client(mode: 'run' | 'renew') {
  const t0 = performance.now();
  const r = await execa('sh', [script, mode], { env, all: true, reject: false });
  return { ...r, ms: Math.round(performance.now() - t0) };
}

function get(host: string): Promise<{ status: number; serial: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: ports.https, servername: host, headers: { host }, ca: root, agent: false, timeout: 3000 },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
      },
    );
    req.on('error', () => resolve({ status: 0, serial: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wharf-acme-live-'));
  mkdirSync(join(dir, 'certs'));
  ports = { dir: 0, mgmt: 0, dns: 0, cts: 0, http: 0, https: 0, challenge: 0, api: 0, runtime: 0 };
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  testServerCert(dir, 'IP:127.0.0.1');
  // the runtime API's certificate as `wharf up` generates it (with the plan's other secrets)
  await ensureSecrets(acmePlan(), join(dir, 'secrets'), dir);
  const o = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  // the self-signed default as the plan makes it with ACME: the domain and its wildcard, not the ACME hosts
  const san = ['-addext', 'subjectAltName=DNS:acme.test,DNS:*.acme.test'];
  o('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=default', ...san, '-keyout', 'default.key', '-out', 'default.crt');
  writeFileSync(join(dir, 'default.pem'), readFileSync(join(dir, 'default.crt'), 'utf8') + readFileSync(join(dir, 'default.key'), 'utf8'));
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${ports.dir}`,
        managementListenAddress: `127.0.0.1:${ports.mgmt}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: ports.http,
        tlsPort: ports.https,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  writeFileSync(join(dir, 'haproxy.cfg'), edgeConfig());
  execFileSync('haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
  // challtestsrv: the DNS Pebble asks; every name is 127.0.0.1, where the edge's HTTP port listens.
  const off = ['-http01', '', '-https01', '', '-tlsalpn01', ''];
  start('pebble-challtestsrv', [
    '-defaultIPv4',
    '127.0.0.1',
    '-defaultIPv6',
    '',
    '-dns01',
    `127.0.0.1:${ports.dns}`,
    ...off,
    '-management',
    `127.0.0.1:${ports.cts}`,
  ]);
  pebble = startPebble();
  start('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]);
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ACME_EMAIL: 'ops@acme.test',
    ACME_DIRECTORY: `https://127.0.0.1:${ports.dir}/dir`,
    ACME_DOMAINS: hosts.join(' '),
    ACME_RENEW_DAYS: '30',
    ACME_HTTP_PORT: String(ports.challenge),
    ACME_DATA: join(dir, 'acme'),
    ACME_CERT_FILE: join(dir, 'certs', 'edge.pem'),
    ACME_EDGES: 'localhost',
    ACME_API_PORT: String(ports.api),
    ACME_API_PEM: join(dir, 'secrets', 'edge-api-pem'),
    ACME_API_CA: join(dir, 'secrets', 'edge-api-cert'),
    EDGE_UID: String(process.getuid?.() ?? 0),
    LEGO_CA_CERTIFICATES: join(dir, 'ca.pem'),
  };
  for (let i = 0; i < 50; i++) {
    const r = await execa('curl', ['-sf', '--cacert', join(dir, 'ca.pem'), env.ACME_DIRECTORY!], { reject: false });
    if (r.exitCode === 0) break;
    await sleep(200);
  }
});

after(() => {
  for (const p of procs) p.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(
  'Pebble issues one certificate naming both hosts over HTTP-01 through the edge; it serves it at once, curl verifies it',
  { skip },
  async (t) => {
    const issued = await client('run');
    assert.equal(issued.exitCode, 0, issued.all);
    t.diagnostic(`issuance for ${hosts.length} names: ${issued.ms} ms`);
    root = (await execa('curl', ['-sf', '--cacert', join(dir, 'ca.pem'), `https://127.0.0.1:${ports.mgmt}/roots/0`])).stdout;
    writeFileSync(join(dir, 'issuing-root.pem'), root);
    for (const h of hosts) {
      const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'issuing-root.pem')];
      const r = await execa('curl', [...args, '--resolve', `${h}:${ports.https}:127.0.0.1`, `https://${h}:${ports.https}/`], {
        reject: false,
      });
      assert.equal(r.stdout, '200', `${h}: ${r.stderr}`);
    }
    assert.doesNotMatch(issued.all ?? '', /BEGIN|PRIVATE KEY/, 'no key material in the output');
    const metrics = readFileSync(join(dir, 'acme', 'metrics', 'wharf_acme.prom'), 'utf8');
    assert.match(metrics, /^wharf_acme_certificate_expiry_timestamp_seconds \d{10}$/m);
    assert.match(metrics, /^wharf_acme_renewal_failures 0$/m);
  },
);

test("the edge's runtime API answers the client's certificate only: not a client without one, nor one with another", { skip }, async () => {
  const ask = (opts: string) =>
    execa('socat', ['-t', '5', '-', `OPENSSL:127.0.0.1:${ports.api},${opts}`], { input: 'show info\n', reject: false, timeout: 15_000 });
  const ok = await ask(`cert=${env.ACME_API_PEM},cafile=${env.ACME_API_CA},commonname=edge-api`);
  assert.match(ok.stdout, /^Name: HAProxy$/m);
  assert.doesNotMatch((await ask('verify=0')).stdout, /HAProxy/);
  // a certificate the edge did not generate (the default one of this test's edge)
  assert.doesNotMatch((await ask(`cert=${join(dir, 'default.pem')},verify=0`)).stdout, /HAProxy/);
});

test('a forced renewal under load swaps the certificate with no failed request', { skip }, async (t) => {
  const before = (await get(hosts[0]!)).serial;
  let stop = false;
  const seen: Array<{ status: number; serial: string }> = [];
  const load = Promise.all(
    [0, 1, 2].map(async (i) => {
      while (!stop) seen.push(await get(hosts[i % 2]!));
    }),
  );
  await sleep(300);
  const renewed = await client('renew');
  await sleep(500);
  stop = true;
  await load;
  assert.equal(renewed.exitCode, 0, renewed.all);
  const now = (await get(hosts[1]!)).serial;
  const failed = seen.filter((x) => x.status !== 200).length;
  t.diagnostic(`renewal ${renewed.ms} ms; serial ${before} -> ${now}; ${seen.length} requests, ${failed} failed`);
  assert.notEqual(now, before);
  assert.equal(failed, 0);
  assert.ok(seen.some((x) => x.serial === before) && seen.some((x) => x.serial === now), 'the load saw both certificates');
  // Nothing due: a check leaves it alone.
  const again = await client('run');
  assert.equal(again.exitCode, 0, again.all);
  assert.equal((await get(hosts[0]!)).serial, now);
});

test(
  'with the CA gone renewals fail and are counted, the edge keeps the previous certificate, CertificateRenewalFailing reaches a webhook and resolves when the CA is back',
  { skip: skip || alertSkip },
  async (t) => {
    // the rendered alert rules (the proxy group holds the certificate alerts), evaluated by a real
    // Prometheus over node-exporter reading the client's textfile, notified by a real Alertmanager
    const rules = renderPrometheus(acmePlan()).find((f) => f.path.endsWith('rules/alerts-proxy.yml'))!;
    mkdirSync(join(dir, 'alerts'));
    writeFileSync(join(dir, 'alerts', 'alerts-proxy.yml'), rules.contents);
    const alerts = await startAlertPipeline(join(dir, 'alerts'), join(dir, 'acme', 'metrics'), [join(dir, 'alerts', 'alerts-proxy.yml')]);
    try {
      const serving = (await get(hosts[0]!)).serial;
      pebble!.kill();
      await new Promise((r) => pebble!.once('exit', r));
      const t0 = performance.now();
      // the rule's threshold: 3 failures in a row (the loop would space them 5, 10, 20 min apart)
      for (let i = 1; i <= 3; i++) {
        const r = await client('renew');
        assert.notEqual(r.exitCode, 0);
        const m = readFileSync(join(dir, 'acme', 'metrics', 'wharf_acme.prom'), 'utf8');
        assert.match(m, new RegExp(`^wharf_acme_renewal_failures ${i}$`, 'm'));
        assert.deepEqual(await get(hosts[0]!), { status: 200, serial: serving });
      }
      const firing = await alerts.until('CertificateRenewalFailing', 'firing', 60_000);
      t.diagnostic(`CertificateRenewalFailing at the webhook ${((performance.now() - t0) / 1000).toFixed(1)} s after the CA went away`);
      assert.equal(firing.alerts[0]!.labels.severity, 'warning');
      // The CA back: the next attempt succeeds, the count resets, the alert resolves.
      pebble = startPebble();
      for (
        let i = 0;
        i < 50 && (await execa('curl', ['-sf', '--cacert', join(dir, 'ca.pem'), env.ACME_DIRECTORY!], { reject: false })).exitCode;
        i++
      ) {
        await sleep(200);
      }
      const t1 = performance.now();
      const back = await client('run');
      assert.equal(back.exitCode, 0, back.all);
      assert.match(readFileSync(join(dir, 'acme', 'metrics', 'wharf_acme.prom'), 'utf8'), /^wharf_acme_renewal_failures 0$/m);
      await alerts.until('CertificateRenewalFailing', 'resolved', 60_000);
      t.diagnostic(`resolved at the webhook ${((performance.now() - t1) / 1000).toFixed(1)} s after the CA came back`);
    } finally {
      await alerts.stop();
    }
  },
);

test('the whole rendered edge config with ACME passes haproxy -c with no warning', { skip: skipHAProxy() }, async () => {
  const { plan } = loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      d.domain = 'shop.example.com';
      d.tls = { mode: 'acme', email: 'ops@example.com' };
    },
  });
  const certs = mkdtempSync(join(tmpdir(), 'wharf-acme-certs-'));
  try {
    // the volumes' mount points, as the container has them
    await ensureSecrets(plan, join(certs, 'secrets'), certs);
    mkdirSync(join(certs, 'certs'));
    const cfg = haproxyConfig(plan)
      .replace(' crt /certs/ ', ` crt ${certs}/certs/ `)
      .replaceAll('/run/secrets/edge-api-', `${certs}/secrets/edge-api-`);
    const r = checkHAProxy(cfg, plan, 'acme-rendered');
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /\[WARNING\]|\[ALERT\]/);
  } finally {
    rmSync(certs, { recursive: true, force: true });
  }
});

// ACME on the HAProxy edge, live: Pebble (Let's Encrypt's test CA, Debian's package, in a
// container on the stack's edge network, its DNS from pebble-challtestsrv pointing every name at
// the edge) issues the stack's certificate over HTTP-01 answered through the edge; curl verifies
// it against Pebble's root; a forced renewal under load swaps it with no failed request and no
// restart of the edge; a reload of the edge keeps serving it (the file on disk is the new one).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { up } from '../../src/ops/up.js';
import { status } from '../../src/ops/status.js';
import { dockerSkipReason } from './support/images.js';
import { nginxImage } from './support/nginx.js';
import { createStack, type E2EStack } from './support/stack.js';
import { testServerCert } from '../support/test-cert.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ACME on the HAProxy edge against Pebble', { skip, timeout: 600_000 }, () => {
  let s: E2EStack;
  const project = `wharf-acme${process.pid % 10000}`;
  const pebble = `${project}-pebble`;
  const hosts = ['site.acme.test', 'www.acme.test'] as const;
  let root = '';
  let pebbleDir = '';

  const container = async (service: string) => (await listContainers(s.ctx.engine, run)).find((c) => c.service === service)!;
  const client = async (...args: string[]) => {
    const t0 = performance.now();
    const r = await execa('docker', ['exec', (await container('acme')).id, '/bin/sh', '/acme-bin/acme.sh', ...args], {
      all: true,
      reject: false,
    });
    return { ...r, ms: Math.round(performance.now() - t0) };
  };
  /** One HTTPS request on a new connection, verified against Pebble's root: status and the served serial. */
  const get = (host: string) =>
    new Promise<{ status: number; serial: string }>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: s.ports.https, servername: host, headers: { host }, ca: root, agent: false, timeout: 3000, path: '/' },
        (res) => {
          const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
        },
      );
      req.on('error', () => resolve({ status: 0, serial: '' }));
      req.on('timeout', () => req.destroy());
      req.end();
    });

  before(async () => {
    // Pebble's own HTTPS certificate (its listener), for the name the stack reaches it by.
    pebbleDir = mkdtempSync(join(tmpdir(), 'wharf-acme-pebble-'));
    testServerCert(pebbleDir, 'DNS:pebble');
    chmodSync(pebbleDir, 0o755);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) chmodSync(join(pebbleDir, f), 0o644);
    writeFileSync(
      join(pebbleDir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: '0.0.0.0:14000',
          managementListenAddress: '0.0.0.0:15000',
          certificate: '/pebble/cert.pem',
          privateKey: '/pebble/key.pem',
          httpPort: 80,
          tlsPort: 443,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    const nginx = await nginxImage();
    const site = {
      image: nginx,
      port: 8080,
      replicas: 1,
      user: 'www-data',
      routes: hosts.map((host) => ({ host })),
      health: { path: '/' },
    };
    s = await createStack({ name: project, domain: 'acme.test', services: { site }, monitoring: { enabled: false } }, project, (spec) => {
      spec.proxy.dashboard = false;
      // The directory and the root it is served with, as a user with a private CA writes them.
      spec.tls = { mode: 'acme', email: 'ops@acme.test', ca: { directory: 'https://pebble:14000/dir', root: join(pebbleDir, 'ca.pem') } };
    });
    const res = await up(s.ctx, { timeoutMs: 180_000 });
    assert.ok(
      res.services.filter((x) => x.service !== 'acme').every((x) => x.state === 'healthy'),
      JSON.stringify(res.services),
    );
    // Pebble on the stack's edge network; its DNS (challtestsrv) answers every name with the edge.
    const proxyIp = (
      await execa('docker', [
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${project}_edge").IPAddress}}`,
        (await container('proxy')).id,
      ])
    ).stdout.trim();
    await execa('docker', ['rm', '-f', pebble], { reject: false });
    await execa('docker', [
      'run',
      '-d',
      '--name',
      pebble,
      '--network',
      `${project}_edge`,
      '--network-alias',
      'pebble',
      '-e',
      'PEBBLE_VA_NOSLEEP=1',
      '-e',
      'PEBBLE_WFE_NONCEREJECT=0',
      '-v',
      `${pebbleDir}:/pebble:ro`,
      '--entrypoint',
      'sh',
      s.images.lego!,
      '-c',
      `pebble-challtestsrv -defaultIPv4 ${proxyIp} -defaultIPv6 '' -dns01 :8053 -http01 '' -https01 '' -tlsalpn01 '' -management :8055 & ` +
        'exec pebble -config /pebble/pebble.json -dnsserver 127.0.0.1:8053',
    ]);
    for (let i = 0; i < 50; i++) {
      const r = await execa('docker', ['exec', pebble, 'curl', '-sf', '--cacert', '/pebble/ca.pem', 'https://pebble:14000/dir'], {
        reject: false,
      });
      if (r.exitCode === 0) break;
      await sleep(200);
    }
  });
  after(async () => {
    if (process.env.WHARF_KEEP) return;
    await execa('docker', ['rm', '-f', pebble], { reject: false });
    await s?.destroy();
    rmSync(pebbleDir, { recursive: true, force: true });
  });

  test('HTTP-01 challenges reach the ACME client through the edge, never an application', async () => {
    const r = await execa(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        `Host: ${hosts[0]}`,
        `http://127.0.0.1:${s.ports.http}/.well-known/acme-challenge/x`,
      ],
      {
        reject: false,
      },
    );
    // lego listens only while it validates: outside that the edge answers 503 itself, never a 301 nor the app's 404
    assert.equal(r.stdout, '503');
  });

  test("Pebble issues one certificate for both routed hosts; curl verifies it against Pebble's root", async (t) => {
    const issued = await client('run');
    assert.equal(issued.exitCode, 0, issued.all);
    t.diagnostic(`issuance (order, HTTP-01 for ${hosts.length} names through the edge, hand-over): ${issued.ms} ms`);
    root = (
      await execa('docker', [
        'exec',
        pebble,
        'curl',
        '-sf',
        '--cacert',
        '/pebble/ca.pem',
        'https://127.0.0.1:15000/roots/0',
        '--resolve',
        '127.0.0.1:15000:127.0.0.1',
        '-k',
      ])
    ).stdout;
    const rootFile = join(s.dir, 'pebble-issuing-root.pem');
    writeFileSync(rootFile, root);
    for (const h of hosts) {
      const r = await execa(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--cacert',
          rootFile,
          '--resolve',
          `${h}:${s.ports.https}:127.0.0.1`,
          `https://${h}:${s.ports.https}/`,
        ],
        {
          reject: false,
        },
      );
      assert.equal(r.stdout, '200', `${h}: ${r.stderr}`);
    }
    assert.doesNotMatch(issued.all ?? '', /BEGIN|PRIVATE/, 'no key material in the client output');
    // wharf status (and doctor, the same check) show what the edge serves
    const st = await status(s.ctx);
    const cert = st.certificates?.[0];
    t.diagnostic(`status: ${cert?.title}: ${cert?.status}, ${cert?.detail}`);
    assert.equal(cert?.status, 'ok', cert?.detail);
    assert.match(cert?.detail ?? '', /from Pebble Intermediate CA/);
  });

  test('a forced renewal under load swaps the certificate with no failed request and no restart of the edge', async (t) => {
    const proxy0 = await container('proxy');
    const before = (await get(hosts[0])).serial;
    let stop = false;
    const seen: Array<{ status: number; serial: string }> = [];
    const load = Promise.all(
      Array.from({ length: 3 }, async (_, i) => {
        while (!stop) seen.push(await get(hosts[i % 2]!));
      }),
    );
    await sleep(500);
    const renewed = await client('renew');
    await sleep(1000);
    stop = true;
    await load;
    assert.equal(renewed.exitCode, 0, renewed.all);
    const after = (await get(hosts[0])).serial;
    const failed = seen.filter((x) => x.status !== 200).length;
    t.diagnostic(`renewal ${renewed.ms} ms; serial ${before} -> ${after}; ${seen.length} requests under load, ${failed} failed`);
    assert.notEqual(after, before);
    assert.equal(failed, 0);
    assert.ok(seen.some((x) => x.serial === before) && seen.some((x) => x.serial === after), 'the load saw both certificates');
    const proxy1 = await container('proxy');
    assert.equal(`${proxy1.id}@${proxy1.startedAt}`, `${proxy0.id}@${proxy0.startedAt}`, 'the edge was not restarted');

    // A reload reads the certificate from disk: it is the renewed one.
    await execa('docker', ['kill', '-s', 'USR2', proxy1.id]);
    await sleep(1500);
    assert.equal((await get(hosts[1])).serial, after);
  });
});

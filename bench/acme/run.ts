// ACME on the HAProxy edge, timed: a Compose stack (one nginx route, HAProxy edge, the lego
// client) and Pebble in a container on its edge network.
//   1. `wharf up` (ops up), then the client's first check with the CA there: seconds until the
//      edge serves a certificate that verifies against Pebble's root.
//   2. HTTPS handshakes per second of the edge, new TCP connection and full handshake each (no
//      session reuse), for the ACME host (lego's ECDSA P-256 key, Pebble's chain) and for a host
//      the self-signed default certificate answers (wharf's P-256 key, no chain), in alternating
//      rounds: rate, latency percentiles, ratio.
// Run: flock /tmp/wharf-docker.lock npx tsx bench/acme/run.ts [seconds per round, default 5]
import { connect } from 'node:tls';
import { execa } from 'execa';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { up } from '../../src/ops/up.js';
import { median, pct } from '../stats.js';
import { nginxImage } from '../../test/e2e/support/nginx.js';
import { createStack } from '../../test/e2e/support/stack.js';
import { pebbleFiles, pebbleOn } from '../../test/e2e/support/pebble.js';

const roundSeconds = Number(process.argv[2] ?? 5);
const project = `acme-bench${process.pid % 10000}`;
const acmeHost = 'site.acme.test';
const selfSignedHost = 'other.acme.test'; // the default certificate names acme.test and *.acme.test
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function handshake(port: number, servername: string, ca?: string): Promise<{ ms: number; authorized: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      resolve({ ms: performance.now() - t0, authorized: s.authorized });
      s.destroy();
    });
    s.on('error', reject);
  });
}

async function round(port: number, servername: string, workers = 4) {
  const lat: number[] = [];
  const end = performance.now() + roundSeconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) lat.push((await handshake(port, servername)).ms);
    }),
  );
  return { rate: lat.length / roundSeconds, lat };
}

const site = { image: await nginxImage(), port: 8080, replicas: 1, user: 'www-data', routes: [{ host: acmeHost }], health: { path: '/' } };
let pebble: Awaited<ReturnType<typeof pebbleOn>> | undefined;
// Pebble joins the edge network once `up` has made it; the spec names it by its alias.
const files = pebbleFiles('pebble');
const s = await createStack({ name: project, domain: 'acme.test', services: { site }, monitoring: { enabled: false } }, project, (spec) => {
  spec.proxy.dashboard = false;
  spec.tls = { mode: 'acme', email: 'ops@acme.test', ca: { directory: 'https://pebble:14000/dir', root: files.root } };
});
try {
  const t0 = performance.now();
  await up(s.ctx, { timeoutMs: 180_000 });
  const upSeconds = (performance.now() - t0) / 1000;
  const containers = await listContainers(s.ctx.engine, run);
  const proxy = containers.find((c) => c.service === 'proxy')!;
  const acme = containers.find((c) => c.service === 'acme')!;
  const edgeNet = `${project}_edge`;
  const proxyIp = (
    await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${edgeNet}").IPAddress}}`, proxy.id])
  ).stdout.trim();
  const tp = performance.now();
  pebble = await pebbleOn(edgeNet, `${project}-pebble`, s.images.lego!, { alias: 'pebble', dir: files.dir });
  await pebble.serve(80, proxyIp);
  const pebbleSeconds = (performance.now() - tp) / 1000;
  const ti = performance.now();
  const r = await execa('docker', ['exec', acme.id, '/bin/sh', '/acme-bin/acme.sh', 'run'], { all: true, reject: false });
  if (r.exitCode !== 0) throw new Error(`issuance failed: ${r.all}`);
  const root = await pebble.issuingRoot();
  while (!(await handshake(s.ports.https, acmeHost, root)).authorized) await sleep(100);
  const issueSeconds = (performance.now() - ti) / 1000;
  console.log(`up ${upSeconds.toFixed(1)} s; Pebble start ${pebbleSeconds.toFixed(1)} s (not counted); first check to a valid`);
  console.log(`certificate served ${issueSeconds.toFixed(1)} s; up -> valid certificate ${(upSeconds + issueSeconds).toFixed(1)} s`);
  const self = await handshake(s.ports.https, selfSignedHost, root);
  if (self.authorized) throw new Error(`${selfSignedHost} got the ACME certificate`);
  const res: Record<'acme' | 'self', { rates: number[]; lat: number[] }> = { acme: { rates: [], lat: [] }, self: { rates: [], lat: [] } };
  await round(s.ports.https, acmeHost); // warm-up
  for (let i = 0; i < 3; i++)
    for (const [k, host] of [
      ['acme', acmeHost],
      ['self', selfSignedHost],
    ] as const) {
      const x = await round(s.ports.https, host);
      res[k].rates.push(x.rate);
      res[k].lat.push(...x.lat);
    }
  const row = (k: 'acme' | 'self') =>
    `${k.padEnd(5)} ${median(res[k].rates).toFixed(0).padStart(6)}/s  p50 ${pct(res[k].lat, 50).toFixed(1)} ms  ` +
    `p90 ${pct(res[k].lat, 90).toFixed(1)} ms  p99 ${pct(res[k].lat, 99).toFixed(1)} ms  (${res[k].lat.length} handshakes)`;
  console.log(`handshakes, 4 clients, 3 rounds of ${roundSeconds} s each, median rate:`);
  console.log(row('acme'));
  console.log(row('self'));
  console.log(`ratio acme/self-signed: ${(median(res.acme.rates) / median(res.self.rates)).toFixed(2)}`);
} finally {
  await pebble?.remove();
  await s.destroy();
}

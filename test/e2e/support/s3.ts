// An S3-compatible server for the S3 backup e2e: moto's server mode in a container the test
// creates (test/e2e/images/moto), joined to the stack's network under the endpoint's name.
// It is reached over HTTPS: HAProxy (the suite's image) in moto's network namespace terminates
// TLS on :5443 with a certificate of a CA the test makes with openssl, so clients verify it
// against that CA. Not moto's own TLS (werkzeug's --ssl): its responses without a length end
// with a TLS close pgBackRest's OpenSSL reads as "unexpected eof", so every PUT was retried
// until pgBackRest gave up (found by the first live run).
// moto accepts any credentials, so the keys are proven from its request recorder: every
// request's SigV4 signature is recomputed here with the secret key from the secret file.
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { execa } from 'execa';
import { repoRoot } from './images.js';
import { testServerCert } from '../../support/test-cert.js';

const MOTO_DIR = join(repoRoot, 'test', 'e2e', 'images', 'moto');
/** the debootstrap base every substitute image starts from (build-base.sh) */
const BASE = 'local/debian:bookworm';

/** Builds the moto image once per content (Dockerfile + base image id): wharf-test/moto:<hash>. */
export async function ensureMotoImage(): Promise<string> {
  const base = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', BASE])).stdout.trim();
  const h = createHash('sha256').update(base);
  for (const f of readdirSync(MOTO_DIR).sort()) h.update(f).update(readFileSync(join(MOTO_DIR, f)));
  const ref = `wharf-test/moto:${h.digest('hex').slice(0, 12)}`;
  if ((await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode === 0) return ref;
  await execa('docker', ['build', '-q', '--build-arg', `BASE=${BASE}`, '--label', 'org.wharf.test.image=moto', '-t', ref, MOTO_DIR], {
    env: { DOCKER_BUILDKIT: '0' },
  });
  return ref;
}

/** the HTTPS port of the S3 server (HAProxy in front of moto's :5000) */
export const TLS_PORT = 5443;

/** A CA and a server certificate it signed for HOST (and 127.0.0.1, the test's own look-ups). */
export interface S3Tls {
  dir: string;
  /** PEM of the CA: what clients are given (caSecret) */
  ca: string;
  remove(): void;
}

export async function makeS3Tls(host: string): Promise<S3Tls> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-s3-tls-'));
  testServerCert(dir, `DNS:${host},IP:127.0.0.1`);
  // HAProxy reads certificate and key from one file, as its own user
  writeFileSync(join(dir, 'server.pem'), readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      '  log stderr format raw local0 warning',
      'defaults',
      '  mode http',
      '  log global',
      '  timeout connect 5s',
      '  timeout client 120s',
      '  timeout server 120s',
      'frontend s3',
      `  bind :${TLS_PORT} ssl crt /tls/server.pem`,
      '  default_backend moto',
      'backend moto',
      '  server moto 127.0.0.1:5000',
      '',
    ].join('\n'),
  );
  chmodSync(dir, 0o755);
  for (const f of ['server.pem', 'haproxy.cfg']) chmodSync(join(dir, f), 0o644);
  return { dir, ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface S3Server {
  container: string;
  /** https://127.0.0.1:PORT, published on loopback for the test's own look at the bucket */
  url: string;
  /** GET on the loopback URL, body as text */
  get(path: string): Promise<{ status: number; body: string }>;
  /** moto's recorder: every request since start-recording but the test's own look-ups */
  recording(): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export async function startS3(image: string, haproxyImage: string, network: string, alias: string, tls: S3Tls): Promise<S3Server> {
  const container = `wharf-s3-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // its own network carries the loopback port, so the test can take it off the stack's
  // network (an unreachable destination) and still look at the bucket
  const own = `${container}-net`;
  await execa('docker', ['network', 'create', own]);
  await execa('docker', ['run', '-d', '--name', container, '--network', own, '-p', `127.0.0.1::${TLS_PORT}`, image]);
  await execa('docker', [
    'run',
    '-d',
    '--name',
    `${container}-tls`,
    '--network',
    `container:${container}`,
    '-v',
    `${tls.dir}:/tls:ro`,
    haproxyImage,
    'haproxy',
    '-f',
    '/tls/haproxy.cfg',
  ]);
  await execa('docker', ['network', 'connect', '--alias', alias, network, container]);
  // read each time: a network disconnect/connect can move the published port
  const base = async () =>
    `https://127.0.0.1:${(await execa('docker', ['port', container, `${TLS_PORT}/tcp`])).stdout.split('\n')[0]!.split(':').pop()}`;
  const url = await base();
  const get = async (path: string, method = 'GET') => httpText(`${await base()}${path}`, method, tls.ca);
  for (let i = 0; ; i++) {
    const ok = await get('/moto-api/').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (i > 120)
      throw new Error(
        `moto in ${container} did not answer over TLS: ${(await execa('docker', ['logs', container], { reject: false })).stderr.slice(-1500)}` +
          ` ${(await execa('docker', ['logs', `${container}-tls`], { reject: false })).stderr.slice(-1500)}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
  const started = await get('/moto-api/recorder/start-recording', 'POST');
  if (started.status !== 200) throw new Error(`moto recorder: ${started.status} ${started.body.slice(0, 300)}`);
  return {
    container,
    url,
    get,
    async recording() {
      const r = await get('/moto-api/recorder/download-recording');
      if (r.status !== 200) throw new Error(`moto recording: ${r.status} ${r.body.slice(0, 300)}`);
      return r.body
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => jsonObjects(l) as RecordedRequest[])
        .filter((q) => !Object.keys(q.headers).some((h) => h.toLowerCase() === TEST_HEADER));
    },
    async stop() {
      await execa('docker', ['rm', '-f', '-v', `${container}-tls`, container], { reject: false });
      await execa('docker', ['network', 'rm', own], { reject: false });
    },
  };
}

/**
 * The objects of one recorder line: moto writes an entry and its newline in two calls, so two
 * threads (pgBackRest and restic at once) can leave `{…}{…}` on one line.
 */
function jsonObjects(line: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      out.push(JSON.parse(line.slice(start, i + 1)));
      start = i + 1;
    }
  }
  return out;
}

/** marks the test's own unsigned look-ups, so the recording can tell them from restic's */
export const TEST_HEADER = 'x-wharf-test';

/** node:https, not fetch: a fetch to a port docker-proxy accepts before the server listens can
 *  stay pending with nothing keeping the event loop alive. Verified against the test's CA. */
function httpText(url: string, method: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, timeout: 10_000, headers: { [TEST_HEADER]: '1' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

/**
 * Whether a recorded request carries a valid AWS SigV4 signature (header form) made with this
 * key pair. The payload hash is the signed x-amz-content-sha256 header (minio-go always sends
 * it), so the body itself is not needed. Returns the reason when it does not.
 */
export function sigV4Problem(req: RecordedRequest, accessKey: string, secretKey: string): string | undefined {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const auth = headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return `not a SigV4 header: ${auth.slice(0, 40)}`;
  const [, key, day, region, service, signed, signature] = m as unknown as [string, string, string, string, string, string, string];
  if (key !== accessKey) return `signed with access key ${key}`;
  const u = new URL(req.url);
  const path = u.pathname
    .split('/')
    .map((seg) => rfc3986(decodeURIComponent(seg)))
    .join('/');
  const query = [...u.searchParams]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signed.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, path, query, canonicalHeaders, signed, headers['x-amz-content-sha256'] ?? ''].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', headers['x-amz-date'] ?? '', scope, sha256(canonical)].join('\n');
  const k = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), region), service), 'aws4_request');
  return hmac(k, toSign).toString('hex') === signature ? undefined : `signature does not match for ${req.method} ${u.pathname}${u.search}`;
}

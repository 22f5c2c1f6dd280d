// ACME on the HAProxy edge: one small client component (lego, a packaged and well-kept client)
// that obtains ONE certificate per stack naming every routed host (SANs), answers HTTP-01
// through the edge and hands the certificate to the running HAProxy. Pure.
//
// Why one SAN certificate: one order, one renewal, one file to swap and one expiry to watch;
// a stack routes a handful of hosts, far below the CA's 100 names per certificate, and the
// hosts come and go together with the spec. A new route changes the names: the client sees
// the list differ from the one it last obtained and orders a new certificate at once.
//
// How the certificate reaches HAProxy without a restart: the edge loads its default
// (self-signed) certificate and every file of the `edge-certs` volume (`crt /certs/`, empty at
// first). The client writes `edge.pem` there (so reloads and restarts read it) and sends it
// over HAProxy's runtime API (`new ssl cert` + `add ssl crt-list` the first time, `set ssl
// cert` + `commit ssl cert` after): existing connections keep theirs, new handshakes get the
// new one. The API is a UNIX socket in the `edge-api` volume, which only the edge and the
// client mount; it sits in the edge image's working directory (/var/lib/haproxy, owned by the
// haproxy user), whose ownership Docker copies into the fresh volume.
import type { Stack } from '../spec/schema.js';
import type { BackupJob, Component, Secret, Volume } from './model.js';
import { byCodeUnit } from './sort.js';
import { pickImage } from './images.js';
import { componentDefaults } from './build/common.js';
import { Duration, Size } from '../spec/units.js';
import { acmeCa, unprovableHost } from '../spec/acme.js';

export const ACME_COMPONENT = 'acme';
export const ACME_DATA_VOLUME = 'acme-data';
export const ACME_CERTS_VOLUME = 'edge-certs';
export const ACME_API_VOLUME = 'edge-api';
export const ACME_ROOT_SECRET = 'acme-ca-root';
export const ACME_METRICS_VOLUME = 'acme-metrics';

export const acmePaths = {
  /** lego's account key, keys and certificates: only the client mounts it */
  data: '/acme',
  /** the certificates HAProxy loads (`crt /certs/`): same path in both containers */
  certs: '/certs',
  /** the file HAProxy knows the issued certificate by */
  certFile: '/certs/edge.pem',
  /** the runtime API socket, as the edge sees it (its working directory) and as the client does */
  edgeApiDir: '/var/lib/haproxy',
  clientApiDir: '/run/edge-api',
  socketName: 'api.sock',
  /** the client's scripts (the acme-scripts bundle) */
  bin: '/acme-bin',
} as const;

/** lego answers HTTP-01 here while it validates; the edge routes /.well-known/acme-challenge/ to it. */
export const ACME_CHALLENGE_PORT = 8402;
/** The user the edge image runs HAProxy as (the official image's haproxy user): the client gives it the files. */
export const EDGE_UID = 99;

/** The names on the certificate: every host HTTP-01 can prove, sorted, the domain's wildcard left out. */
export function acmeDomains(hosts: string[], publicCa: boolean): string[] {
  return [...new Set(hosts.filter((h) => !unprovableHost(h, publicCa)))].sort();
}

/** The ACME directory's root certificate (Pebble, a company CA), when the spec names one. */
export function addAcmeRoot(ca: { root?: string }, addSecret: (s: Secret) => void): void {
  if (ca.root)
    addSecret({
      name: ACME_ROOT_SECRET,
      purpose: 'root certificate of the ACME directory',
      source: { kind: 'file', path: ca.root, specPath: 'tls.ca.root' },
    });
}

export function planAcmeClient(stack: Stack, domains: string[], addSecret: (s: Secret) => void, volumes: Volume[]): Component {
  if (stack.tls.mode !== 'acme') throw new Error('bug: planAcmeClient without tls.mode acme');
  const ca = acmeCa(stack.tls);
  addAcmeRoot(ca, addSecret);
  volumes.push(
    { name: ACME_DATA_VOLUME, component: ACME_COMPONENT, purpose: 'ACME account key, private keys and certificates (lego)' },
    { name: ACME_CERTS_VOLUME, component: ACME_COMPONENT, purpose: 'the issued certificate and key the edge loads' },
    { name: ACME_API_VOLUME, component: ACME_COMPONENT, purpose: "the edge's runtime API socket, for the ACME client only" },
  );
  const override = stack.images.lego;
  const legoVersion = pickImage('lego', {}).split(':')[1]!;
  const env: Record<string, string> = {
    ACME_EMAIL: stack.tls.email,
    ACME_DIRECTORY: ca.directory,
    ACME_DOMAINS: domains.join(' '),
    ACME_RENEW_DAYS: String(Math.max(1, Math.round(stack.tls.renewBefore.toSeconds() / 86400))),
    ACME_HTTP_PORT: String(ACME_CHALLENGE_PORT),
    ACME_DATA: acmePaths.data,
    ACME_CERT_FILE: acmePaths.certFile,
    ACME_SOCKET: `${acmePaths.clientApiDir}/${acmePaths.socketName}`,
    EDGE_UID: String(EDGE_UID),
    TZ: 'UTC',
  };
  if (ca.root) env.LEGO_CA_CERTIFICATES = `/run/secrets/${ACME_ROOT_SECRET}`;
  return {
    ...componentDefaults(),
    name: ACME_COMPONENT,
    role: 'acme',
    imageKey: 'lego',
    image: override ?? `${stack.name}/acme:lego-${legoVersion}`,
    // goacme/lego carries lego on Alpine; the build adds socat (the runtime API is a UNIX socket).
    build: override
      ? undefined
      : { context: { bundle: 'acme-scripts' }, dockerfile: 'Dockerfile', args: { LEGO_IMAGE: pickImage('lego', {}) } },
    entrypoint: ['/bin/sh', `${acmePaths.bin}/acme.sh`],
    command: ['loop'],
    env,
    secrets: ca.root ? [{ secret: ACME_ROOT_SECRET, target: `/run/secrets/${ACME_ROOT_SECRET}` }] : [],
    // edge: the CA (outside) and the edge's HTTP-01 requests; nothing else reaches it.
    networks: ['edge'],
    port: ACME_CHALLENGE_PORT,
    mounts: [
      { type: 'config', bundle: 'acme-scripts', target: acmePaths.bin, readOnly: true },
      { type: 'volume', source: ACME_DATA_VOLUME, target: acmePaths.data, readOnly: false },
      { type: 'volume', source: ACME_CERTS_VOLUME, target: acmePaths.certs, readOnly: false },
      { type: 'volume', source: ACME_API_VOLUME, target: acmePaths.clientApiDir, readOnly: false },
    ],
    // The socket dir must first be mounted by the edge, which gives the volume its owner.
    dependsOn: [{ name: 'proxy', on: 'started' }],
    healthWaiver: 'the renewal loop is the container process; certificate health is the acme metrics and their alerts',
    resources: { cpus: 0.25, memory: Size.parse('64M') },
    init: true,
    // CHOWN: the certificate goes to the edge's user, readable by it alone.
    hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: true, addCaps: ['CHOWN', 'FOWNER'] },
    stopGracePeriod: Duration.parse('10s'),
  };
}

/** The client's metrics join the stack's textfiles (the backup's volume when there is one, else
 *  its own), which node-exporter publishes: one textfile directory per stack. */
export function publishAcmeMetrics(
  client: Component,
  textfiles: { volume: string; writer: string } | undefined,
  volumes: Volume[],
): { volume: string; writer: string } {
  const t = textfiles ?? { volume: ACME_METRICS_VOLUME, writer: client.name };
  if (!textfiles)
    volumes.push({ name: ACME_METRICS_VOLUME, component: client.name, purpose: 'ACME client metrics (node-exporter textfiles)' });
  client.mounts.push({ type: 'volume', source: t.volume, target: '/metrics', readOnly: false });
  client.env.ACME_METRICS_DIR = '/metrics';
  return t;
}

/** The account key and certificates go with the stack's backups (same destination and schedule
 *  as its first job): a restored server keeps its account and serves at once. None without backups. */
export function acmeBackupJob(jobs: BackupJob[]): BackupJob | undefined {
  const first = [...jobs].sort((a, b) => byCodeUnit(a.name, b.name))[0];
  return first && { ...first, name: ACME_DATA_VOLUME, target: ACME_COMPONENT, kind: 'volume', retention: { ...first.retention } };
}

// ACME on the HAProxy edge: one small client component (lego, a packaged and well-kept client)
// that obtains ONE certificate per stack naming every routed host (SANs), answers HTTP-01
// through the edge and hands the certificate to every running edge replica. Pure.
//
// Why one SAN certificate: one order, one renewal, one file to swap and one expiry to watch;
// a stack routes a handful of hosts, far below the CA's 100 names per certificate, and the
// hosts come and go together with the spec. A new route changes the names: the client sees
// the list differ from the one it last obtained and orders a new certificate at once.
//
// One client, every edge, on one host and on a swarm alike: HTTP-01 may reach any edge replica
// (any node), which forwards /.well-known/acme-challenge/ to the single client by DNS over the
// edge network. The client then sends the certificate to each edge replica the edge's DNS name
// resolves to, over HAProxy's runtime API (`new ssl cert` + `add ssl crt-list` the first time,
// `set ssl cert` + `commit ssl cert` after): existing connections keep theirs, new handshakes
// get the new one, no restart. That API is reached on the edge network with mutual TLS: one
// generated certificate that only the edge and the client hold, the only one either trusts
// (nothing else on the network, applications included, can speak to it). Every minute the
// client asks each edge which serial it serves and re-sends to any that differs: an edge task
// restarted or moved to another node gets the certificate back without a renewal.
// The client also writes `edge.pem` into the `edge-certs` volume the edge loads (`crt
// /certs/`), so the edge on the client's node serves it straight after a restart.
import type { Stack } from '../spec/schema.js';
import type { AcmeEdgeApi, BackupJob, Component, Secret, Volume } from './model.js';
import { byCodeUnit } from './sort.js';
import { pickImage } from './images.js';
import { componentDefaults } from './build/common.js';
import { Duration, Size } from '../spec/units.js';
import { acmeCa, unprovableHost } from '../spec/acme.js';

export const ACME_COMPONENT = 'acme';
export const ACME_DATA_VOLUME = 'acme-data';
export const ACME_CERTS_VOLUME = 'edge-certs';
export const ACME_API_CERT = 'edge-api-cert';
export const ACME_API_PEM = 'edge-api-pem';
export const ACME_API_KEY = 'edge-api-key';
export const ACME_ROOT_SECRET = 'acme-ca-root';
export const ACME_METRICS_VOLUME = 'acme-metrics';

export const acmePaths = {
  /** lego's account key, keys and certificates: only the client mounts it */
  data: '/acme',
  /** the certificates HAProxy loads (`crt /certs/`): same path in both containers */
  certs: '/certs',
  /** the file HAProxy knows the issued certificate by */
  certFile: '/certs/edge.pem',
  /** the client's scripts (the acme-scripts bundle) */
  bin: '/acme-bin',
} as const;

/** lego answers HTTP-01 here while it validates; the edge routes /.well-known/acme-challenge/ to it. */
export const ACME_CHALLENGE_PORT = 8402;
/** The edge's runtime API for the ACME client (mutual TLS, edge network). */
export const ACME_API_PORT = 8403;
/** The user the edge image runs HAProxy as (the official image's haproxy user): the client gives it the files. */
export const EDGE_UID = 99;

/** The names on the certificate: every host HTTP-01 can prove, sorted, the domain's wildcard left out. */
export function acmeDomains(hosts: string[], publicCa: boolean): string[] {
  return [...new Set(hosts.filter((h) => !unprovableHost(h, publicCa)))].sort();
}

/** The certificate the client and every edge replica authenticate each other with (mutual TLS). */
export function addAcmeApiSecrets(addSecret: (s: Secret) => void): { port: number; pemSecret: string; certSecret: string } {
  addSecret({ name: ACME_API_KEY, purpose: "key of the edge's runtime API for the ACME client", source: { kind: 'tls-key' } });
  addSecret({
    name: ACME_API_CERT,
    purpose: "certificate of the edge's runtime API and of the ACME client (mutual TLS)",
    source: { kind: 'tls-cert', hosts: ['edge-api'], key: ACME_API_KEY, clientAuth: true },
  });
  addSecret({
    name: ACME_API_PEM,
    purpose: 'the same certificate with its key',
    source: { kind: 'tls-pem', cert: ACME_API_CERT, key: ACME_API_KEY },
  });
  return { port: ACME_API_PORT, pemSecret: ACME_API_PEM, certSecret: ACME_API_CERT };
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

export function planAcmeClient(
  stack: Stack,
  acme: { domains: string[]; api: AcmeEdgeApi },
  edge: string,
  addSecret: (s: Secret) => void,
  volumes: Volume[],
): Component {
  if (stack.tls.mode !== 'acme') throw new Error('bug: planAcmeClient without tls.mode acme');
  const ca = acmeCa(stack.tls);
  addAcmeRoot(ca, addSecret);
  volumes.push(
    { name: ACME_DATA_VOLUME, component: ACME_COMPONENT, purpose: 'ACME account key, private keys and certificates (lego)' },
    { name: ACME_CERTS_VOLUME, component: ACME_COMPONENT, purpose: 'the issued certificate and key the edge loads' },
  );
  const override = stack.images.lego;
  const legoVersion = pickImage('lego', {}).split(':')[1]!;
  const env: Record<string, string> = {
    ACME_EMAIL: stack.tls.email,
    ACME_DIRECTORY: ca.directory,
    ACME_DOMAINS: acme.domains.join(' '),
    ACME_RENEW_DAYS: String(Math.max(1, Math.round(stack.tls.renewBefore.toSeconds() / 86400))),
    ACME_HTTP_PORT: String(ACME_CHALLENGE_PORT),
    ACME_DATA: acmePaths.data,
    ACME_CERT_FILE: acmePaths.certFile,
    // Every edge replica: the edge's DNS name answers one address per replica (Compose, and Swarm's dnsrr).
    ACME_EDGES: edge,
    ACME_API_PORT: String(acme.api.port),
    ACME_API_PEM: `/run/secrets/${acme.api.pemSecret}`,
    ACME_API_CA: `/run/secrets/${acme.api.certSecret}`,
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
    // goacme/lego carries lego on Alpine; the build adds socat (the edges' runtime API, over TLS).
    build: override
      ? undefined
      : { context: { bundle: 'acme-scripts' }, dockerfile: 'Dockerfile', args: { LEGO_IMAGE: pickImage('lego', {}) } },
    entrypoint: ['/bin/sh', `${acmePaths.bin}/acme.sh`],
    command: ['loop'],
    env,
    secrets: [...(ca.root ? [ACME_ROOT_SECRET] : []), acme.api.certSecret, acme.api.pemSecret].map((s) => ({
      secret: s,
      target: `/run/secrets/${s}`,
    })),
    // edge: the CA (outside), the edge's HTTP-01 requests and the edges' runtime API.
    networks: ['edge'],
    port: ACME_CHALLENGE_PORT,
    mounts: [
      { type: 'config', bundle: 'acme-scripts', target: acmePaths.bin, readOnly: true },
      { type: 'volume', source: ACME_DATA_VOLUME, target: acmePaths.data, readOnly: false },
      { type: 'volume', source: ACME_CERTS_VOLUME, target: acmePaths.certs, readOnly: false },
    ],
    // The certificate volume must first be mounted by the edge, which gives it its owner.
    dependsOn: [{ name: edge, on: 'started' }],
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

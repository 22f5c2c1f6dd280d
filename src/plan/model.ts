// The normalised platform model. Every decision (networks, secrets, health,
// scraping, routing) is made once while building it; renderers only read it.
// A component and its values live in component.ts; this module holds the rest of the plan.
import type { Duration, Size } from '../spec/units.js';
import type { Component, Engine, NetworkName } from './component.js';

export type {
  Role,
  Engine,
  NetworkName,
  Probe,
  Healthcheck,
  ConfigBundle,
  Mount,
  SecretMount,
  PublishedPort,
  Dependency,
  Hardening,
  Placement,
  Update,
  MetricsEndpoint,
  Component,
  HotReload,
} from './component.js';

export interface Network {
  name: NetworkName;
  /** No route to the outside world: nothing on it can be published or reach the internet. */
  internal: boolean;
  /** traffic between nodes is encrypted (multi-node targets; one host has nothing to encrypt) */
  encrypted: boolean;
  /** multi-node targets with declared cluster.nodes: the overlay MTU that keeps VXLAN inside
   *  wg0 unfragmented (plan/cluster.ts: underlay - 80 - 50, 1370 on a 1500 network) */
  mtu?: number;
  purpose: string;
}

/** HAProxy's limits, sized together so connections alone cannot reach the memory limit (plan/edge.ts). */
export interface EdgeSizing {
  /** global maxconn of one worker */
  maxconn: number;
  /** per frontend; they add up to maxconn */
  frontends: { https: number; http: number; stats: number; metrics: number };
  bufsize: number;
  maxrewrite: number;
  /** buffers one worker may allocate (tune.buffers.limit): HTTP/2 streams multiply buffers per
   *  connection, so the count is capped apart from maxconn; a stream past it waits for one */
  buffers: number;
  /** container memory limit, bytes */
  memoryBytes: number;
  /** what one connection may hold at most: two buffers plus TLS and stream state */
  perConnectionBytes: number;
  /** workers alive at once: the current one plus those a reload left finishing (mworker-max-reloads) */
  workers: number;
  /** seconds an old worker may keep its connections after a reload */
  hardStopAfter: number;
}

export interface Route {
  name: string;
  service: string;
  host: string;
  path: string;
  port: number;
  replicas: number;
  /** paths the edge must refuse on this host (metrics are never public) */
  denyPaths: string[];
  auth: boolean;
  allow?: string[];
  healthPath?: string;
  /** the edge checks that the port accepts connections instead of an HTTP answer */
  healthTcp?: boolean;
  /** internal platform routes (dashboards) */
  internal: boolean;
}

export type SecretSource =
  | { kind: 'random'; length: number }
  /** specPath: where the spec names the file (secrets.<name>.file, tls.cert), for errors */
  | { kind: 'file'; path: string; specPath: string }
  /** Files derived from other secrets, written by the same step that writes those. */
  | { kind: 'htpasswd'; user: string; from: string }
  | { kind: 'haproxy-userlist'; list: string; user: string; from: string }
  | { kind: 'redis-acl'; from: string }
  | { kind: 'redis-exporter-passwords'; address: string; from: string }
  | { kind: 'my-cnf'; user: string; host: string; port: number; from: string }
  /** scheme://user:password@host:port/database?options, the password read from `from` */
  | {
      kind: 'connection-url';
      scheme: 'postgres' | 'mysql' | 'redis';
      user?: string;
      host: string;
      port: number;
      database: string;
      options?: Record<string, string>;
      from: string;
    }
  | { kind: 'tls-key' }
  /** clientAuth: the certificate also authenticates its holder as a client (the edge's runtime API, mutual TLS) */
  | { kind: 'tls-cert'; hosts: string[]; key: string; clientAuth?: boolean }
  | { kind: 'tls-pem'; cert: string; key: string };

export interface Secret {
  name: string;
  source: SecretSource;
  purpose: string;
}

export interface ScrapeJob {
  job: string;
  /** dns: every replica through Docker DNS (A records of the service name) */
  discovery: 'dns' | 'static';
  host: string;
  port: number;
  path: string;
  component: string;
}

export interface Volume {
  name: string;
  component: string;
  purpose: string;
}

export interface Receiver {
  name: string;
  type: 'webhook' | 'email' | 'slack' | 'discord' | 'msteams' | 'telegram' | 'pushover' | 'ntfy' | 'gotify' | 'matrix';
  severities: Array<'critical' | 'warning' | 'info'>;
  url?: string;
  to?: string;
  from?: string;
  smarthost?: string;
  username?: string;
  /** path inside the Alertmanager container of the file holding the secret: a URL with its
   *  credentials (webhook, Slack, Discord, Teams), the SMTP password, a bot or API token */
  secretFile?: string;
  /** Pushover's user key file */
  userKeyFile?: string;
  channel?: string;
  /** Telegram chat */
  chatId?: number;
  /** ntfy, Gotify, Matrix (sent by the notify-relay): the server or topic URL when it is not a secret */
  serverUrl?: string;
  /** Matrix room id */
  room?: string;
  /** file of the access or application token, in the notify-relay container (ntfy: optional) */
  tokenFile?: string;
}

export interface AlertOverride {
  threshold?: number;
  for?: Duration;
  disabled?: boolean;
}

export interface Monitoring {
  enabled: boolean;
  scrapeInterval: Duration;
  evaluationInterval: Duration;
  retention: Duration;
  scrapeJobs: ScrapeJob[];
  receivers: Receiver[];
  groupWait: Duration;
  groupInterval: Duration;
  repeatInterval: Duration;
  /** dead man's switch: the Watchdog alert is sent there every interval, and nowhere else */
  heartbeat?: { url?: string; urlFile?: string; interval: Duration };
  overrides: Record<string, AlertOverride>;
  /** which components exist, so the alert catalogue renders only what applies */
  present: {
    apps: string[];
    postgres: string[];
    mysql: string[];
    redis: string[];
    proxy: Engine;
    nodeExporter: boolean;
    cadvisor: boolean;
    alertmanager: boolean;
    backups: boolean;
  };
  /** Prometheus textfiles another component writes into a volume (the backup's metrics): each
   *  target decides who publishes them (node-exporter on the host, or an exporter beside the volume) */
  textfiles?: { volume: string; writer: string };
}

export interface BackupJob {
  name: string;
  target: string;
  kind: 'postgres' | 'mysql' | 'redis' | 'volume';
  schedule: string;
  retention: { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number };
  destination:
    | { type: 'local'; path: string }
    | {
        type: 's3';
        endpoint: string;
        bucket: string;
        accessKeySecret: string;
        secretKeySecret: string;
        caSecret?: string;
        timeout?: Duration;
      };
  encrypt: boolean;
  verifySchedule: string;
  restoreTest: boolean;
  /** PostgreSQL: WAL archived continuously by a `<target>-pitr` component (plan/pitr.ts) */
  pointInTime?: boolean;
}

/** The edge's runtime API as the ACME client reaches every edge replica: TCP on the edge network, mutual TLS
 *  with one certificate (pem: certificate and key; cert: the same certificate, the only one trusted). */
export interface AcmeEdgeApi {
  port: number;
  pemSecret: string;
  certSecret: string;
}

export interface Tls {
  mode: 'self-signed' | 'acme' | 'files';
  email?: string;
  staging?: boolean;
  /** Traefik with ACME: the directory when it is not Let's Encrypt production (its default) */
  caServer?: string;
  /** secret names holding the edge certificate, key and (HAProxy) combined PEM */
  certSecret?: string;
  keySecret?: string;
  pemSecret?: string;
  hosts: string[];
  /** HAProxy edge with ACME: the client component obtains one certificate naming `domains` (plan/acme.ts);
   *  pemSecret stays the self-signed default served until it has */
  acme?: { component: string; directory: string; domains: string[]; challengePort: number; certDir: string; api: AcmeEdgeApi };
}

export interface Proxy {
  kind: 'traefik' | 'haproxy';
  component: string;
  bind: string;
  httpPort: number;
  httpsPort: number;
  statsPort: number;
  dashboardHost?: string;
  dashboardAllow?: string[];
  /** secret holding the users file for basic auth (htpasswd or HAProxy userlist) */
  authSecret: string;
  authUser: string;
  /** the edge names the replica that served a response when the request asks for it
   *  (HAProxy can; Traefik has no way to put a server in a header) */
  serverHeader?: { request: string; response: string };
  /** HAProxy only: connection limits and buffers sized with the memory limit */
  sizing?: EdgeSizing;
}

/** A Kafka cluster (KRaft) with its topics and users; only the k8s target runs it (Strimzi). */
export interface Messaging {
  cluster: string;
  version: string;
  nodePools: Array<{
    name: string;
    roles: Array<'broker' | 'controller'>;
    replicas: number;
    storage: { size: string; class?: string };
    resources: { cpus: number; memory: Size };
  }>;
  listeners: Array<{ name: string; port: number; tls: boolean; authentication: 'scram-sha-512' | 'tls' }>;
  topics: Array<{ name: string; partitions: number; replicas: number; config: Record<string, string | number | boolean> }>;
  users: Array<{ name: string; read: string[]; write: string[]; authentication: 'scram-sha-512' | 'tls' }>;
  /** the services that connect, each as one user, on the first listener */
  clients: Array<{ service: string; user: string; listener: string; port: number; tls: boolean }>;
}

export interface Plan {
  name: string;
  domain: string;
  tls: Tls;
  proxy: Proxy;
  components: Component[];
  routes: Route[];
  networks: Network[];
  volumes: Volume[];
  secrets: Secret[];
  monitoring: Monitoring;
  backups: BackupJob[];
  messaging?: Messaging;
  /** relative to the rendered output directory: generated secrets, and the project (spec) directory */
  paths: { secretsDir: string; projectDir: string };
}

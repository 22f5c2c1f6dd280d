// The normalised platform model. Every decision (networks, secrets, health,
// scraping, routing) is made once while building it; renderers only read it.
import type { Duration, Size } from '../spec/units.js';

export type Role =
  | 'app'
  | 'proxy'
  | 'database'
  | 'cache'
  | 'prometheus'
  | 'alertmanager'
  | 'grafana'
  | 'node-exporter'
  | 'cadvisor'
  | 'exporter'
  | 'backup'
  | 'portainer'
  | 'object-store';

export type Engine = 'postgres' | 'mysql' | 'mariadb' | 'redis' | 'traefik' | 'haproxy';

export type NetworkName = 'edge' | 'backend' | 'monitoring';

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

/**
 * How a component's health is probed, in no target's terms. Each target maps it: Compose and
 * Swarm run it inside the container (render/probes.ts), Kubernetes as a kubelet probe.
 */
export type Probe =
  /** argv run inside the container; exit 0 = healthy */
  | { kind: 'exec'; command: string[] }
  /** GET http://127.0.0.1:PORT/PATH answers 2xx. `client`: what inside the image can send it:
   *  wget, any of wget/curl/node, or none (only a prober outside the container can ask) */
  | { kind: 'http'; port: number; path: string; client: 'wget' | 'any' | 'none' }
  /** the port accepts connections. `client`: how the container itself can tell: /proc/net/tcp
   *  read with sh and grep, or bash's /dev/tcp */
  | { kind: 'tcp'; port: number; client: 'proc' | 'bash' };

export interface Healthcheck {
  probe: Probe;
  interval: Duration;
  timeout: Duration;
  retries: number;
  startPeriod: Duration;
}

/** Rendered config a component mounts, by id: each target decides where it lives (a file beside
 *  compose.yaml, a Swarm config, a ConfigMap); render/bundles.ts names the files. */
export type ConfigBundle =
  | 'prometheus-config'
  | 'prometheus-rules'
  | 'alertmanager-config'
  | 'grafana-provisioning'
  | 'grafana-dashboards'
  | 'traefik-static'
  | 'traefik-dynamic'
  | 'haproxy-config'
  | 'backup-scripts';

export type Mount =
  /** a named volume of the plan */
  | { type: 'volume'; source: string; target: string; readOnly: boolean }
  /** a host path (absolute), or a directory relative to the output dir */
  | { type: 'bind'; source: string; target: string; readOnly: boolean }
  | { type: 'config'; bundle: ConfigBundle; target: string; readOnly: true };

export interface SecretMount {
  secret: string;
  target: string;
}

export interface PublishedPort {
  hostIp: string;
  host: number;
  container: number;
}

/** A component starts after another is ready (its health probe passes) or merely started. */
export interface Dependency {
  name: string;
  on: 'ready' | 'started';
}

/** Restrictions each target maps onto its own primitives (security options, securityContext). */
export interface Hardening {
  /** no process may gain privileges (setuid binaries, file capabilities) */
  noNewPrivileges: boolean;
  readOnlyRoot: boolean;
  /** start with no Linux capability, then `addCaps` */
  dropAllCaps: boolean;
  addCaps: string[];
}

/** Where a component may run when there are several nodes; single-host targets ignore it. */
export type Placement =
  /** anywhere; replicas spread over the nodes */
  | { kind: 'spread' }
  /** on the nodes that hold cluster state (Swarm managers, Kubernetes control plane) */
  | { kind: 'control-plane' }
  /** exactly one per node (host agents, an edge that answers on every node's address) */
  | { kind: 'every-node' }
  /** exactly one per control-plane node (an edge that reads the orchestrator's API) */
  | { kind: 'every-control-plane-node' }
  /** only on nodes carrying this label set to true: data that lives on one node's disk */
  | { kind: 'node-label'; label: string }
  /** where the spec says (services.<name>.placement): a node, labels, a role */
  | { kind: 'constraints'; node?: string; labels: Record<string, string>; role?: 'manager' | 'worker' };

/** How a changed component rolls on a multi-node target, decided once (plan/placement.ts). */
export interface Update {
  order: 'start-first' | 'stop-first';
  /** how long each new replica is watched (longer than its health window) */
  monitor: Duration;
  parallelism: number;
}

export interface MetricsEndpoint {
  job: string;
  port: number;
  path: string;
}

export interface Component {
  name: string;
  role: Role;
  engine?: Engine;
  image: string;
  /** image key in the spec's images: map, so overrides and policy checks can find it */
  imageKey?: string;
  /** context: a directory of the project (relative to it, as the spec says) or a rendered bundle */
  build?: { context: { project: string } | { bundle: ConfigBundle }; dockerfile?: string; args: Record<string, string> };
  /** replaces the image's ENTRYPOINT (set when the plan must not depend on how an image starts) */
  entrypoint?: string[];
  command?: string[];
  user?: string;
  /** never secret values: secrets travel as files (see secrets) */
  env: Record<string, string>;
  secrets: SecretMount[];
  networks: NetworkName[];
  ports: PublishedPort[];
  mounts: Mount[];
  replicas: number;
  /** port the component serves on inside its network (app port, db port...) */
  port?: number;
  healthcheck?: Healthcheck;
  /** why a component has no healthcheck (the lint accepts a stated reason) */
  healthWaiver?: string;
  /** what decides an app service's health, in words (`wharf check` lists it) */
  healthProbe?: string;
  /** HTTP path answering 200 only while the service can take traffic (Kubernetes readiness) */
  readyPath?: string;
  /** Kubernetes: replicas scaled between min and max on CPU (percent of the request); `replicas` is where it starts */
  autoscale?: { min: number; max: number; cpu: number };
  dependsOn: Dependency[];
  /** limits; reservations are what a scheduler must find free on a node before placing it */
  resources: { cpus: number; memory: Size; reserveCpus?: number; reserveMemory?: Size };
  /** set for every component by plan/placement.ts */
  placement?: Placement;
  /** set for every component by plan/placement.ts */
  update?: Update;
  /** discovers what it serves from the orchestrator's API (multi-node targets; set by
   *  plan/placement.ts). Single-host targets configure it by file and ignore this. */
  readsOrchestrator?: boolean;
  /** the restart policy is each target's own: every component is restarted when it stops */
  init: boolean;
  hardening: Hardening;
  metrics?: MetricsEndpoint;
  /** how long to wait after SIGTERM */
  stopGracePeriod: Duration;
  labels: Record<string, string>;
  /** config files this component takes live, without being recreated (plan/edge.ts) */
  reload?: HotReload;
}

/**
 * How a running component applies a change of some of its config files. Those files are left
 * out of what decides a recreate; the engine applies them instead (engine.reload).
 */
export interface HotReload {
  /** mounted bundles whose change is applied live */
  bundles: ConfigBundle[];
  /** signal: validate with `check` inside the running container, then signal its PID 1;
   *  watch: the program watches the files itself (Traefik's file provider) */
  mode: 'signal' | 'watch';
  signal?: 'SIGUSR2' | 'SIGHUP';
  /** argv run inside the container that exits non-zero when the new files are bad */
  check?: string[];
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
  | { kind: 'file'; path: string }
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
  | { kind: 'tls-cert'; hosts: string[]; key: string }
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
  type: 'webhook' | 'email' | 'slack';
  severities: Array<'critical' | 'warning' | 'info'>;
  url?: string;
  to?: string;
  from?: string;
  smarthost?: string;
  username?: string;
  /** path inside the Alertmanager container of the file holding the secret */
  secretFile?: string;
  channel?: string;
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
  heartbeat?: { url: string; interval: Duration };
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
    { type: 'local'; path: string } | { type: 's3'; endpoint: string; bucket: string; accessKeySecret: string; secretKeySecret: string };
  encrypt: boolean;
  verifySchedule: string;
  restoreTest: boolean;
}

export interface Tls {
  mode: 'self-signed' | 'acme' | 'files';
  email?: string;
  staging?: boolean;
  /** secret names holding the edge certificate, key and (HAProxy) combined PEM */
  certSecret?: string;
  keySecret?: string;
  pemSecret?: string;
  hosts: string[];
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

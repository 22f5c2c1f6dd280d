// A component of the platform model (a service, database, exporter...) and the target-neutral
// values that describe it: how it is probed, mounted, hardened, placed and rolled.
import type { Duration, Size } from '../spec/units.js';

export type Role =
  | 'app'
  | 'proxy'
  | 'database'
  | 'cache'
  | 'prometheus'
  | 'alertmanager'
  | 'notify-relay'
  | 'grafana'
  | 'node-exporter'
  | 'cadvisor'
  | 'exporter'
  | 'backup'
  | 'wal-archiver'
  | 'acme'
  | 'portainer'
  | 'object-store';

export type Engine = 'postgres' | 'mysql' | 'mariadb' | 'redis' | 'traefik' | 'haproxy';

export type NetworkName = 'edge' | 'backend' | 'monitoring';

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
  | 'backup-scripts'
  | 'acme-scripts'
  | 'pitr-scripts'
  | 'notify-relay';

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
  /** release hooks: argv run in a one-off container of the new definition before any replica is replaced, and after */
  hooks?: { beforeRollout?: string[]; afterRollout?: string[] };
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

// The engine contract: what ops need from a deployment target. A small required core (apply
// the desired state, read the live state, logs, exec, remove) and one rollout strategy as
// data: side by side on one host (Compose), or orchestrated by a scheduler (Swarm; later
// Kubernetes). Whatever is specific to a target (node engines, config hashes, superseded
// objects) lives inside its implementation (compose.ts, swarm.ts), never in an op.
import type { Cmd } from './command.js';
import type { ContainerRef } from './docker.js';
import type { ContainerState } from './live.js';
import type { NodeState } from './nodes.js';
import type { RunOptions, RunResult, Runner } from './run.js';
import type { Component } from '../plan/model.js';
import type { Addressing } from '../render/addressing.js';

/** `wharf logs`: the replicas' lines merged by the tool, each prefixed by its replica. */
export interface LogOptions {
  /** only lines newer than this: a duration (10m) or a timestamp, as docker takes it */
  since?: string;
  /** keep streaming new lines (no timeout) */
  follow?: boolean;
}

/** The same flags for `docker compose logs` and `docker service logs`. */
export function logFlags(o: LogOptions): string[] {
  return [...(o.since ? ['--since', o.since] : []), ...(o.follow ? ['--follow'] : [])];
}

/** One replica's lines for `wharf logs`: each stamped with the engine's RFC 3339 time, to merge replicas by. */
export interface ReplicaLogOptions extends LogOptions {
  timestamps?: boolean;
}

/** A command the user runs in a replica or a one-off container (wharf exec, wharf run, release hooks). */
export interface AttachOptions {
  /** pass wharf's stdin to the command (-i) */
  stdin: boolean;
  /** give it a terminal (-t): only when stdin is one */
  tty: boolean;
}

/** A followed stream runs until the user stops it. */
export function logTimeout(o: LogOptions): { timeoutMs?: number } {
  return o.follow ? {} : { timeoutMs: 30_000 };
}

export interface ToolCheck {
  id: string;
  title: string;
  cmd: Cmd;
  judge(stdout: string): { status: 'ok' | 'warn'; detail: string; hint?: string };
  /** the fix when the command fails */
  missing: string;
}

/** A one-off of a service (wharf run, a release hook): the user's argv, and how its command is shown and masked. */
export interface OneOff extends Pick<Cmd, 'describe' | 'redact' | 'timeoutMs'> {
  service: string;
  argv: string[];
  attach: AttachOptions;
}

/** A scheduler's last update of a service (Swarm: UpdateStatus). */
export interface UpdateStatus {
  /** updating, completed, paused, rollback_started, rollback_completed, rollback_paused ('' never updated) */
  state: string;
  /** ms since epoch; 0 unknown */
  startedAt: number;
  message: string;
}

/** One service as it runs. */
export interface ServiceLive {
  service: string;
  /** replicas the target wants (a component on every node: one per schedulable node) */
  desired: number;
  running: number;
  /** running and healthy, or running without a healthcheck */
  healthy: number;
  /** the definitions its running replicas carry (compose: config hash; swarm: image ID), sorted */
  revisions: string[];
  /** the nodes its running replicas are on (multi-node targets) */
  nodes: string[];
  /** every container (task) of the service, stopped ones included */
  containers: ContainerState[];
}

/** Everything one read of the target says; read once per command (and per poll), concurrently. */
export interface LiveState {
  /** the target's nodes; [] on one host */
  nodes: NodeState[];
  /** every container of the project (on every reachable node), sorted */
  containers: ContainerState[];
  /** per plan service, in plan order */
  services: ServiceLive[];
  /** orchestrated targets: each service's last update; empty on one host */
  updates: Map<string, UpdateStatus>;
}

export interface LiveStateOptions {
  /** one host: an engine that does not answer is an error (default); false: nothing runs */
  strict?: boolean;
  /** also read the scheduler's update states (orchestrated targets) */
  updates?: boolean;
}

/** Where images come from. */
export type ImageSource =
  /** the engine itself: found locally, pulled, or built here */
  | {
      kind: 'local';
      present(ref: string): Cmd;
      /** the ID of each of these images the engine has (one listing, then `present` for what it cannot match) */
      find(runner: Runner, refs: string[]): Promise<Map<string, string>>;
      pull(ref: string): Cmd;
      build(services: string[]): Cmd;
    }
  /** each node pulls from a registry at deploy time */
  | { kind: 'registry' };

/** What a side-by-side rollout compares each container with: the definition and image now. */
export interface Desired {
  revisions: Map<string, string>;
  imageIds: Map<string, string>;
}

/** One host: new replicas start beside the old ones, are gated by health and the edge, then
 *  the old are drained and removed (ops/rollout-side-by-side.ts drives rollout-machine.ts). */
export interface SideBySide {
  readonly kind: 'side-by-side';
  /** each service's current definition revision and image ID */
  desired(runner: Runner, services: Array<{ name: string; image: string }>): Promise<Desired>;
  /** each service's definition revision alone (what `desired` reads besides the image IDs): of the
   *  rendered file on disk, or of `rendered`, a main file's contents not written (wharf plan) */
  revisions(runner: Runner, rendered?: string): Promise<Map<string, string>>;
  /** only these services (dependents of a recreated one are not recreated with it) */
  applyServices(services: string[]): Cmd;
  /** start missing containers, recreate none */
  converge(): Cmd;
  /** `total` containers of the service, the existing ones kept; new ones from `file` (default the rendered one) */
  scaleOut(service: string, total: number, file?: string): Cmd;
  /** SIGTERM, SIGKILL after the grace; then removed */
  stopContainers(ids: string[], graceSeconds: number): Cmd;
  removeContainers(ids: string[]): Cmd;
  /** commands applying a component's changed live-config files (Component.reload) to its running containers, in order */
  reload(c: Component, containers: ContainerRef[]): Cmd[];
  /** the service's definition in a rendered file (default the current one) */
  definition(service: string, file?: string): Record<string, unknown> | undefined;
  /** write a file like the rendered one with one service's definition replaced; returns its name */
  writeVariant(service: string, definition: Record<string, unknown>): string;
}

/** A scheduler replaces replicas by its own update policy (Swarm: start-first with rollback as rendered). */
export interface Orchestrated {
  readonly kind: 'orchestrated';
  /** replace every replica of the service */
  rollout(service: string): Cmd;
  /** return the service to the spec it ran before its last update */
  rollback(service: string): Cmd;
  /** the services' last updates */
  updates(runner: Runner, services: string[]): Promise<Map<string, UpdateStatus>>;
  /** after convergence: remove objects older deploys made and the current one no longer names */
  prune(runner: Runner): Promise<string[]>;
}

export type RolloutStrategy = SideBySide | Orchestrated;

/** The project's leftovers after remove, on one engine (a node, or the single host). */
export interface Leftovers {
  networks(): Cmd;
  /** `docker network inspect` of these (name, labels, attached containers) */
  inspectNetworks(ids: string[]): Cmd;
  removeNetworks(names: string[]): Cmd;
  volumes(node?: NodeState): Cmd;
  removeVolumes(names: string[], node?: NodeState): Cmd;
  /** containers grouped by the engine each runs on */
  removeContainers(cs: ContainerRef[]): Cmd[];
}

export interface Engine {
  readonly kind: 'compose' | 'swarm';
  /** the project / stack name: prefixes containers, networks and volumes */
  readonly project: string;
  /** directory holding the rendered target files */
  readonly dir: string;
  /** the rendered main file it applies (compose.yaml, stack.yaml), relative to dir */
  readonly file: string;
  /** several nodes: ports are bound on the nodes, not on this machine */
  readonly multiNode: boolean;
  /** how its rendered files name every replica of a service (the name the edge's slots resolve) */
  readonly addressing: Addressing;
  readonly images: ImageSource;
  readonly strategy: RolloutStrategy;
  readonly leftovers: Leftovers;

  /** the engine's name for a network of the plan (compose: <project>_<name>) */
  networkName(network: string): string;
  /** validate the rendered files with the tool itself */
  validate(): Cmd;
  /** create or update everything; unchanged services are left alone */
  apply(): Cmd;
  /** stop and remove; volumes only when asked */
  remove(opts: { volumes: boolean }): Cmd;
  /** stop the services' replicas, keeping their data (a restore stops what writes to it) */
  stop(services: string[]): Cmd;
  /** start them again */
  start(services: string[]): Cmd;
  /** recent log lines of one service */
  logs(service: string, tail: number | 'all', opts?: LogOptions): Cmd;
  /** recent log lines of one replica; with `follow`, until it stops */
  replicaLogs(c: ContainerRef, tail: number | 'all', opts?: ReplicaLogOptions): Cmd;
  /** how people name one replica of its service (compose: its container number; swarm: its task slot) */
  replica(c: ContainerState): string;
  /** a command inside a running replica; attached: the user's stdin (and terminal), no timeout */
  exec(c: ContainerRef, argv: string[], describe: string, timeoutMs?: number, attach?: AttachOptions): Cmd;
  /** a one-off container of the service as now rendered (image, env, secrets, networks), removed when it exits
   *  (swarm: the command that creates its one-off task) */
  run(service: string, argv: string[], attach: AttachOptions): Cmd;
  /** that one-off run to its end: its output to `opts` as a command's would go, its exit code the result's */
  runOnce(runner: Runner, x: OneOff, opts: RunOptions): Promise<RunResult>;
  /** each service's definition in a main file's contents (default: the file on disk) */
  definitions(contents?: string): Record<string, Record<string, unknown>>;
  /** every container attached to these networks of the engine's (as the manager sees it), ours or not; one read */
  attached(runner: Runner, networks: string[]): Promise<Array<{ id: string; name: string; network: string }>>;
  /** the whole live state: nodes, containers, per service replicas, updates */
  liveState(runner: Runner, o?: LiveStateOptions): Promise<LiveState>;
  /** the engine answers (on a node when given): its version as one line */
  ping(node?: NodeState): Cmd;
  /** what doctor asks first: the orchestrator answers, and how to judge its answer */
  tool(): ToolCheck;
  /** an overlay's peers (node addresses) and MTU as one node's engine sees them; undefined: cannot tell */
  networkPeers(runner: Runner, network: string, node: NodeState): Promise<{ peers: string[]; mtu?: string } | undefined>;
  /** where the engine keeps its data on this machine (for the disk check); undefined: not here */
  dataDir(runner: Runner): Promise<string | undefined>;
}

// What ops need from a deployment target: ComposeEngine (compose.ts) and SwarmEngine
// (swarm.ts: `docker stack deploy`, containers labelled com.docker.stack.namespace).
import type { Cmd } from './command.js';
import type { ContainerRef } from './docker.js';
import type { Component } from '../plan/model.js';
import type { Addressing } from '../render/addressing.js';

export interface DeployOptions {
  /** also pull/build; compose builds services with build: */
  build?: boolean;
}

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

/** Immutable objects a deploy leaves behind (Swarm configs and secrets named by content). */
export interface Superseded {
  /** commands listing the project's objects of each kind, one name per line */
  list(): Array<{ kind: 'config' | 'secret'; cmd: Cmd }>;
  /** the names the current rendered files use */
  inUse(): Set<string>;
  remove(kind: 'config' | 'secret', names: string[]): Cmd;
}

export interface Engine {
  readonly kind: 'compose' | 'swarm';
  /** several nodes: images are pulled by each node from a registry, ports are bound on every node */
  readonly multiNode: boolean;
  /** the project / stack name: prefixes containers, networks and volumes */
  readonly project: string;
  /** directory holding the rendered target files */
  readonly dir: string;
  /** validate the rendered files with the tool itself */
  validate(): Cmd;
  /** build images for the given services (all with build: when omitted) */
  build(services?: string[]): Cmd;
  /** create or update everything; unchanged services are left alone */
  deploy(): Cmd;
  /** stop and remove; volumes only when asked */
  remove(opts: { volumes: boolean; withoutFile?: boolean }): Cmd;
  /** stop the services' containers, keeping them (a restore stops what writes to its data) */
  stop(services: string[]): Cmd;
  /** start stopped containers of the services again */
  start(services: string[]): Cmd;
  /** recent log lines of one service (every replica; `tail` per replica) */
  logs(service: string, tail: number | 'all', opts?: LogOptions): Cmd;
  /** the engine's own view of what runs */
  ps(): Cmd;
  /** commands applying a component's changed live-config files (plan: Component.reload) to its
   *  running containers, in order; a failing one stops the rest. Undefined: the deploy itself
   *  applies them (Swarm: configs are named by content, so a change rolls the service) */
  reload?(c: Component, containers: ContainerRef[]): Cmd[];
  /** `docker ps` label filters selecting this project's containers */
  containerFilters(): string[];
  /** the plan service a container belongs to, from its labels */
  serviceOf(labels: Record<string, string>): string | undefined;
  /** how its rendered files name every replica of a service (the name the edge's slots resolve) */
  readonly addressing: Addressing;
  /** the engine's name for a network of the plan (compose: <project>_<name>) */
  networkName(network: string): string;
  /** multi-node targets: objects older deploys made and the current one no longer names */
  readonly superseded?: Superseded;
  /** multi-node targets: each service's last rollout, one `<service> <json>` line each, the JSON
   *  {State, StartedAt, Message} or null (State: updating, completed, paused, rollback_started, rollback_completed) */
  rolloutStates?(services: string[]): Cmd;
  /** single host: only these services (dependents of a recreated one are not recreated with it) */
  deployServices?(services: string[]): Cmd;
  /** single host: start missing containers, recreate none */
  converge?(): Cmd;
  /** single host: `total` containers of the service, the existing ones kept; new ones from `file` (default the rendered one) */
  scaleOut?(service: string, total: number, file?: string): Cmd;
  /** single host: `<service> <hash>` lines, the hash each up-to-date container carries (CONFIG_HASH_LABEL) */
  serviceHashes?(): Cmd;
  /** the container label holding that hash */
  readonly configHashLabel?: string;
  /** orchestrators: replace every replica of the service by its own update policy (Swarm:
   *  `service update --force`, start-first with rollback as rendered); rolloutStates reports it */
  rollout?(service: string): Cmd;
  /** orchestrators: return the service to the spec it ran before its last update (Swarm keeps
   *  it: `service rollback`), by the rendered rollback_config; rolloutStates reports it */
  rollback?(service: string): Cmd;
  /** what doctor asks first: the orchestrator answers, and how to judge its answer */
  tool(): ToolCheck;
  /** the engine the commands talk to (DOCKER_HOST); undefined: the environment's own */
  readonly dockerHost?: string;
  /** multi-node targets: the command listing node ids, and the one inspecting them */
  nodeIds?(): Cmd;
  nodeInspect?(ids: string[]): Cmd;
  /** multi-node targets: the DOCKER_HOST reaching one node's own engine (its containers, exec, logs) */
  nodeHost?(node: { hostname: string; addr: string }): string | undefined;
}

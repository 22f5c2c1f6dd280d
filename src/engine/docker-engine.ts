// What the Compose and Swarm engines share: both run Docker containers, found by label on
// each engine (the single host, or every node's own), and reached by `docker exec`/`logs`.
// The live state is read here, once per call, every engine asked concurrently.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { parse } from 'yaml';
import type { Cmd } from './command.js';
import { docker, onHost, type ContainerRef } from './docker.js';
import type {
  AttachOptions,
  Engine,
  LiveState,
  LiveStateOptions,
  Leftovers,
  OneOff,
  ReplicaLogOptions,
  ServiceLive,
  UpdateStatus,
} from './engine.js';
import { parseInspect, type ContainerState } from './live.js';
import type { NodeState } from './nodes.js';
import type { RunOptions, RunResult, Runner } from './run.js';
import type { Component } from '../plan/model.js';
import { byCodeUnit } from '../plan/sort.js';

/** What an engine needs of a plan component to say how many replicas it wants. */
export type WantedService = Pick<Component, 'name' | 'replicas'> & { placement?: { kind: string } };

/** Desired replicas: on several nodes a component placed on every node wants one per schedulable node. */
export function desiredReplicas(c: WantedService, nodes: NodeState[]): number {
  if (!nodes.length) return c.replicas;
  const ready = nodes.filter((n) => n.state === 'ready' && n.availability === 'active');
  const kind = c.placement?.kind;
  return kind === 'every-node'
    ? ready.length
    : kind === 'every-control-plane-node'
      ? ready.filter((n) => n.role === 'manager').length
      : c.replicas;
}

const isHealthy = (c: ContainerState) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none');

/** Per service: desired, running, healthy replicas, revisions and nodes, in the order given. */
export function summarize(services: WantedService[], containers: ContainerState[], nodes: NodeState[]): ServiceLive[] {
  return services.map((s) => {
    const cs = containers.filter((c) => c.service === s.name);
    const running = cs.filter((c) => c.state === 'running');
    return {
      service: s.name,
      desired: desiredReplicas(s, nodes),
      running: running.length,
      healthy: running.filter(isHealthy).length,
      revisions: [...new Set(running.map((c) => c.revision).filter((r): r is string => !!r))].sort(byCodeUnit),
      nodes: [...new Set(running.map((c) => c.node).filter((n): n is string => !!n))].sort(byCodeUnit),
      containers: cs,
    };
  });
}

const sortContainers = (a: ContainerState, b: ContainerState) =>
  byCodeUnit(a.service, b.service) || byCodeUnit(a.name, b.name) || byCodeUnit(a.node ?? '', b.node ?? '');

export abstract class DockerEngine implements Pick<
  Engine,
  'replicaLogs' | 'exec' | 'runOnce' | 'liveState' | 'ping' | 'networkPeers' | 'leftovers' | 'definitions' | 'attached'
> {
  abstract readonly project: string;
  abstract readonly dir: string;
  abstract readonly file: string;
  /** the engine the commands talk to (DOCKER_HOST); undefined: the environment's own */
  abstract readonly dockerHost: string | undefined;
  /** the plan's services, for desired replicas */
  protected abstract readonly wanted: WantedService[];
  /** `docker ps` label filters selecting this project's containers */
  abstract containerFilters(): string[];
  /** the plan service a container belongs to, from its labels */
  abstract serviceOf(labels: Record<string, string>): string | undefined;
  /** the revision a container runs, from its labels and image */
  protected abstract revisionOf(labels: Record<string, string>, imageId: string): string | undefined;
  /** the target's nodes with the engine address of each; [] on one host */
  abstract readNodes(runner: Runner): Promise<NodeState[]>;
  /** orchestrated targets: the services' last updates */
  abstract updates(runner: Runner, services: string[]): Promise<Map<string, UpdateStatus>>;

  replicaLogs(c: ContainerRef, tail: number | 'all', opts: ReplicaLogOptions = {}): Cmd {
    return docker.logs(c, tail, opts);
  }

  exec(c: ContainerRef, argv: string[], describe: string, timeoutMs?: number, attach?: AttachOptions): Cmd {
    return docker.exec(c, argv, describe, timeoutMs, attach);
  }

  abstract run(service: string, argv: string[], attach: AttachOptions): Cmd;

  /** One command does it on one host (compose run --rm). */
  runOnce(runner: Runner, x: OneOff, opts: RunOptions): Promise<RunResult> {
    const { service, argv, attach, ...extra } = x;
    return runner({ ...this.run(service, argv, attach), ...extra }, opts);
  }

  ping(node?: NodeState): Cmd {
    return onHost(docker.version(), node ? node.dockerHost : this.dockerHost);
  }

  /** Containers of one engine (one node, or the single host). */
  private async containersAt(runner: Runner, where: { host?: string; node?: string }, strict: boolean): Promise<ContainerState[]> {
    const ps = await runner(onHost(docker.psIds(this.containerFilters()), where.host), { reject: strict });
    if (ps.exitCode !== 0) return [];
    const ids = ps.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    // A container can vanish between ps and inspect (down running elsewhere): inspect tolerates that.
    const r = await runner(onHost(docker.inspect(ids), where.host), { reject: false });
    const json = r.stdout.trim();
    if (!json.startsWith('[')) return [];
    return parseInspect(json, this, where).map((c) => ({ ...c, ...this.revisionField(c) }));
  }

  private revisionField(c: ContainerState): { revision?: string } {
    const r = this.revisionOf(c.labels, c.imageId);
    return r ? { revision: r } : {};
  }

  /**
   * One read: the nodes, then every reachable engine's containers and the scheduler's
   * update states at once. On several nodes a node that is down or unreachable contributes
   * nothing (status and doctor name it from the node list); on one host its failure is an
   * error unless `strict: false`.
   */
  async liveState(runner: Runner, o: LiveStateOptions = {}): Promise<LiveState> {
    const updates = o.updates
      ? this.updates(
          runner,
          this.wanted.map((s) => s.name),
        )
      : Promise.resolve(new Map<string, UpdateStatus>());
    const nodes = await this.readNodes(runner);
    let containers: ContainerState[];
    if (!nodes.length) containers = await this.containersAt(runner, { host: this.dockerHost }, o.strict !== false);
    else {
      const limit = pLimit(8);
      const reachable = nodes.filter((n) => n.state === 'ready' && n.dockerHost);
      const perNode = reachable.map((n) => limit(() => this.containersAt(runner, { host: n.dockerHost, node: n.hostname }, false)));
      containers = (await Promise.all(perNode)).flat().sort(sortContainers);
    }
    return { nodes, containers, services: summarize(this.wanted, containers, nodes), updates: await updates };
  }

  /** Compose and stack files alike: services.<name>. No file yet: none. */
  definitions(contents?: string): Record<string, Record<string, unknown>> {
    const path = join(this.dir, this.file);
    if (contents === undefined && !existsSync(path)) return {};
    contents ??= readFileSync(path, 'utf8');
    return (parse(contents) as { services?: Record<string, Record<string, unknown>> } | null)?.services ?? {};
  }

  /** The networks' containers, one inspect for all (a missing network lists none); a swarm's load-balancer endpoints (lb-…) are not containers. */
  async attached(runner: Runner, networks: string[]): Promise<Array<{ id: string; name: string; network: string }>> {
    if (!networks.length) return [];
    const r = await runner(onHost(docker.networkInspect(...networks), this.dockerHost), { reject: false });
    // an absent network fails the command but the others are still printed
    const json = r.stdout.trim();
    if (!json.startsWith('[')) return [];
    const infos = JSON.parse(json) as Array<{ Name?: string; Containers?: Record<string, { Name?: string }> | null }>;
    return infos
      .flatMap((info) =>
        Object.entries(info.Containers ?? {})
          .filter(([id]) => !id.startsWith('lb-'))
          .map(([id, c]) => ({ id, name: c.Name ?? id, network: info.Name ?? '' })),
      )
      .sort((a, b) => byCodeUnit(a.network, b.network) || byCodeUnit(a.name, b.name));
  }

  async networkPeers(runner: Runner, network: string, node: NodeState): Promise<{ peers: string[]; mtu?: string } | undefined> {
    const r = await runner(onHost(docker.networkInspect(network), node.dockerHost), { reject: false });
    if (r.exitCode !== 0) return undefined;
    const info = (
      JSON.parse(r.stdout) as Array<{ Peers?: Array<{ Name: string; IP: string }> | null; Options?: Record<string, string> | null }>
    )[0];
    const mtu = info?.Options?.['com.docker.network.driver.mtu'];
    return { peers: (info?.Peers ?? []).map((p) => p.IP), ...(mtu ? { mtu } : {}) };
  }

  get leftovers(): Leftovers {
    const filters = this.containerFilters();
    return {
      networks: () => onHost(docker.networkIds(filters), this.dockerHost),
      inspectNetworks: (ids) => onHost(docker.networkInspect(...ids), this.dockerHost),
      removeNetworks: (names) => onHost(docker.networkRemove(names), this.dockerHost),
      volumes: (node) => onHost(docker.volumeNames(filters), node ? node.dockerHost : this.dockerHost),
      removeVolumes: (names, node) => onHost(docker.volumeRemove(names), node ? node.dockerHost : this.dockerHost),
      removeContainers: (cs) => {
        const byHost = new Map<string | undefined, string[]>();
        for (const c of cs) byHost.set(c.host, [...(byHost.get(c.host) ?? []), c.id]);
        return [...byHost].map(([host, ids]) => onHost(docker.removeContainers(ids), host));
      },
    };
  }
}

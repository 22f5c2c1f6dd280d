// Docker Swarm (`docker stack`) as an Engine: argv builders only.
//
// Commands go to one manager through DOCKER_HOST (tcp://, ssh:// or a socket), so the local
// docker client reads the stack file and the secret and config files it names, exactly as
// for a user with DOCKER_HOST=ssh://a-manager. The client must have `docker stack config`
// (docker 25+); the nodes' engines may be older (20.10 answers API 1.41).
import { cmd, type Cmd } from './command.js';
import { existsSync, readFileSync } from 'node:fs';
import { OperationError } from '../errors.js';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DockerEngine, type WantedService } from './docker-engine.js';
import {
  logFlags,
  logTimeout,
  type Engine,
  type ImageSource,
  type LogOptions,
  type OneOff,
  type Orchestrated,
  type ToolCheck,
  type UpdateStatus,
} from './engine.js';
import type { ContainerState } from './live.js';
import { nodeDockerHost, parseNodeInspect, type NodeState } from './nodes.js';
import type { RunOptions, RunResult, Runner } from './run.js';
import { oneOffArgs, oneOffName, runOneOff, type StackDoc } from './swarm-run.js';
import { swarmAddressing } from '../render/addressing.js';

export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';
export const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';
export const TASK_NAME_LABEL = 'com.docker.swarm.task.name';

export interface SwarmEngineOptions {
  project: string;
  /** directory holding stack.yaml (relative paths in it resolve from here) */
  dir: string;
  file?: string;
  /** a manager's engine; unset: whatever the environment's docker talks to */
  dockerHost?: string;
  /** `--resolve-image`: "never" when the client cannot reach the nodes' registry to pin digests */
  resolveImage?: 'always' | 'changed' | 'never';
  /** replicas per service as the plan wants them: what start() scales back to (default 1) */
  replicas?: Record<string, number>;
  /** nodes whose engine address is declared (cluster.nodes[].dockerHost); others are derived from the manager's */
  nodeHosts?: Record<string, string>;
  /** the plan's services: the replicas each wants (default: `replicas`, one each) */
  services?: WantedService[];
}

/** Configs and secrets are named by content: every changed file left its old object behind. */
interface Superseded {
  list(): Array<{ kind: 'config' | 'secret'; cmd: Cmd }>;
  inUse(): Set<string>;
  remove(kind: 'config' | 'secret', names: string[]): Cmd;
}

/** One `<name> <json>` line per service of `rolloutStates`, by plan service. */
export function parseUpdateStates(stdout: string, project: string): Map<string, UpdateStatus> {
  const out = new Map<string, UpdateStatus>();
  const prefix = `${project}_`;
  for (const l of stdout.split('\n').map((x) => x.trim())) {
    const i = l.indexOf(' ');
    if (i < 0 || !l.startsWith(prefix)) continue;
    const u = JSON.parse(l.slice(i + 1) || 'null') as { State?: string; StartedAt?: string; Message?: string } | null;
    out.set(l.slice(prefix.length, i), {
      state: u?.State ?? '',
      startedAt: Date.parse(u?.StartedAt ?? '') || 0,
      message: u?.Message ?? '',
    });
  }
  return out;
}

export class SwarmEngine extends DockerEngine implements Engine {
  readonly kind = 'swarm' as const;
  readonly multiNode = true;
  readonly addressing = swarmAddressing;
  readonly project: string;
  readonly dir: string;
  readonly dockerHost: string | undefined;
  readonly file: string;
  private readonly resolveImage: 'always' | 'changed' | 'never';
  private readonly replicas: Record<string, number>;
  private readonly nodeHosts: Record<string, string>;
  protected readonly wanted: WantedService[];

  constructor(o: SwarmEngineOptions) {
    super();
    this.project = o.project;
    this.dir = o.dir;
    this.file = o.file ?? 'stack.yaml';
    this.dockerHost = o.dockerHost;
    this.resolveImage = o.resolveImage ?? 'always';
    this.replicas = o.replicas ?? {};
    this.nodeHosts = o.nodeHosts ?? {};
    this.wanted = o.services ?? Object.entries(this.replicas).map(([name, replicas]) => ({ name, replicas }));
  }

  /** each node pulls from the registry at deploy time */
  readonly images: ImageSource = { kind: 'registry' };

  readonly strategy: Orchestrated = {
    kind: 'orchestrated',
    rollout: (service) => this.rollout(service),
    rollback: (service) => this.rollback(service),
    updates: (runner, services) => this.updates(runner, services),
    prune: (runner) => this.prune(runner),
  };

  async updates(runner: Runner, services: string[]): Promise<Map<string, UpdateStatus>> {
    if (!services.length) return new Map();
    const r = await runner(this.rolloutStates(services), { reject: false });
    return parseUpdateStates(r.stdout, this.project);
  }

  /**
   * After convergence, the project's configs and secrets the current files no longer name.
   * Only ours (by namespace label), never one in use: the engine refuses to remove an object a
   * task still mounts, and such a refusal leaves it for the next run instead of failing up.
   */
  async prune(runner: Runner): Promise<string[]> {
    const s = this.superseded;
    const keep = s.inUse();
    const removed: string[] = [];
    for (const { kind, cmd } of s.list()) {
      const old = (await runner(cmd)).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((n) => n && !keep.has(n))
        .sort();
      for (const n of old) if ((await runner(s.remove(kind, [n]), { reject: false })).exitCode === 0) removed.push(n);
    }
    return removed;
  }

  async readNodes(runner: Runner): Promise<NodeState[]> {
    const ids = (await runner(this.nodeIds())).stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!ids.length) return [];
    return parseNodeInspect((await runner(this.nodeInspect(ids))).stdout).map((n) => ({ ...n, dockerHost: this.nodeHost(n) }));
  }

  protected revisionOf(_labels: Record<string, string>, imageId: string): string | undefined {
    return imageId || undefined;
  }

  /** the nodes' disks are theirs: not checked from here */
  async dataDir(): Promise<string | undefined> {
    return undefined;
  }

  private c(args: string[], describe: string, extra: Omit<Cmd, 'argv' | 'describe'> = {}): Cmd {
    return cmd(['docker', ...args], describe, { ...(this.dockerHost ? { env: { DOCKER_HOST: this.dockerHost } } : {}), ...extra });
  }

  /** A service's name in the swarm: the stack namespace prefixes it. */
  serviceName(service: string): string {
    return `${this.project}_${service}`;
  }

  validate(): Cmd {
    // Client-side only: interpolation, schema and the files it names.
    return this.c(['stack', 'config', '-c', this.file], `validate ${this.file}`, { cwd: this.dir, timeoutMs: 60_000 });
  }

  apply(): Cmd {
    // --detach: ops poll convergence themselves (the same progress on every target).
    return this.c(
      [
        'stack',
        'deploy',
        '--with-registry-auth',
        '--prune',
        '--detach=true',
        '--resolve-image',
        this.resolveImage,
        '-c',
        this.file,
        this.project,
      ],
      "create or update the stack's services",
      { cwd: this.dir, timeoutMs: 10 * 60_000 },
    );
  }

  remove(_opts: { volumes: boolean; withoutFile?: boolean }): Cmd {
    // Swarm volumes are node-local and outlive the stack: `stack rm` removes services,
    // networks, configs and secrets by namespace label, with or without the file.
    return this.c(['stack', 'rm', this.project], 'remove services, networks, configs and secrets (volumes stay on their nodes)', {
      timeoutMs: 5 * 60_000,
    });
  }

  // Swarm has no stopped-but-kept task: stopping is scaling to 0, starting is scaling back to
  // the plan's count. Detached: the CLI's own convergence wait adds ~50 s per call against
  // 20.10 engines; the ops poll the containers instead (ServiceControl waits for both).
  stop(services: string[]): Cmd {
    return this.c(
      ['service', 'scale', '--detach=true', ...services.map((s) => `${this.serviceName(s)}=0`)],
      `stop ${services.join(', ')}`,
      { timeoutMs: 60_000 },
    );
  }

  start(services: string[]): Cmd {
    return this.c(
      ['service', 'scale', '--detach=true', ...services.map((s) => `${this.serviceName(s)}=${this.replicas[s] ?? 1}`)],
      `start ${services.join(', ')}`,
      { timeoutMs: 60_000 },
    );
  }

  logs(service: string, tail: number | 'all', opts: LogOptions = {}): Cmd {
    return this.c(
      ['service', 'logs', '--no-trunc', '--tail', String(tail), ...logFlags(opts), this.serviceName(service)],
      `read the last ${tail} log lines of ${service}`,
      logTimeout(opts),
    );
  }

  ps(): Cmd {
    return this.c(['stack', 'ps', '--no-trunc', this.project], 'list tasks', { timeoutMs: 30_000 });
  }

  /** the task's slot (stack_api.2.<task id>); a global service's task: its node */
  replica(c: ContainerState): string {
    const slot = (c.labels[TASK_NAME_LABEL] ?? '').split('.').at(-2) ?? '';
    return /^\d+$/.test(slot) ? slot : (c.node ?? slot.slice(0, 12));
  }

  /** the command creating a one-off task of the service (swarm-run.ts); no terminal: swarm tasks take no stdin */
  run(service: string, argv: string[]): Cmd {
    const args = oneOffArgs(this.stackDoc(), service, this.project, oneOffName(this.project, service), argv);
    return this.c(args, `run a one-off ${service} task`);
  }

  runOnce(runner: Runner, x: OneOff, opts: RunOptions): Promise<RunResult> {
    const d = {
      c: (args: string[], describe: string, extra?: Omit<Cmd, 'argv' | 'describe'>) => this.c(args, describe, extra),
      dir: this.dir,
    };
    return runOneOff(runner, d, { doc: this.stackDoc(), service: x.service, project: this.project, argv: x.argv, extra: x }, opts);
  }

  private stackDoc(): StackDoc {
    const path = join(this.dir, this.file);
    if (!existsSync(path)) throw new OperationError(`${path} does not exist: a one-off runs as the deployed service`, { hint: 'wharf up' });
    return parse(readFileSync(path, 'utf8')) as StackDoc;
  }

  /** desired and running replicas of every service, one JSON object per line */
  services(): Cmd {
    return this.c(['stack', 'services', '--format', '{{json .}}', this.project], 'list services', { timeoutMs: 30_000 });
  }

  /** tasks of one service (or the whole stack) with node and state, one JSON object per line */
  tasks(service?: string): Cmd {
    return service
      ? this.c(['service', 'ps', '--no-trunc', '--format', '{{json .}}', this.serviceName(service)], `list tasks of ${service}`, {
          timeoutMs: 30_000,
        })
      : this.c(['stack', 'ps', '--no-trunc', '--format', '{{json .}}', this.project], 'list tasks', { timeoutMs: 30_000 });
  }

  /** replace every task of a service, one at a time as its update_config says (or in the order given) */
  rollout(service: string, order?: 'start-first' | 'stop-first'): Cmd {
    return this.c(
      ['service', 'update', '--force', '--detach=true', ...(order ? ['--update-order', order] : []), this.serviceName(service)],
      `roll every task of ${service}`,
      { timeoutMs: 60_000 },
    );
  }

  /** back to the service's previous spec (Swarm keeps one), as its rollback_config says */
  rollback(service: string): Cmd {
    return this.c(['service', 'rollback', '--detach', '--quiet', this.serviceName(service)], `roll ${service} back to its previous spec`, {
      timeoutMs: 60_000,
    });
  }

  /** the state of a service's last update: updating, completed, paused, rollback_completed... (empty: never updated) */
  rolloutState(service: string): Cmd {
    return this.c(
      ['service', 'inspect', '--format', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', this.serviceName(service)],
      `read the rollout state of ${service}`,
      { timeoutMs: 30_000 },
    );
  }

  rolloutStates(services: string[]): Cmd {
    return this.c(
      ['service', 'inspect', '--format', '{{.Spec.Name}} {{json .UpdateStatus}}', ...services.map((s) => this.serviceName(s))],
      'read the rollout state of every service',
      { timeoutMs: 30_000 },
    );
  }

  scale(service: string, replicas: number): Cmd {
    return this.c(['service', 'scale', '--detach=true', `${this.serviceName(service)}=${replicas}`], `scale ${service} to ${replicas}`, {
      timeoutMs: 60_000,
    });
  }

  /** the swarm's nodes: status, availability, manager status (Leader / Reachable) */
  nodes(): Cmd {
    return this.c(['node', 'ls', '--format', '{{json .}}'], 'list swarm nodes', { timeoutMs: 30_000 });
  }

  /** Configs and secrets are named by content: every changed file left its old object behind. */
  readonly superseded: Superseded = {
    list: () =>
      (['config', 'secret'] as const).map((kind) => ({
        kind,
        cmd: this.c(
          [kind, 'ls', '--filter', `label=${STACK_NAMESPACE_LABEL}=${this.project}`, '--format', '{{.Name}}'],
          `list the stack's ${kind}s`,
          { timeoutMs: 30_000 },
        ),
      })),
    inUse: () => {
      const doc = parse(readFileSync(join(this.dir, this.file), 'utf8')) as {
        configs?: Record<string, { name?: string }>;
        secrets?: Record<string, { name?: string }>;
      };
      return new Set(
        [...Object.values(doc.configs ?? {}), ...Object.values(doc.secrets ?? {})].map((o) => o.name).filter((n): n is string => !!n),
      );
    },
    remove: (kind, names) =>
      this.c([kind, 'rm', ...names], `remove ${names.length} superseded ${kind}${names.length === 1 ? '' : 's'}`, { timeoutMs: 60_000 }),
  };

  tool(): ToolCheck {
    return {
      id: 'swarm',
      title: 'a swarm manager answers',
      cmd: this.c(['info', '--format', '{{json .Swarm}}'], 'read the swarm state', { timeoutMs: 20_000 }),
      judge: (out) => {
        const s = JSON.parse(out || '{}') as {
          LocalNodeState?: string;
          ControlAvailable?: boolean;
          Managers?: number;
          Nodes?: number;
          NodeAddr?: string;
        };
        if (s.LocalNodeState !== 'active')
          return {
            status: 'warn',
            detail: `this engine is not in a swarm (${s.LocalNodeState ?? 'unknown'})`,
            hint: 'docker swarm init on the first manager, or point --host / cluster.manager at a manager',
          };
        if (!s.ControlAvailable)
          return {
            status: 'warn',
            detail: `${s.NodeAddr ?? 'this node'} is a worker: it cannot deploy or list services`,
            hint: 'point --host / cluster.manager at a manager',
          };
        return {
          status: 'ok',
          detail: `manager ${s.NodeAddr ?? ''}: ${s.Managers ?? '?'} managers, ${s.Nodes ?? '?'} nodes${this.dockerHost ? ` via ${this.dockerHost}` : ''}`,
        };
      },
      missing: 'point --host / cluster.manager / DOCKER_HOST at a manager (tcp://HOST:2375 or ssh://USER@HOST)',
    };
  }

  nodeIds(): Cmd {
    return this.c(['node', 'ls', '-q'], 'list swarm node ids', { timeoutMs: 30_000 });
  }

  nodeInspect(ids: string[]): Cmd {
    return this.c(['node', 'inspect', ...ids], 'inspect swarm nodes', { timeoutMs: 30_000 });
  }

  nodeHost(node: { hostname: string; addr: string }): string | undefined {
    return nodeDockerHost(node.addr, this.dockerHost, this.nodeHosts[node.hostname]);
  }

  containerFilters(): string[] {
    // Only the containers on the node DOCKER_HOST points at: each node runs its own tasks.
    return [`label=${STACK_NAMESPACE_LABEL}=${this.project}`];
  }

  serviceOf(labels: Record<string, string>): string | undefined {
    const name = labels[SWARM_SERVICE_LABEL];
    const prefix = `${this.project}_`;
    return labels[STACK_NAMESPACE_LABEL] === this.project && name?.startsWith(prefix) ? name.slice(prefix.length) : undefined;
  }

  networkName(network: string): string {
    return `${this.project}_${network}`;
  }
}

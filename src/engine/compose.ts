// Docker Compose (v2 plugin or v1 binary) as an Engine: one host, rollouts side by side.
// Everything Compose-specific stays here: the rendered compose.yaml, the config hash each
// container carries, the project label.
import { existsSync, readFileSync } from 'node:fs';
import { writeInside } from '../fs/confined.js';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { parse, stringify } from 'yaml';
import { cmd, type Cmd } from './command.js';
import type { ComposeBinary } from './detect.js';
import { DockerEngine, type WantedService } from './docker-engine.js';
import {
  logFlags,
  logTimeout,
  type AttachOptions,
  type Desired,
  type Engine,
  type ImageSource,
  type LogOptions,
  type SideBySide,
  type ToolCheck,
  type UpdateStatus,
} from './engine.js';
import { docker, listedName, type ContainerRef } from './docker.js';
import type { ContainerState } from './live.js';
import type { NodeState } from './nodes.js';
import type { Runner } from './run.js';
import type { Component } from '../plan/model.js';
import { composeAddressing } from '../render/addressing.js';

export interface ComposeEngineOptions {
  compose: ComposeBinary;
  project: string;
  /** directory holding compose.yaml (commands run there, relative paths resolve from it) */
  dir: string;
  file?: string;
  /** false when the engine has no buildx: builds use the classic builder */
  buildkit?: boolean;
  /** the plan's services: the replicas each wants */
  services?: WantedService[];
}

/** A rollback's variant of the rendered file (one service's definition replaced). */
export const ROLLBACK_FILE = 'compose.rollback.yaml';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const CONFIG_HASH_LABEL = 'com.docker.compose.config-hash';
export const NUMBER_LABEL = 'com.docker.compose.container-number';
export const ONEOFF_LABEL = 'com.docker.compose.oneoff';

export class ComposeEngine extends DockerEngine implements Engine {
  readonly kind = 'compose' as const;
  readonly multiNode = false;
  readonly addressing = composeAddressing;
  readonly configHashLabel = CONFIG_HASH_LABEL;
  readonly project: string;
  readonly dir: string;
  readonly dockerHost = undefined;
  readonly compose: ComposeBinary;
  protected readonly wanted: WantedService[];
  readonly file: string;
  private readonly buildkit: boolean | undefined;

  constructor(o: ComposeEngineOptions) {
    super();
    this.compose = o.compose;
    this.project = o.project;
    this.dir = o.dir;
    this.file = o.file ?? 'compose.yaml';
    this.buildkit = o.buildkit;
    this.wanted = o.services ?? [];
  }

  readonly images: ImageSource = {
    kind: 'local',
    present: (ref) => docker.imageId(ref),
    find: (runner, refs) => this.findImages(runner, refs),
    pull: (ref) => docker.pull(ref),
    build: (services) => this.build(services),
  };

  readonly strategy: SideBySide = {
    kind: 'side-by-side',
    desired: (runner, services) => this.desired(runner, services),
    revisions: (runner, rendered) => this.revisions(runner, rendered),
    applyServices: (services) => this.deployServices(services),
    converge: () => this.converge(),
    scaleOut: (service, total, file) => this.scaleOut(service, total, file),
    stopContainers: (ids, grace) => docker.stop(ids, grace),
    removeContainers: (ids) => docker.removeContainers(ids),
    reload: (c, containers) => this.reload(c, containers),
    definition: (service, file) => this.definition(service, file),
    writeVariant: (service, definition) => this.writeVariant(service, definition),
  };

  /** One `image ls` for all; a reference it does not list plainly (a digest, an odd name) is inspected itself. */
  async findImages(runner: Runner, refs: string[]): Promise<Map<string, string>> {
    const listed = new Map<string, string>();
    const r = await runner(docker.images(), { reject: false });
    for (const l of r.exitCode === 0 ? r.stdout.split('\n') : []) {
      const [name, id] = l.trim().split(/\s+/);
      if (name && id && !name.includes('<none>')) listed.set(name, id);
    }
    const out = new Map<string, string>();
    const rest = refs.filter((ref) => {
      const id = ref.includes('@') ? undefined : listed.get(listedName(ref));
      if (id) out.set(ref, id);
      return !id;
    });
    const limit = pLimit(6);
    for (const [ref, x] of await Promise.all(
      rest.map((ref) => limit(async () => [ref, await runner(docker.imageId(ref), { reject: false })] as const)),
    )) {
      if (x.exitCode === 0) out.set(ref, x.stdout.trim());
    }
    return out;
  }

  /** Each service's config hash and image ID now, asked at once (one `config --hash`, one inspect per image). */
  async desired(runner: Runner, services: Array<{ name: string; image: string }>): Promise<Desired> {
    const limit = pLimit(6);
    const [revisions, ids] = await Promise.all([
      this.revisions(runner),
      Promise.all(services.map((s) => limit(async () => [s.name, await runner(docker.imageId(s.image), { reject: false })] as const))),
    ]);
    const imageIds = new Map<string, string>();
    for (const [name, r] of ids) if (r.exitCode === 0) imageIds.set(name, r.stdout.trim());
    return { revisions, imageIds };
  }

  async revisions(runner: Runner, rendered?: string): Promise<Map<string, string>> {
    const revisions = new Map<string, string>();
    for (const l of (await runner(rendered === undefined ? this.serviceHashes() : this.renderedHashes(rendered))).stdout.split('\n')) {
      const [s, h] = l.trim().split(/\s+/);
      if (s && h) revisions.set(s, h);
    }
    return revisions;
  }

  /** The service's definition in a rendered compose file. */
  definition(service: string, file = this.file): Record<string, unknown> | undefined {
    const doc = parse(readFileSync(join(this.dir, file), 'utf8')) as { services?: Record<string, Record<string, unknown>> };
    return doc.services?.[service];
  }

  writeVariant(service: string, definition: Record<string, unknown>): string {
    const doc = parse(readFileSync(join(this.dir, this.file), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    doc.services[service] = definition;
    // Confined to the output directory: a committed link named like the file is refused, never written through.
    writeInside(this.dir, ROLLBACK_FILE, stringify(doc));
    return ROLLBACK_FILE;
  }

  protected revisionOf(labels: Record<string, string>): string | undefined {
    return labels[CONFIG_HASH_LABEL];
  }

  async readNodes(): Promise<NodeState[]> {
    return [];
  }

  async updates(): Promise<Map<string, UpdateStatus>> {
    return new Map();
  }

  async dataDir(runner: Runner): Promise<string | undefined> {
    const r = await runner(docker.info(), { reject: false }).catch(() => undefined);
    if (r && r.exitCode === 0) {
      try {
        return (JSON.parse(r.stdout) as { DockerRootDir?: string }).DockerRootDir ?? '/var/lib/docker';
      } catch {
        /* the default */
      }
    }
    return '/var/lib/docker';
  }

  /** `-p` always: v1 ignores the file's top-level name: and would use the directory name. */
  private base(): string[] {
    return [...this.compose.argv, '-p', this.project, '-f', this.file];
  }

  private c(args: string[], describe: string, extra: Omit<Cmd, 'argv' | 'describe' | 'cwd'> = {}): Cmd {
    return cmd([...this.base(), ...args], describe, { cwd: this.dir, ...extra });
  }

  validate(): Cmd {
    return this.c(['config', '--quiet'], 'validate compose.yaml', { timeoutMs: 60_000 });
  }

  build(services: string[] = []): Cmd {
    const env = this.buildkit === false ? { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' } : undefined;
    return this.c(['build', ...services], services.length ? `build images for ${services.join(', ')}` : 'build images', env ? { env } : {});
  }

  apply(): Cmd {
    // No --wait: v1 lacks it, and ops/up polls health itself so both report the same progress.
    return this.c(['up', '-d', '--remove-orphans', '--no-build'], 'create or update containers', { timeoutMs: 10 * 60_000 });
  }

  /** Only these services (and whatever they need that is missing): a recreated service's
   *  dependents are left alone, which a plain `up` (Compose 2.26) recreates with it. */
  deployServices(services: string[]): Cmd {
    return this.c(['up', '-d', '--remove-orphans', '--no-build', ...services], `create or update ${services.join(', ')}`, {
      timeoutMs: 10 * 60_000,
    });
  }

  /** Start what is missing, remove orphans, recreate nothing. */
  converge(): Cmd {
    return this.c(['up', '-d', '--remove-orphans', '--no-build', '--no-recreate'], 'start missing containers', { timeoutMs: 10 * 60_000 });
  }

  /**
   * `total` containers of the service, the existing ones kept as they are: the new ones get
   * the file's definition. Not --no-deps: Compose then leaves depends_on out of the config
   * hash, and the next plain `up` would recreate the new containers (measured on 2.26).
   */
  scaleOut(service: string, total: number, file?: string): Cmd {
    const base = file ? [...this.compose.argv, '-p', this.project, '-f', file] : this.base();
    return cmd(
      [...base, 'up', '-d', '--no-build', '--no-recreate', '--scale', `${service}=${total}`, service],
      `start new ${service} containers beside the old ones (${total} in all)`,
      { cwd: this.dir, timeoutMs: 5 * 60_000 },
    );
  }

  /** `<service> <hash>` per line: the config hash Compose labels each container with. */
  serviceHashes(): Cmd {
    return this.c(['config', '--hash', '*'], "compute each service's config hash", { timeoutMs: 60_000 });
  }

  /** The same hashes for a file not written: read from stdin, paths resolved from the output dir as for the
   *  file (which need not exist yet: before the first render there is none). */
  renderedHashes(contents: string): Cmd {
    return cmd(
      [...this.compose.argv, '-p', this.project, '-f', '-', '--project-directory', this.dir, 'config', '--hash', '*'],
      "compute each service's config hash as rendered now",
      { input: contents, timeoutMs: 60_000 },
    );
  }

  remove({ volumes, withoutFile = !existsSync(join(this.dir, this.file)) }: { volumes: boolean; withoutFile?: boolean }): Cmd {
    if (withoutFile && this.compose.kind === 'v2') {
      // v2 finds a project's resources by label, so a deleted output dir does not strand them.
      return cmd(
        [...this.compose.argv, '-p', this.project, 'down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])],
        volumes ? 'remove containers, networks and volumes' : 'remove containers and networks (volumes kept)',
        { timeoutMs: 5 * 60_000 },
      );
    }
    return this.c(
      ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])],
      volumes ? 'remove containers, networks and volumes' : 'remove containers and networks (volumes kept)',
      { timeoutMs: 5 * 60_000 },
    );
  }

  // Compose v2 (up to 2.30) and v1 stop exactly the named services, not their dependents.
  stop(services: string[]): Cmd {
    return this.c(['stop', ...services], `stop ${services.join(', ')}`, { timeoutMs: 5 * 60_000 });
  }

  start(services: string[]): Cmd {
    return this.c(['start', ...services], `start ${services.join(', ')}`, { timeoutMs: 5 * 60_000 });
  }

  logs(service: string, tail: number | 'all', opts: LogOptions = {}): Cmd {
    return this.c(
      ['logs', '--no-color', '--tail', String(tail), ...logFlags(opts), service],
      `read the last ${tail} log lines of ${service}`,
      logTimeout(opts),
    );
  }

  ps(): Cmd {
    return this.c(['ps', '-a'], 'list containers', { timeoutMs: 30_000 });
  }

  replica(c: ContainerState): string {
    return c.labels[NUMBER_LABEL] ?? c.name;
  }

  /** No dependency is started or recreated: a hook runs against what serves now. */
  run(service: string, argv: string[], attach: AttachOptions): Cmd {
    return this.c(['run', '--rm', '--no-deps', ...(attach.tty ? [] : ['-T']), service, ...argv], `run a one-off ${service} container`);
  }

  /**
   * The files are bind-mounted directories, so the running container already sees the new ones:
   * a signalled program checks them in place first (a bad file never reaches the signal: the old
   * workers keep serving), then its PID 1 (HAProxy's master) reloads. A watching one needs nothing.
   */
  reload(c: Component, containers: ContainerRef[]): Cmd[] {
    const r = c.reload;
    if (!r || r.mode === 'watch') return [];
    return containers.flatMap((k) => [
      ...(r.check ? [docker.exec(k, r.check, `check the new configuration of ${c.name} in ${k.name ?? k.id}`, 30_000)] : []),
      docker.signal(k, r.signal ?? 'SIGHUP', `reload ${c.name} in ${k.name ?? k.id} (${r.signal ?? 'SIGHUP'})`),
    ]);
  }

  tool(): ToolCheck {
    const bin = this.compose;
    return {
      id: 'compose',
      title: 'Compose available',
      cmd: cmd([...bin.argv, 'version'], 'compose version', { timeoutMs: 20_000 }),
      judge: () => ({
        status: bin.kind === 'v1' ? 'warn' : 'ok',
        detail: `${bin.argv.join(' ')} ${bin.version} (${bin.kind})`,
        hint: bin.kind === 'v1' ? 'docker-compose v1 is end-of-life: install Compose v2 (docker compose) when you can' : undefined,
      }),
      missing: 'install the compose plugin (scripts/docker/ensure-engine.sh) or docker-compose',
    };
  }

  containerFilters(): string[] {
    return [`label=${PROJECT_LABEL}=${this.project}`];
  }

  /** A one-off container (wharf run, a release hook) is no replica of its service: status, exec and rollouts skip it. */
  serviceOf(labels: Record<string, string>): string | undefined {
    return labels[PROJECT_LABEL] === this.project && labels[ONEOFF_LABEL] !== 'True' ? labels[SERVICE_LABEL] : undefined;
  }

  networkName(network: string): string {
    return `${this.project}_${network}`;
  }
}

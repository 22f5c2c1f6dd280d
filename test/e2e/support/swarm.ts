// The multi-node fixture from TypeScript: a 3-manager swarm of Docker-in-Docker nodes and a
// local registry (scripts/docker/swarm-nodes.sh), images pushed to it, and a template
// rendered for the swarm target and deployed through SwarmEngine.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { SwarmEngine } from '../../../src/engine/swarm.js';
import { run } from '../../../src/engine/run.js';
import { prepare } from '../../../src/ops/prepare.js';
import type { Plan } from '../../../src/plan/model.js';
import { ensureTestImages, repoRoot } from './images.js';
import { ensureApiBundle } from './stack.js';
// @ts-expect-error plain ESM script without types, shared with scripts/quickstart.sh
import { localSpec } from '../../../scripts/docker/local-images.mjs';
import { quietBackups } from '../../support/schedule.js';

export const swarmScript = join(repoRoot, 'scripts', 'docker', 'swarm-nodes.sh');

export interface SwarmNode {
  name: string;
  ip: string;
  dockerHost: string;
}
export interface SwarmFixture {
  prefix: string;
  network: string;
  registry: { name: string; push: string; pull: string };
  leader: string;
  /** the node labelled wharf.db=true (databases, caches and backups run there) */
  dataNode: string;
  /** whether the nodes' kernel can do what Docker's encrypted overlays need (IPsec ESP, AES-GCM) */
  encryptedOverlays: boolean;
  nodes: SwarmNode[];
}

function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as T;
}

/** Nodes, swarm and registry up (idempotent); seconds it took. */
export async function swarmUp(): Promise<{ fixture: SwarmFixture; seconds: number }> {
  const t0 = performance.now();
  const r = await execa('bash', [swarmScript, 'up'], { timeout: 15 * 60_000, stderr: 'inherit' });
  return { fixture: lastJson<SwarmFixture>(r.stdout), seconds: (performance.now() - t0) / 1000 };
}

export async function swarmStatus(): Promise<SwarmFixture> {
  return lastJson<SwarmFixture>((await execa('bash', [swarmScript, 'status'], { timeout: 60_000 })).stdout);
}

/** Pushes local images; returns local ref -> the ref the nodes pull. */
export async function pushImages(refs: string[]): Promise<{ map: Record<string, string>; seconds: number }> {
  const t0 = performance.now();
  const r = await execa('bash', [swarmScript, 'push', ...[...new Set(refs)].sort()], { timeout: 20 * 60_000, stderr: 'inherit' });
  return { map: lastJson<Record<string, string>>(r.stdout), seconds: (performance.now() - t0) / 1000 };
}

/** apps/api as an image on the node substitute, tagged by what went into it (the nodes cannot build). */
export async function ensureApiImage(nodeImage: string): Promise<string> {
  ensureApiBundle();
  const api = join(repoRoot, 'apps', 'api');
  const nodeId = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', nodeImage])).stdout.trim();
  const h = createHash('sha256')
    .update(nodeId)
    .update(readFileSync(join(api, 'Dockerfile')))
    .update(readFileSync(join(api, 'dist', 'server.js')))
    .digest('hex')
    .slice(0, 12);
  const ref = `wharf-test/swarm-api:${h}`;
  const have = await execa('docker', ['image', 'inspect', ref], { reject: false });
  if (have.exitCode !== 0) {
    await execa('docker', ['build', '-q', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', ref, api], {
      env: { DOCKER_BUILDKIT: '0' },
      timeout: 10 * 60_000,
    });
  }
  return ref;
}

export async function docker(host: string | undefined, args: string[], timeoutMs = 60_000) {
  return execa('docker', args, { env: host ? { DOCKER_HOST: host } : {}, timeout: timeoutMs, reject: false });
}

export function jsonLines<T>(s: string): T[] {
  return s
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/**
 * `stack rm`, then the stack's volumes on every node (Swarm leaves them: they are node-local).
 * A database volume initialised with another run's generated password would refuse this one.
 */
export async function removeStack(fx: SwarmFixture, project: string, timeoutMs = 120_000): Promise<void> {
  for (const n of fx.nodes) if ((await docker(n.dockerHost, ['stack', 'rm', project])).exitCode === 0) break;
  const t0 = performance.now();
  for (const n of fx.nodes) {
    while (performance.now() - t0 < timeoutMs) {
      const c = await docker(n.dockerHost, ['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${project}`]);
      if (c.exitCode !== 0) break; // node down: nothing to clean there now
      const v = await docker(n.dockerHost, ['volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${project}`]);
      const vols = v.stdout.split('\n').filter(Boolean);
      if (!c.stdout.trim() && vols.length === 0) break;
      if (!c.stdout.trim()) await docker(n.dockerHost, ['volume', 'rm', ...vols]);
      else await new Promise((res) => setTimeout(res, 1000));
    }
  }
}

export interface SwarmStack {
  dir: string;
  outDir: string;
  plan: Plan;
  engine: SwarmEngine;
  images: Record<string, string>;
  /** push seconds (0 when every image was already in the registry) */
  pushSeconds: number;
  destroy(): Promise<void>;
}

/**
 * A template rendered for the swarm: substitute images pushed to the fixture's registry and
 * referenced by the name the nodes pull, Grafana/cAdvisor off (as for Compose), the stack
 * file and configs in .wharf/swarm beside .wharf/compose (same relative secrets path).
 */
export async function createSwarmStack(
  fx: SwarmFixture,
  template: 'api',
  name: string,
  edit: (spec: Record<string, any>) => void = () => {},
): Promise<SwarmStack> {
  const local = await ensureTestImages({ progress: null });
  const api = await ensureApiImage(local.node!);
  const { map, seconds } = await pushImages([...Object.values(local), api]);
  const images = Object.fromEntries(Object.entries(local).map(([k, v]) => [k, map[v]!]));
  const dir = mkdtempSync(join(tmpdir(), `wharf-e2e-swarm-${template}-`));
  const spec = parse(readFileSync(join(repoRoot, 'templates', `${template}.yaml`), 'utf8')) as Record<string, any>;
  spec.name = name;
  localSpec(spec, images);
  quietBackups(spec);
  spec.monitoring = { ...spec.monitoring, scrapeInterval: '5s' };
  // Encrypted overlays drop all traffic between nodes where the kernel has no ESP (this VM).
  spec.cluster = { ...spec.cluster, encryptNetworks: fx.encryptedOverlays };
  for (const s of Object.values<Record<string, any>>(spec.services ?? {})) {
    if (s.build) {
      delete s.build;
      s.image = map[api];
    }
  }
  edit(spec);
  const specPath = join(dir, 'wharf.yaml');
  writeFileSync(specPath, stringify(spec));
  const p = await prepare({ specPath, target: 'swarm' });
  const outDir = p.outDir;
  await removeStack(fx, name);
  const manager = fx.nodes.find((n) => n.name === fx.leader) ?? fx.nodes[0]!;
  // The host cannot resolve the registry's in-network name to pin digests; tags are content hashes.
  const engine = new SwarmEngine({
    project: name,
    dir: outDir,
    dockerHost: manager.dockerHost,
    resolveImage: 'never',
    replicas: Object.fromEntries(p.plan.components.map((c) => [c.name, c.replicas])),
  });
  return {
    dir,
    outDir,
    plan: p.plan,
    engine,
    images,
    pushSeconds: seconds,
    async destroy() {
      await removeStack(fx, name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ServiceRow {
  Name: string;
  Mode: string;
  Replicas: string;
}

/** Every service of the stack running as many tasks as it wants ("3/3"; global: one per live node). */
export async function waitConverged(
  engine: SwarmEngine,
  services: number,
  timeoutMs: number,
): Promise<{ seconds: number; rows: ServiceRow[] }> {
  const t0 = performance.now();
  let rows: ServiceRow[] = [];
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    const r = await run(engine.services(), { reject: false });
    if (r.exitCode === 0) {
      rows = jsonLines<ServiceRow>(r.stdout);
      const done =
        rows.length === services &&
        rows.every((x) => {
          const [a, b] = x.Replicas.split(' ')[0]!.split('/');
          return a === b && Number(b) > 0;
        });
      if (done) return { seconds: (performance.now() - t0) / 1000, rows };
    } else last = r.stderr.trim().split('\n').at(-1) ?? '';
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(
    `stack ${engine.project} did not converge in ${timeoutMs} ms:\n${rows.map((x) => `${x.Name} ${x.Replicas}`).join('\n')}${last ? `\n${last}` : ''}`,
  );
}

export interface TaskRow {
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
}
export interface NodeRow {
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
}

/**
 * Reconverged after losing nodes: the swarm reports them Down, and every service runs its
 * replica count (global: one per live node) on live nodes only. `stack services` alone
 * would still count the lost node's tasks until the manager notices.
 */
export async function waitReconverged(
  engine: SwarmEngine,
  plan: Plan,
  lost: string[],
  timeoutMs: number,
): Promise<{ seconds: number; detail: string }> {
  const t0 = performance.now();
  let detail = '';
  while (performance.now() - t0 < timeoutMs) {
    const nodes = await run(engine.nodes(), { reject: false });
    const tasks = await run(engine.tasks(), { reject: false });
    if (nodes.exitCode === 0 && tasks.exitCode === 0) {
      const rows = jsonLines<NodeRow>(nodes.stdout);
      const live = rows.filter((n) => n.Status === 'Ready').map((n) => n.Hostname);
      const lostDown = lost.every((l) => rows.find((n) => n.Hostname === l)?.Status === 'Down');
      const running = jsonLines<TaskRow>(tasks.stdout).filter(
        (t) => t.DesiredState === 'Running' && t.CurrentState.startsWith('Running') && live.includes(t.Node),
      );
      const missing = plan.components.flatMap((c) => {
        const want = c.placement?.kind === 'every-node' ? live.length : c.replicas;
        const have = running.filter((t) => t.Name.startsWith(`${engine.project}_${c.name}.`)).length;
        return have === want ? [] : [`${c.name} ${have}/${want}`];
      });
      detail = `${lostDown ? '' : `not yet Down: ${lost.join(', ')}; `}${missing.join(', ')}`;
      if (lostDown && missing.length === 0) return { seconds: (performance.now() - t0) / 1000, detail: `live nodes ${live.join(', ')}` };
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`not reconverged after ${timeoutMs} ms: ${detail}`);
}

/** The current leader's node name, asked of any manager that answers. */
export async function leaderOf(fx: SwarmFixture, except: string[] = []): Promise<string | undefined> {
  for (const n of fx.nodes.filter((x) => !except.includes(x.name))) {
    const r = await docker(n.dockerHost, ['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}'], 10_000);
    const leader =
      r.exitCode === 0
        ? r.stdout
            .split('\n')
            .map((l) => l.split(' '))
            .find((p) => p[1] === 'Leader')?.[0]
        : undefined;
    if (leader) return leader;
  }
  return undefined;
}

/**
 * Leadership off a node: demote it (its managers elect another leader) and promote it back.
 * The failover test stops the leader, and it must not be the node holding the data.
 */
export async function moveLeaderOff(fx: SwarmFixture, node: string, timeoutMs = 60_000): Promise<string> {
  const other = fx.nodes.find((n) => n.name !== node)!;
  let leader = await leaderOf(fx);
  if (leader !== node) return leader!;
  await docker(other.dockerHost, ['node', 'demote', node]);
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    leader = await leaderOf(fx, [node]);
    if (leader && leader !== node) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  await docker(other.dockerHost, ['node', 'promote', node]);
  while (performance.now() - t0 < timeoutMs) {
    const r = await docker(other.dockerHost, ['node', 'inspect', '-f', '{{.ManagerStatus.Reachability}}', node]);
    if (r.stdout.trim() === 'reachable') return (await leaderOf(fx))!;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`${node} did not come back as a reachable manager`);
}

/** Run a command in the first running task of a service, on whichever node it is. */
export async function execInTask(fx: SwarmFixture, engine: SwarmEngine, service: string, argv: string[]) {
  const tasks = jsonLines<TaskRow>((await run(engine.tasks(service))).stdout).filter(
    (t) => t.DesiredState === 'Running' && t.CurrentState.startsWith('Running'),
  );
  const node = fx.nodes.find((n) => n.name === tasks[0]?.Node);
  if (!node) throw new Error(`no running task of ${service}`);
  const id = (
    await docker(node.dockerHost, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${engine.serviceName(service)}`])
  ).stdout.split('\n')[0];
  if (!id) throw new Error(`no container of ${service} on ${node.name}`);
  return docker(node.dockerHost, ['exec', id, ...argv]);
}

export interface LoadResult {
  t: number;
  ok: boolean;
  ms: number;
  why?: string;
}

/** Steady load: 4 workers, one request at a time each, 50 ms apart; every result timed (a failure with
 * the start of its body: the edge's own 503 page and the API's JSON 503 have different causes). */
export function edgeLoad(request: () => Promise<{ status: number; body?: string }>, workers = 4) {
  let stop = false;
  const results: LoadResult[] = [];
  const t0 = performance.now();
  const worker = async () => {
    while (!stop) {
      const start = performance.now();
      const t = (start - t0) / 1000;
      try {
        const r = await request();
        results.push({
          t,
          ok: r.status === 200,
          ms: performance.now() - start,
          why: r.status === 200 ? undefined : `status ${r.status}${r.body ? `: ${r.body.slice(0, 160)}` : ''}`,
        });
      } catch (e) {
        results.push({ t, ok: false, ms: performance.now() - start, why: (e as Error).message });
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const running = Array.from({ length: workers }, worker);
  return {
    t0,
    results,
    now: () => (performance.now() - t0) / 1000,
    async end() {
      stop = true;
      await Promise.all(running);
      return { results, failed: results.filter((r) => !r.ok) };
    },
  };
}

// plan -> stack.yaml for `docker stack deploy` (Compose Specification, Swarm subset).
// Pure: no fs, env, clock or randomness. Reads the same plan as the Compose renderer.
//
// Decisions, in one place:
// - Every service uses `endpoint_mode: dnsrr`: the service name and `tasks.<svc>` resolve to
//   the tasks themselves. VIPs need IPVS, which some kernels (this workplace's) lack, and the
//   edge and Prometheus want every task anyway. dnsrr forbids ingress-mode ports, so
//   published ports are host-mode: each node running the edge answers on its own address.
// - Rollouts: stateless services start the new task first, roll back on failure, and watch
//   each new task longer than its health window (start period + retries x interval +
//   timeout), so a task that turns unhealthy late still counts as a failed update. Anything
//   with a volume or a host port stops the old task first: two tasks cannot share one
//   node's data or bind one port.
// - Files the Compose target bind-mounts become Swarm configs, secrets become Swarm secrets.
//   Both are immutable in Swarm, so each gets a name with a hash of its content
//   (`<stack>_<key>_<hash8>`): a changed file is a new object and the service rolls to it.
//   `docker stack deploy --prune` removes dropped services but not superseded configs and
//   secrets: those stay until `docker stack rm` (pruning them after a deploy is still to do).
// - No `depends_on` (Swarm ignores it: services retry until their dependencies answer),
//   no `build` (nodes pull images from a registry), no `security_opt` (Swarm services have
//   no no-new-privileges option; the Compose target keeps it).
// - A component that reads the orchestrator (the Traefik edge) gets the Docker socket,
//   read-only, and runs on every manager: only managers answer the Swarm API. A read-only
//   bind of a socket does not make the API read-only; it only keeps the file itself intact.
// - Bind mounts of host paths stay bind mounts only when absolute (node agents: /proc,
//   /sys...). A path relative to the project (a local backup repository) means nothing on
//   another node: it becomes a named volume on the node the component is pinned to.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Component, NetworkName, Plan } from '../../plan/model.js';
import { updateFor } from '../../plan/placement.js';
import { byCodeUnit } from '../../plan/sort.js';
import { escapeInterpolation } from '../compose/index.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { bundlePath, inBundle } from '../bundles.js';
import { dockerHealthcheck } from '../probes.js';
import { capabilityFields, processFields, sortedRecord } from '../service-fields.js';
import { withTextfiles } from '../textfiles.js';

export const STACK_FILE = 'stack.yaml';

export interface SwarmOptions {
  /** the config files the components mount (renderConfigs output), to turn into Swarm configs */
  configs: RenderedFile[];
  /** secret name -> sha256 hex of its content; the secret files are generated outside the renderer */
  secretHashes: Record<string, string>;
  /** component -> extra service labels (deploy.labels only), e.g. the edge's discovery labels */
  serviceLabels?: Record<string, Record<string, string>>;
}

/** Where the Docker Engine API answers on every node. */
export const DOCKER_SOCKET = '/var/run/docker.sock';

/** `docker stack deploy` prefixes the stack's networks with its name (the plan's name). */
export function stackNetworkName(plan: Plan, network: NetworkName): string {
  return `${plan.name}_${network}`;
}

interface ConfigObject {
  key: string;
  file: string;
  name: string;
  target: string;
  mode: number;
}

export function renderSwarm(plan: Plan, opts: SwarmOptions): RenderedFile[] {
  const configsByComponent = new Map(plan.components.map((c) => [c.name, configObjects(plan, c, opts.configs)]));
  const services: Record<string, unknown> = {};
  for (const c of plan.components)
    services[c.name] = escapeInterpolation(
      service(withTextfiles(plan, c), plan, configsByComponent.get(c.name) ?? [], opts.serviceLabels?.[c.name] ?? {}),
    );
  const doc: Record<string, unknown> = {
    services,
    networks: Object.fromEntries(
      plan.networks.map((n) => [
        n.name,
        {
          driver: 'overlay',
          ...(n.internal ? { internal: true } : {}),
          ...(n.encrypted || n.mtu
            ? {
                driver_opts: {
                  ...(n.encrypted ? { encrypted: '' } : {}),
                  ...(n.mtu ? { 'com.docker.network.driver.mtu': String(n.mtu) } : {}),
                },
              }
            : {}),
        },
      ]),
    ),
  };
  const volumes = [
    ...new Set([
      ...plan.volumes.map((v) => v.name),
      ...plan.components.flatMap((c) => relativeBinds(c).map((m) => localVolumeName(c, m.target))),
    ]),
  ].sort(byCodeUnit);
  if (volumes.length) doc.volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
  const used = new Set(plan.components.flatMap((c) => c.secrets.map((s) => s.secret)));
  const secrets = plan.secrets.filter((s) => used.has(s.name));
  if (secrets.length) {
    doc.secrets = Object.fromEntries(
      secrets.map((s) => {
        const hash = opts.secretHashes[s.name];
        if (!hash) throw new Error(`bug: no content hash for secret ${s.name}: render Swarm after the secrets exist`);
        return [s.name, { file: `${plan.paths.secretsDir}/${s.name}`, name: objectName(plan.name, s.name, hash) }];
      }),
    );
  }
  const configs = [...configsByComponent.values()].flat();
  if (configs.length) {
    const seen = new Map<string, ConfigObject>();
    for (const o of configs) seen.set(o.key, o);
    doc.configs = Object.fromEntries(
      [...seen.values()].sort((a, b) => byCodeUnit(a.key, b.key)).map((o) => [o.key, { file: `./${o.file}`, name: o.name }]),
    );
  }
  return [{ path: STACK_FILE, contents: toYaml(doc, generatedHeader) }];
}

/** `<stack>_<key>_<hash8>`: Swarm object names are at most 64 characters. */
export function objectName(stack: string, key: string, hash: string): string {
  const h = hash.slice(0, 8);
  const room = 64 - stack.length - h.length - 2;
  return `${stack}_${key.length > room ? key.slice(0, room) : key}_${h}`;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** One Swarm config per rendered file a component mounts (a directory mount is one per file). */
function configObjects(plan: Plan, c: Component, files: RenderedFile[]): ConfigObject[] {
  const out: ConfigObject[] = [];
  for (const m of c.mounts) {
    if (m.type !== 'config') continue;
    const source = bundlePath(m.bundle);
    for (const f of files) {
      if (!inBundle(f.path, source)) continue;
      const rest = f.path === source ? '' : f.path.slice(source.length);
      const key = f.path.replace(/[^A-Za-z0-9_.-]/g, '-');
      out.push({
        key,
        file: f.path,
        name: objectName(plan.name, key, sha256(f.contents)),
        target: posix.join(m.target, rest),
        mode: f.mode === 0o755 ? 0o555 : 0o444,
      });
    }
  }
  return out.sort((a, b) => byCodeUnit(a.target, b.target));
}

function relativeBinds(c: Component) {
  return c.mounts.filter((m) => m.type === 'bind' && !posix.isAbsolute(m.source));
}

function localVolumeName(c: Component, target: string): string {
  return `${c.name}${target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`;
}

function service(c: Component, plan: Plan, configs: ConfigObject[], serviceLabels: Record<string, string>): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  s.image = c.image;
  Object.assign(s, processFields(c));
  if (configs.length) s.configs = configs.map((o) => ({ source: o.key, target: o.target, mode: o.mode }));
  s.networks = [...c.networks].sort(byCodeUnit);
  if (c.ports.length) s.ports = c.ports.map((p) => ({ target: p.container, published: p.host, protocol: 'tcp', mode: 'host' }));
  const vols = c.mounts
    .filter((m) => m.type !== 'config')
    .map((m) => {
      if (m.type === 'volume') return { type: 'volume', source: m.source, target: m.target, read_only: m.readOnly };
      if (posix.isAbsolute(m.source)) return { type: 'bind', source: m.source, target: m.target, read_only: m.readOnly };
      return { type: 'volume', source: localVolumeName(c, m.target), target: m.target, read_only: m.readOnly };
    });
  if (c.readsOrchestrator) vols.push({ type: 'bind', source: DOCKER_SOCKET, target: DOCKER_SOCKET, read_only: true });
  if (vols.length) s.volumes = vols;
  const healthcheck = dockerHealthcheck(c.healthcheck);
  if (healthcheck) s.healthcheck = healthcheck;
  s.stop_grace_period = c.stopGracePeriod;
  Object.assign(s, capabilityFields(c));
  s.logging = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } };
  const labels = sortedRecord({ ...c.labels, 'dev.wharf.stack': plan.name, 'dev.wharf.service': c.name, 'dev.wharf.role': c.role });
  s.labels = labels;
  s.deploy = deploy(c, sortedRecord({ ...serviceLabels, ...labels }));
  return s;
}

function deploy(c: Component, labels: Record<string, string>): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  const placement = c.placement ?? { kind: 'spread' };
  if (placement.kind === 'every-node' || placement.kind === 'every-control-plane-node') d.mode = 'global';
  else {
    d.mode = 'replicated';
    d.replicas = c.replicas;
  }
  d.endpoint_mode = 'dnsrr';
  const { order, monitor, parallelism } = c.update ?? updateFor(c);
  d.update_config = { parallelism, delay: '0s', order, failure_action: 'rollback', monitor, max_failure_ratio: 0 };
  d.rollback_config = { parallelism, delay: '0s', order, failure_action: 'pause', monitor, max_failure_ratio: 0 };
  d.restart_policy = { condition: 'any', delay: '5s', window: '60s' };
  d.resources = {
    limits: { cpus: String(c.resources.cpus), memory: c.resources.memory },
    ...(c.resources.reserveCpus !== undefined || c.resources.reserveMemory
      ? {
          reservations: {
            ...(c.resources.reserveCpus !== undefined ? { cpus: String(c.resources.reserveCpus) } : {}),
            ...(c.resources.reserveMemory ? { memory: c.resources.reserveMemory } : {}),
          },
        }
      : {}),
  };
  if (placement.kind === 'node-label') d.placement = { constraints: [`node.labels.${placement.label} == true`] };
  if (placement.kind === 'control-plane' || placement.kind === 'every-control-plane-node')
    d.placement = { constraints: ['node.role == manager'] };
  if (placement.kind === 'spread') d.placement = { preferences: [{ spread: 'node.id' }] };
  if (placement.kind === 'constraints') {
    const cs = [
      ...(placement.node ? [`node.hostname == ${placement.node}`] : []),
      ...Object.entries(placement.labels)
        .sort(([a], [b]) => byCodeUnit(a, b))
        .map(([k, v]) => `node.labels.${k} == ${v}`),
      ...(placement.role ? [`node.role == ${placement.role}`] : []),
    ];
    d.placement = cs.length ? { constraints: cs } : { preferences: [{ spread: 'node.id' }] };
  }
  d.labels = labels;
  return d;
}

// plan -> compose.yaml (Compose Specification; works with v2 and v1 >= 1.27).
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { Component, Plan } from '../../plan/model.js';
import { bundlePath } from '../bundles.js';
import { dockerHealthcheck } from '../probes.js';
import { withTextfiles } from '../textfiles.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { capabilityFields, processFields, sortedRecord } from '../service-fields.js';
import { byCodeUnit } from '../../plan/sort.js';

export interface ComposeOptions {
  /** per component: hash of the config files it mounts, so a change recreates it */
  configHashes?: Record<string, string>;
}

export function renderCompose(plan: Plan, opts: ComposeOptions = {}): RenderedFile[] {
  const services: Record<string, unknown> = {};
  for (const c of plan.components)
    services[c.name] = escapeInterpolation(service(withTextfiles(plan, c), plan, opts.configHashes?.[c.name]));
  const doc: Record<string, unknown> = {
    services,
    networks: Object.fromEntries(plan.networks.map((n) => [n.name, n.internal ? { internal: true } : {}])),
  };
  const volumes = plan.volumes.map((v) => v.name);
  if (volumes.length) doc.volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
  const used = new Set(plan.components.flatMap((c) => c.secrets.map((s) => s.secret)));
  const secrets = plan.secrets.filter((s) => used.has(s.name));
  if (secrets.length) doc.secrets = Object.fromEntries(secrets.map((s) => [s.name, { file: `${plan.paths.secretsDir}/${s.name}` }]));
  // The project name travels in .env, which Compose v1 and v2 both read (v1 has no top-level `name:`).
  return [
    { path: 'compose.yaml', contents: toYaml(doc, generatedHeader) },
    { path: '.env', contents: `# ${generatedHeader}\nCOMPOSE_PROJECT_NAME=${projectName(plan.name)}\n` },
  ];
}

function service(c: Component, plan: Plan, configHash?: string): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  s.image = c.image;
  if (c.build) {
    s.build = {
      context: buildContext(plan, c.build.context),
      ...(c.build.dockerfile ? { dockerfile: c.build.dockerfile } : {}),
      ...(Object.keys(c.build.args).length ? { args: sortedRecord(c.build.args) } : {}),
    };
  }
  Object.assign(s, processFields(c));
  s.networks = [...c.networks].sort();
  // Short syntax: Compose v1 rejects host_ip in the long form.
  if (c.ports.length) s.ports = c.ports.map((p) => `${hostAddress(p.hostIp)}:${p.host}:${p.container}/tcp`);
  const vols = c.mounts.map((m) => {
    const source = m.type === 'config' ? `./${bundlePath(m.bundle)}` : m.source;
    return { type: m.type === 'volume' ? 'volume' : 'bind', source, target: m.target, read_only: m.readOnly };
  });
  if (vols.length) s.volumes = vols;
  if (c.dependsOn.length) {
    s.depends_on = Object.fromEntries(
      [...c.dependsOn]
        .sort((a, b) => byCodeUnit(a.name, b.name))
        .map((d) => [d.name, { condition: d.on === 'ready' ? 'service_healthy' : 'service_started' }]),
    );
  }
  const healthcheck = dockerHealthcheck(c.healthcheck);
  if (healthcheck) s.healthcheck = healthcheck;
  s.restart = 'unless-stopped';
  s.stop_grace_period = c.stopGracePeriod;
  if (c.hardening.noNewPrivileges) s.security_opt = ['no-new-privileges:true'];
  Object.assign(s, capabilityFields(c));
  // Compose v1 ignores deploy.replicas outside swarm, so replicas use `scale`;
  // resource limits use the service-level keys both versions honour.
  if (c.replicas > 1) s.scale = c.replicas;
  s.cpus = c.resources.cpus;
  s.mem_limit = c.resources.memory.toByteUnits();
  s.logging = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } };
  s.labels = sortedRecord({
    ...c.labels,
    'dev.wharf.stack': plan.name,
    'dev.wharf.service': c.name,
    'dev.wharf.role': c.role,
    ...(configHash ? { 'dev.wharf.config-hash': configHash } : {}),
  });
  return s;
}

/** The short port syntax is colon-separated: only an IP address may stand before the ports. */
function hostAddress(ip: string): string {
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v === 6) return `[${ip}]`;
  throw new Error(`bug: published port address ${JSON.stringify(ip)} is not an IP address`);
}

/** .env has no quoting both Compose v1 and v2 read alike; Compose allows only these characters anyway. */
function projectName(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new Error(`bug: stack name ${JSON.stringify(name)} is not a Compose project name`);
  return name;
}

/** A bundle's build context is rendered beside compose.yaml (.wharf/compose of the project);
 *  written from the project like a service's own context. */
function buildContext(plan: Plan, context: NonNullable<Component['build']>['context']): string {
  return fromProject(plan, 'bundle' in context ? posix.join('.wharf/compose', bundlePath(context.bundle)) : context.project);
}

/** Build contexts are written relative to the spec; compose reads them relative to itself. */
function fromProject(plan: Plan, p: string): string {
  return posix.isAbsolute(p) ? p : posix.normalize(posix.join(plan.paths.projectDir, p));
}

/** Compose interpolates `${VAR}` in every string; wharf never relies on it, so a literal `$` (regexes, shell in healthchecks) is written as `$$`. */
export function escapeInterpolation<T>(v: T): T {
  if (typeof v === 'string') return v.replaceAll('$', '$$$$') as T;
  if (Array.isArray(v)) return v.map(escapeInterpolation) as T;
  if (v && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return escapeInterpolation((v as unknown as { toJSON(): unknown }).toJSON()) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeInterpolation(x)])) as T;
  return v;
}

// One Compose application service as a wharf service: every first-level key is accounted for.
import { relative } from 'node:path';
import type { Account } from './account.js';
import type { ComposeService } from './compose-schema.js';
import { importEnv, settleSecretEnv, type EnvContext } from './env.js';
import { importHealth, type MovedValue } from './health.js';
import { FLOATING_WHY, floatingImage, specSize, unescapeDollars } from './values.js';

export interface ServiceContext extends EnvContext {
  projectDir: string;
  domain: string;
  /** Compose service name -> datastore name, for depends_on */
  storeOf: Map<string, string>;
  /** Compose volume key -> wharf volume name */
  volumeNames: Map<string, string>;
  /** Compose secret key -> wharf secret name (declared under secrets:) */
  fileSecrets: Map<string, string>;
  /** Compose services a replaced reverse proxy sent traffic to (its depends_on) */
  proxied: Set<string>;
}

/** The port Traefik labels send traffic to, when the service is routed by labels. */
function traefikPort(labels: Record<string, string>): number | undefined {
  if (labels['traefik.enable'] === 'false') return undefined;
  const port = Object.entries(labels).find(([k]) => /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k))?.[1];
  const routed = Object.keys(labels).some((k) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k));
  return routed && port && /^\d+$/.test(port) ? Number(port) : undefined;
}

/** Ports that speak something other than HTTP: published, they cannot become an edge route. */
const NOT_HTTP = new Set([21, 22, 23, 25, 53, 110, 143, 389, 465, 587, 993, 995, 1883, 3306, 5432, 5672, 6379, 8883, 9092, 11211, 27017]);

const DROP_WHY: Record<string, string> = {
  container_name: 'wharf names containers after the stack and service',
  hostname: 'services reach each other by service name on wharf networks',
  network_mode: 'wharf attaches services to its own networks',
  privileged: 'wharf never runs privileged containers',
  logging: 'wharf keeps the engine default log driver; logs: `wharf logs SERVICE`',
  stop_grace_period: 'wharf sets the stop grace period of application services itself',
  working_dir: 'set WORKDIR in the image',
  extra_hosts: 'wharf adds no host entries: use DNS names',
  devices: 'wharf maps no devices into services',
  tmpfs: 'wharf mounts no tmpfs: write to a volume or the image',
  ulimits: 'wharf sets no ulimits',
  sysctls: 'wharf sets no sysctls',
  pid: 'wharf does not share PID namespaces',
  ipc: 'wharf does not share IPC namespaces',
  security_opt: 'wharf sets its own security options (no-new-privileges)',
  pull_policy: 'wharf pulls images itself (`wharf up`)',
  platform: 'wharf runs the engine default platform',
  links: 'legacy links: services reach each other by name',
  external_links: 'legacy links: services reach each other by name',
};

/** Keys whose content is mapped below (the rest get a DROP_WHY entry or a generic one). */
const MAPPED = new Set([
  'image', 'build', 'command', 'entrypoint', 'environment', 'ports', 'expose', 'volumes', 'healthcheck', 'deploy', 'scale',
  'cpus', 'mem_limit', 'depends_on', 'networks', 'secrets', 'configs', 'user', 'restart', 'profiles', 'cap_add', 'labels',
]); // prettier-ignore

export function importService(src: string, name: string, svc: ComposeService, ctx: ServiceContext, acc: Account): Record<string, unknown> {
  const p = `services.${src}`;
  const at = `services.${name}`;
  const out: Record<string, unknown> = {};
  if (src !== name) acc.changed(p, at, `renamed ${name}: wharf names are lowercase letters, digits and dashes`);

  if (svc.build) {
    const b = svc.build;
    const context = b.context ? relative(ctx.projectDir, b.context) || '.' : '.';
    out.build = { context, ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}) };
    const args = Object.fromEntries(Object.entries(b.args ?? {}).filter((e): e is [string, string] => e[1] !== null));
    if (Object.keys(args).length) (out.build as Record<string, unknown>).args = args;
    acc.kept(`${p}.build`, `${at}.build`);
    if (svc.image) acc.changed(`${p}.image`, null, `Wharf tags the image it builds itself (${svc.image} is not used)`);
  } else if (svc.image) {
    const image = floatingImage(svc.image);
    out.image = image.ref;
    if (image.ref !== svc.image) acc.changed(`${p}.image`, `${at}.image`, `${image.ref}: ${FLOATING_WHY}`);
    else if (image.floating) acc.kept(`${p}.image`, `${at}.image`, `untagged: ${FLOATING_WHY}`);
    else acc.kept(`${p}.image`, `${at}.image`);
  }

  // Ports: the first published HTTP port becomes the service port and an edge route.
  const ports = svc.ports ?? [];
  const http = ports.findIndex((x) => x.published != null && (x.protocol ?? 'tcp') === 'tcp' && !NOT_HTTP.has(x.target));
  const exposed = (svc.expose ?? []).map((e) => Number(String(e).split('/')[0])).find((n) => Number.isInteger(n) && n > 0);
  const labels = (svc.labels ?? {}) as Record<string, string>;
  const byLabel = http < 0 ? traefikPort(labels) : undefined;
  if (byLabel) {
    out.port = byLabel;
    out.routes = [{ host: `${name}.${ctx.domain}` }];
    acc.changed(`${p}.labels`, `${at}.routes[0]`, `Traefik labels -> edge route https://${name}.${ctx.domain}/ to port ${byLabel}`);
  } else if (http < 0 && ctx.proxied.has(src)) {
    out.routes = [{ host: `${name}.${ctx.domain}` }];
    acc.changed(p, `${at}.routes[0]`, `behind the replaced reverse proxy: now the edge route https://${name}.${ctx.domain}/`);
  }
  if (!byLabel && http >= 0) {
    out.port = ports[http]!.target;
    out.routes = [{ host: `${name}.${ctx.domain}` }];
    acc.changed(
      `${p}.ports[${http}]`,
      `${at}.routes[0]`,
      `published ${ports[http]!.published} -> edge route https://${name}.${ctx.domain}/ to port ${ports[http]!.target}`,
    );
  } else if (!byLabel) out.port = ports[0]?.target ?? exposed ?? 80;
  for (const [i, x] of ports.entries()) {
    if (i === http) continue;
    if (i === 0 && http < 0 && x.published == null) acc.kept(`${p}.ports[${i}]`, `${at}.port`);
    else
      acc.dropped(
        `${p}.ports[${i}]`,
        `Wharf publishes only HTTP through the edge, one port per service${NOT_HTTP.has(x.target) ? ` (${x.target} is not HTTP)` : ''}: ` +
          'reach it from inside the stack, or split it into its own service',
      );
  }
  if (svc.expose) acc.kept(`${p}.expose`, `${at}.port`, 'services reach each other on any port inside the stack');
  if (!ports.length && exposed === undefined && !byLabel)
    acc.changed(
      p,
      `${at}.port`,
      'no port published or exposed: wharf needs the port the service listens on; 80 assumed, correct it by hand',
    );

  if (svc.command) {
    out.command = svc.command;
    acc.kept(`${p}.command`, `${at}.command`);
  }
  const env = importEnv(src, name, svc.environment ?? {}, ctx, acc);
  const startCommand = svc.entrypoint ? [...svc.entrypoint, ...(svc.command ?? [])] : undefined;
  if (svc.entrypoint) {
    if (env.needsValue.length) {
      out.command = startCommand;
      acc.changed(
        `${p}.entrypoint`,
        `${at}.command`,
        "entrypoint and command joined: wharf's secret wrapper becomes the entrypoint and runs them",
      );
    } else
      acc.dropped(
        `${p}.entrypoint`,
        'wharf sets only the command: set ENTRYPOINT in the image, or put it first in command and reset it there',
      );
  }
  const envOut = settleSecretEnv(env, Boolean(startCommand), acc, src, name);
  if (Object.keys(envOut).length) out.env = envOut;

  const uses = new Set(env.uses);
  for (const [dep, d] of Object.entries(svc.depends_on ?? {})) {
    const store = ctx.storeOf.get(dep);
    const path = `${p}.depends_on.${dep}`;
    if (store) {
      uses.add(store);
      acc.changed(
        path,
        `${at}.uses`,
        `uses ${store}: wharf starts the service once ${store} is healthy (was ${d.condition ?? 'service_started'})`,
      );
    } else acc.dropped(path, 'wharf starts application services together: the service must retry until its peers answer');
  }
  if (uses.size) out.uses = [...uses];

  const secrets = [...env.secrets];
  for (const [i, s] of (svc.secrets ?? []).entries()) {
    const n = ctx.fileSecrets.get(s.source);
    if (!n) {
      acc.dropped(`${p}.secrets[${i}]`, `secret ${s.source} could not be imported (see secrets.${s.source})`);
      continue;
    }
    secrets.push(n);
    if (s.target && s.target !== `/run/secrets/${s.source}` && s.target !== s.source)
      acc.changed(`${p}.secrets[${i}]`, `${at}.secrets`, `mounted at /run/secrets/${n}, not ${s.target}`);
    else if (n !== s.source) acc.changed(`${p}.secrets[${i}]`, `${at}.secrets`, `mounted at /run/secrets/${n} (renamed)`);
    else acc.kept(`${p}.secrets[${i}]`, `${at}.secrets`);
  }
  if (secrets.length) out.secrets = [...new Set(secrets)];
  for (const [i, c] of (svc.configs ?? []).entries()) acc.dropped(`${p}.configs[${i}]`, CONFIG_WHY(c.source, c.target ?? `/${c.source}`));

  const vols: Array<{ name: string; target: string }> = [];
  for (const [i, v] of (svc.volumes ?? []).entries()) {
    const n = v.type === 'volume' && v.source ? ctx.volumeNames.get(v.source) : undefined;
    if (n) {
      vols.push({ name: n, target: v.target });
      const ro = v.read_only ? ' (read-only dropped: wharf mounts volumes read-write)' : '';
      if (n !== v.source || ro) acc.changed(`${p}.volumes[${i}]`, `${at}.volumes`, `volume ${n}${ro}`);
      else acc.kept(`${p}.volumes[${i}]`, `${at}.volumes`);
    } else
      acc.dropped(
        `${p}.volumes[${i}]`,
        v.type === 'bind'
          ? bindWhy(v.source ?? '?', ctx.projectDir)
          : `${v.type} mount: wharf mounts only named volumes; write to a volume (services.${name}.volumes) or the image`,
      );
  }
  if (vols.length) out.volumes = vols;

  const moved: MovedValue[] = [];
  for (const [k, raw] of Object.entries(svc.environment ?? {})) {
    if (raw === null || typeof env.env[k] === 'string' || !env.env[k]) continue;
    const read = `${k}_FILE` in envOut ? `"$(cat "$${k}_FILE")"` : k in envOut ? `"$${k}"` : undefined;
    if (read) moved.push({ value: unescapeDollars(raw), read });
  }
  const health = importHealth(p, at, svc.healthcheck, acc, moved);
  out.health = health;

  const replicas = svc.deploy?.replicas ?? svc.scale;
  if (replicas != null && replicas >= 1) {
    out.replicas = Math.min(replicas, 100);
    acc.kept(`${p}.${svc.deploy?.replicas != null ? 'deploy.replicas' : 'scale'}`, `${at}.replicas`);
  }
  const limits = svc.deploy?.resources?.limits;
  const cpus = Number(limits?.cpus ?? svc.cpus ?? NaN);
  const memory = specSize(limits?.memory ?? svc.mem_limit ?? '');
  const resources: Record<string, unknown> = {};
  if (cpus > 0) resources.cpus = cpus;
  if (memory) resources.memory = memory;
  if (Object.keys(resources).length) out.resources = resources;
  if (svc.cpus != null) acc.kept(`${p}.cpus`, `${at}.resources.cpus`);
  if (svc.mem_limit != null) acc.kept(`${p}.mem_limit`, `${at}.resources.memory`);
  importDeploy(p, at, svc.deploy ?? {}, acc);

  if (svc.user) {
    out.user = svc.user;
    acc.kept(`${p}.user`, `${at}.user`);
  }
  importCaps(p, at, svc.cap_add ?? [], out, acc);
  importLabels(p, at, labels, Boolean(byLabel), out, acc);
  if (svc.restart) acc.changed(`${p}.restart`, null, `Wharf restarts every service unless stopped (was ${svc.restart})`);
  if (svc.networks)
    acc.changed(`${p}.networks`, null, "wharf's networks: the edge reaches routed services, each service reaches the databases it uses");
  if (svc.profiles) acc.changed(`${p}.profiles`, null, 'every profile was imported: wharf has no profiles');
  for (const [k, v] of Object.entries(svc)) {
    if (MAPPED.has(k) || v === null || v === undefined) continue;
    acc.dropped(`${p}.${k}`, DROP_WHY[k] ?? `Wharf has no equivalent of ${k}`);
  }
  return out;
}

function importDeploy(p: string, at: string, deploy: Record<string, unknown>, acc: Account) {
  for (const [k, v] of Object.entries(deploy)) {
    if (k === 'replicas' || v == null || (typeof v === 'object' && !Object.keys(v).length)) continue;
    if (k !== 'resources') {
      acc.dropped(`${p}.deploy.${k}`, `Wharf decides ${k} itself (placement and update under the service's placement/update keys)`);
      continue;
    }
    for (const [r, rv] of Object.entries(v as Record<string, unknown>)) {
      if (rv == null) continue;
      if (r === 'limits') acc.kept(`${p}.deploy.resources.limits`, `${at}.resources`);
      else acc.dropped(`${p}.deploy.resources.${r}`, 'wharf sets limits only (requests on Kubernetes follow them)');
    }
  }
}

/** Capabilities wharf check refuses (policy.ts): near root on the host. */
const REFUSED_CAPS = new Set(['ALL', 'SYS_ADMIN']);

function importCaps(p: string, at: string, caps: string[], out: Record<string, unknown>, acc: Account) {
  const kept: string[] = [];
  for (const [i, raw] of caps.entries()) {
    const cap = raw.toUpperCase().replace(/^CAP_/, '');
    if (REFUSED_CAPS.has(cap) || !/^[A-Z][A-Z_]{1,30}$/.test(cap))
      acc.dropped(
        `${p}.cap_add[${i}]`,
        `${raw}: wharf refuses a capability that is root on the host; run the part that needs it outside wharf`,
      );
    else {
      kept.push(cap);
      acc.kept(`${p}.cap_add[${i}]`, `${at}.capAdd`);
    }
  }
  if (kept.length) out.capAdd = [...new Set(kept)];
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

function importLabels(
  p: string,
  at: string,
  labels: Record<string, string>,
  routedByLabel: boolean,
  out: Record<string, unknown>,
  acc: Account,
) {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const path = `${p}.labels.${k}`;
    if (k.startsWith('traefik.'))
      acc.changed(path, routedByLabel ? `${at}.routes[0]` : null, "the edge's routing comes from the spec's routes, not from labels");
    else if (k.startsWith('com.docker.') || k.startsWith('dev.wharf.'))
      acc.dropped(path, 'Compose and wharf set these labels themselves: they describe the running container, not the service');
    else if (!LABEL_KEY.test(k) || v.length > 4096)
      acc.dropped(path, 'not a key Kubernetes accepts as an annotation (at most 63 characters after an optional DOMAIN/): shorten it');
    else {
      kept[k] = v;
      acc.kept(path, `${at}.labels.${k}`);
    }
  }
  if (Object.keys(kept).length) out.labels = kept;
}

/** A config is a file at a path the image chooses; wharf's secrets land under /run/secrets/ only, so mapping one would move it. */
export const CONFIG_WHY = (source: string, target: string) =>
  `config ${source} (at ${target}): wharf has no config mounts for services; COPY the file into the image at ${target}, ` +
  `or declare it under secrets: and point the application at /run/secrets/NAME`;

/** Host paths are outside what wharf renders and backs up; one outside the project also crosses its trust boundary (src/fs/confined.ts). */
function bindWhy(source: string, projectDir: string): string {
  const inside = source === projectDir || source.startsWith(`${projectDir}/`);
  if (source === '/var/run/docker.sock')
    return 'the Docker socket: set dockerSocket: read-only on the service (wharf never mounts it writable)';
  return inside
    ? `bind mount of ${relative(projectDir, source) || '.'} (project files): wharf mounts no host paths, so every node and ` +
        'Kubernetes run the same thing; COPY them into the image (build:), or keep changing data in a named volume'
    : `bind mount of ${source}, outside the project: wharf never reaches past the project directory (a trust boundary); ` +
        'copy what the service needs into the image, or into a named volume with `docker cp`';
}

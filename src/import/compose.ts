// A Compose project (as `docker compose config --format json` resolves it) -> a wharf spec
// document, the secret files it references, and the account of every key. Pure: no fs, no env.
import { relative } from 'node:path';
import { Account, type Field } from './account.js';
import type { ComposeProject, ComposeService } from './compose-schema.js';
import { dataEngineOf, importDatastore, type Datastore } from './datastores.js';
import { CONFIG_WHY, importService, type ServiceContext } from './service.js';
import { specSize, uniqueName, wharfName } from './values.js';
import { platformComponentNames } from '../spec/rules.js';

export interface ImportOptions {
  /** the Compose project directory: build contexts and secret files become relative to it */
  projectDir: string;
  /** base domain of the routes (default NAME.localhost) */
  domain?: string;
  /** the environment Compose read (for secrets with `environment:`) */
  environment?: Record<string, string | undefined>;
}

export interface ImportResult {
  spec: Record<string, unknown>;
  /** file name under .wharf/secrets -> value */
  secretFiles: Record<string, string>;
  fields: Field[];
  /** Compose service -> the wharf component that runs it; null when wharf's edge replaces it */
  components: Record<string, string | null>;
}

export function importCompose(project: ComposeProject, o: ImportOptions): ImportResult {
  const acc = new Account();
  const name = wharfName(project.name, 'app');
  if (name === project.name) acc.kept('name', 'name', 'the Compose project name: volumes keep their Docker names');
  else acc.changed('name', 'name', `"${project.name}" is not a wharf name: Docker names of volumes change`);
  const domain = o.domain ?? `${name}.localhost`;
  // the platform's own component names: an imported service takes NAME-2
  const taken = new Set(platformComponentNames);
  const names = new Map(Object.keys(project.services).map((s) => [s, uniqueName(wharfName(s, 'svc'), taken)]));

  const spec: Record<string, unknown> = { name, domain };
  // Volumes keep their key: rendered under the same project name, Docker finds the same volume.
  const volumeNames = new Map<string, string>();
  // the platform's own volumes (prometheus-data, grafana-data...): an imported volume of that name is renamed
  const volTaken = new Set<string>(platformComponentNames.map((c) => `${c}-data`));
  for (const key of Object.keys(project.volumes ?? {})) volumeNames.set(key, uniqueName(wharfName(key, 'data'), volTaken));
  const sameDockerVolume = (key: string) => {
    const v = project.volumes?.[key];
    return (
      !!v &&
      !v.external &&
      volumeNames.get(key) === key &&
      name === project.name &&
      (v.name ?? `${project.name}_${key}`) === `${project.name}_${key}`
    );
  };
  const volumeOf = (key: string) => (volumeNames.has(key) ? { name: volumeNames.get(key)!, reused: sameDockerVolume(key) } : undefined);
  const storeVolume = new Map<string, string>();
  const services: Record<string, unknown> = {};
  const databases: Record<string, unknown> = {};
  const caches: Record<string, unknown> = {};
  const secretFiles: Record<string, string> = {};
  const stores: Datastore[] = [];
  const storeOf = new Map<string, string>();
  const proxyVolumes = new Set<string>();
  for (const [src, svc] of Object.entries(project.services)) {
    const found = dataEngineOf(svc.image);
    if (!found || svc.build) continue;
    const n = names.get(src)!;
    const d = importDatastore(src, n, svc, found, acc, volumeOf);
    (d.section === 'databases' ? databases : caches)[n] = d.spec;
    Object.assign(secretFiles, d.secretFiles);
    stores.push(d.store);
    storeOf.set(src, n);
    if (d.dataVolume) storeVolume.set(d.dataVolume, `${d.section}.${n}.volume`);
    accountDatastoreRest(src, n, d.section, svc, d.spec, acc);
  }

  const proxied = new Set<string>();
  for (const [src, svc] of Object.entries(project.services)) {
    const kind = proxyKindOf(svc.image);
    if (!kind || svc.build || storeOf.has(src)) continue;
    spec.proxy = { kind };
    storeOf.set(src, '');
    for (const dep of Object.keys(svc.depends_on ?? {})) proxied.add(dep);
    acc.changed(
      `services.${src}`,
      'proxy',
      `a ${kind} reverse proxy: wharf's own edge (proxy.kind ${kind}) replaces it, with TLS and routes from the spec`,
    );
    for (const k of Object.keys(svc))
      if (svc[k] != null) acc.changed(`services.${src}.${k}`, null, "the edge is wharf's: its configuration comes from the spec");
    for (const v of svc.volumes ?? []) if (v.type === 'volume' && v.source) proxyVolumes.add(v.source);
  }

  for (const [key, v] of Object.entries(project.volumes ?? {})) {
    const n = volumeNames.get(key)!;
    const to = storeVolume.get(key) ?? 'services.*.volumes';
    const docker = v.name ?? `${project.name}_${key}`;
    if (proxyVolumes.has(key) && !storeVolume.has(key))
      acc.dropped(`volumes.${key}`, "the replaced proxy's data: wharf's edge keeps its own");
    else if (sameDockerVolume(key))
      acc.kept(`volumes.${key}`, to, `Docker volume ${docker}: \`wharf up\` mounts the same volume, its data stays`);
    else
      acc.changed(
        `volumes.${key}`,
        to,
        `wharf's volume is ${name}_${n}, not ${v.external ? 'the external ' : ''}${docker}: copy the data over before \`wharf up\``,
      );
  }

  // the secrets wharf generates for each datastore: a Compose secret of that name is renamed
  const secretNames = new Set<string>([
    ...Object.keys(secretFiles),
    ...stores.flatMap((s) => ['password', 'url', 'root-password'].map((x) => `${s.name}-${x}`)),
  ]);
  const userSecrets: Record<string, string> = {};
  const secrets: Record<string, unknown> = {};
  const fileSecrets = new Map<string, string>();
  for (const [key, s] of Object.entries(project.secrets ?? {})) {
    const n = uniqueName(wharfName(key, 'secret'), secretNames);
    const path = `secrets.${key}`;
    const value = s.content ?? (s.environment ? o.environment?.[s.environment] : undefined);
    if (s.file) {
      secrets[n] = { file: relative(o.projectDir, s.file) };
      fileSecrets.set(key, n);
      if (n === key) acc.kept(path, `secrets.${n}`);
      else
        acc.changed(
          path,
          `secrets.${n}`,
          `renamed ${n}: ${key} is not a wharf name or is one wharf generates; mounted at /run/secrets/${n}`,
        );
    } else if (value !== undefined) {
      userSecrets[n] = value;
      fileSecrets.set(key, n);
      acc.changed(path, `secrets.${n}`, `the value moved to .wharf/secrets/${n}`);
    } else acc.dropped(path, `${s.external ? 'external' : 'no file and no value'}: declare secrets.${n} with a file by hand`);
  }
  for (const key of Object.keys(project.configs ?? {})) acc.dropped(`configs.${key}`, CONFIG_WHY(key, `/${key}`));
  for (const key of Object.keys(project.networks ?? {}))
    acc.changed(
      `networks.${key}`,
      null,
      'wharf creates its own networks (edge, backend, monitoring) and attaches each service to those it needs',
    );

  const ctx: ServiceContext = {
    projectDir: o.projectDir,
    domain,
    storeOf,
    volumeNames,
    fileSecrets,
    stores,
    userSecrets,
    secretNames,
    proxied,
  };
  for (const [src, svc] of Object.entries(project.services)) {
    if (storeOf.has(src)) continue;
    services[names.get(src)!] = importService(src, names.get(src)!, svc, ctx, acc);
  }
  for (const [n, value] of Object.entries(userSecrets)) {
    secretFiles[n] = value;
    secrets[n] = { file: `.wharf/secrets/${n}` };
  }
  acc.kept('services', 'services');
  for (const k of Object.keys(project))
    if (!['name', 'services', 'volumes', 'networks', 'secrets', 'configs'].includes(k))
      acc.dropped(k, k.startsWith('x-') ? 'a Compose extension field: its anchors were already applied' : `Wharf has no top-level ${k}`);

  if (Object.keys(services).length) spec.services = services;
  if (Object.keys(databases).length) spec.databases = databases;
  if (Object.keys(caches).length) spec.caches = caches;
  if (Object.keys(secrets).length) spec.secrets = secrets;
  const components = Object.fromEntries(
    Object.keys(project.services).map((src) => [src, storeOf.get(src) === '' ? null : names.get(src)!]),
  );
  return { spec, secretFiles, fields: acc.fields, components };
}

function proxyKindOf(image: string | null | undefined): 'traefik' | 'haproxy' | undefined {
  const m = /^(?:docker\.io\/)?(?:library\/)?(traefik|haproxy)(?:[:@]|$)/.exec(image ?? '');
  return m?.[1] as 'traefik' | 'haproxy' | undefined;
}

const DATASTORE_OWN = new Set(['image', 'environment', 'volumes']);

/** A datastore's other keys: wharf runs the engine its own way; say so for each one. */
function accountDatastoreRest(src: string, n: string, section: string, svc: ComposeService, spec: Record<string, unknown>, acc: Account) {
  const p = `services.${src}`;
  const at = `${section}.${n}`;
  const engine = String(spec.engine);
  if (src !== n) acc.changed(p, at, `renamed ${n}: wharf names are lowercase letters, digits and dashes`);
  for (const [k, v] of Object.entries(svc)) {
    if (DATASTORE_OWN.has(k) || v == null) continue;
    if (k === 'command' && section === 'caches') continue;
    if (k === 'deploy' || k === 'mem_limit' || k === 'cpus') {
      const limits = svc.deploy?.resources?.limits;
      const cpus = Number(limits?.cpus ?? svc.cpus ?? NaN);
      const memory = specSize(limits?.memory ?? svc.mem_limit ?? '');
      if (cpus > 0 || memory) {
        spec.resources = { ...(cpus > 0 ? { cpus } : {}), ...(memory ? { memory } : {}) };
        acc.kept(`${p}.${k}`, `${at}.resources`, 'resource limits only; a datastore runs one instance');
      } else acc.dropped(`${p}.${k}`, 'a wharf datastore runs one instance with its own limits (resources)');
      continue;
    }
    const why: Record<string, [string, string | null]> = {
      healthcheck: [`Wharf probes ${engine} itself (pg_isready, mysqladmin ping, redis-cli ping)`, `${at}`],
      networks: ['wharf puts datastores on its backend network, reached by the services that use them', null],
      restart: ['wharf restarts every service unless stopped', null],
      profiles: ['every profile was imported: wharf has no profiles', null],
    };
    if (why[k]) acc.changed(`${p}.${k}`, why[k][1], why[k][0]);
    else if (k === 'ports')
      acc.dropped(`${p}.ports`, `Wharf never publishes a ${engine}: reach it from a service in the stack, or with \`docker exec\``);
    else if (k === 'command') acc.dropped(`${p}.command`, `Wharf runs ${engine} with its own command (set maxConnections in the spec)`);
    else acc.dropped(`${p}.${k}`, `Wharf runs ${engine} its own way and has no equivalent of ${k}`);
  }
}

// Traefik on Swarm cannot run here (no image): its service labels are decoded back into the
// dynamic configuration the way Traefik's label parser does (case-insensitive fields, maps by
// name, comma-separated lists, `server` as the one-element `servers` list, `true` creating an
// empty section), to be held to Traefik's official JSON Schemas; and the Traefik variants of
// the swarm target, rendered. Shared by src/render/traefik/swarm-labels*.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import type { Plan } from '../../src/plan/model.js';
import { renderAll } from '../../src/render/index.js';
import { STACK_FILE } from '../../src/render/swarm/index.js';
import { loadVariant, repoRoot } from './templates.js';

export type Doc = Record<string, any>;
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schemaDir = join(repoRoot, 'test', 'fixtures', 'schemas');
const dynamicSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3-file-provider.json'), 'utf8'));
export const staticSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3.json'), 'utf8'));
const compile = (s: object) => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(s);
};
export const validateDynamic = compile(dynamicSchema);
export const validateStatic = compile(staticSchema);

// ---- Traefik's label decoding (pkg/config/label, paerser), driven by the schema ----

function resolve(node: Doc): Doc {
  let n = node;
  while (n.$ref)
    n = n.$ref
      .split('/')
      .slice(1)
      .reduce((o: Doc, k: string) => o[k], dynamicSchema);
  return n;
}
/** the named fields of a schema object, across the branches of a oneOf (services, middlewares) */
function fields(node: Doc): Record<string, Doc> {
  const n = resolve(node);
  return Object.assign({}, n.properties ?? {}, ...(n.oneOf ?? []).map((b: Doc) => fields(b)));
}
function isMap(node: Doc): boolean {
  const n = resolve(node);
  return !n.properties && !n.oneOf && typeof n.additionalProperties === 'object';
}

/** labels (traefik.enable and traefik.swarm.* already taken out) -> dynamic configuration. */
export function decodeLabels(labels: Record<string, string>): Doc {
  const root: Doc = {};
  for (const [key, value] of Object.entries(labels)) {
    const path = key.split('.');
    assert.equal(path.shift(), 'traefik', key);
    let node: Doc = dynamicSchema;
    let target = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      let name: string;
      let child: Doc;
      if (isMap(node)) {
        name = seg;
        child = resolve(node).additionalProperties;
      } else {
        const f = fields(node);
        // `loadbalancer.server.*` is the one server of `servers` (label-slice-as-struct).
        const wanted = seg.toLowerCase() === 'server' && 'servers' in f ? 'servers' : seg.toLowerCase();
        const hit = Object.keys(f).find((k) => k.toLowerCase() === wanted);
        // Server.Port exists only as a label (json:"-"): the provider turns it into URLs.
        if (!hit && wanted === 'port' && path[i - 1]?.toLowerCase() === 'server') {
          name = 'port';
          child = { type: 'string' };
        } else {
          assert.ok(hit, `${key}: Traefik has no field "${seg}" here (${Object.keys(f).join(', ')})`);
          name = hit;
          child = f[hit]!;
        }
      }
      const c = resolve(child);
      if (c.type === 'array' && c.items && resolve(c.items).type === 'object') {
        target[name] ??= [{}];
        target = target[name][0];
        node = c.items;
        continue;
      }
      if (last) {
        const t = Array.isArray(c.type) ? c.type[0] : c.type;
        if (t === 'array') target[name] = value.split(',');
        else if (t === 'integer') {
          assert.match(value, /^-?\d+$/, key);
          target[name] = Number(value);
        } else if (t === 'boolean') {
          assert.match(value, /^(true|false)$/, key);
          target[name] = value === 'true';
        } else if (t === 'object' || c.properties) {
          assert.equal(value, 'true', `${key}: a section takes only "true"`);
          target[name] ??= {};
        } else target[name] = value;
      } else {
        target[name] ??= {};
        target = target[name];
        node = child;
      }
    }
  }
  return root;
}

/** What providers.swarm makes of a service's labels with lbswarm=false: one server per task IP. */
export function asProviderOutput(labels: Record<string, string>, taskIps: string[]): { provider: Record<string, string>; cfg: Doc } {
  const provider: Record<string, string> = {};
  const dyn: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === 'traefik.enable' || k.startsWith('traefik.swarm.')) provider[k] = v;
    else if (k.startsWith('traefik.')) dyn[k] = v;
  }
  // The provider-level labels Traefik v3 documents for Swarm (routing/providers/swarm).
  for (const k of Object.keys(provider))
    assert.ok(['traefik.enable', 'traefik.swarm.network', 'traefik.swarm.lbswarm'].includes(k), `unknown swarm label ${k}`);
  const cfg = decodeLabels(dyn);
  for (const svc of Object.values<Doc>(cfg.http?.services ?? {})) {
    const servers = svc.loadBalancer.servers as Array<{ port: string }>;
    assert.equal(servers.length, 1);
    svc.loadBalancer.servers = taskIps.map((ip) => ({ url: `http://${ip}:${servers[0]!.port}` }));
  }
  return { provider, cfg };
}

// ---- the variants ----

export const secretHashes = (plan: Plan) =>
  Object.fromEntries(plan.secrets.map((s) => [s.name, createHash('sha256').update(s.name).digest('hex')]));
const asTraefik = (d: Doc) => {
  d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' };
};
export const variants: Array<{ id: string; template: string; change?: (d: Doc) => void }> = [
  { id: 'api', template: 'api' },
  { id: 'lab', template: 'lab' },
  { id: 'haproxy-mysql/traefik', template: 'haproxy-mysql', change: asTraefik },
  {
    id: 'api/acme',
    template: 'api',
    change: (d) => {
      asTraefik(d);
      d.domain = 'example.com';
      d.tls = { mode: 'acme', email: 'ops@example.com', staging: true };
    },
  },
  {
    id: 'api/features',
    template: 'api',
    change: (d) => {
      asTraefik(d);
      d.services.api.routes = [
        { host: 'api.shop.localhost' },
        { host: 'api.shop.localhost', path: '/admin', auth: true, allow: ['192.168.0.0/16'] },
        { host: '*.apps.shop.localhost' },
      ];
    },
  },
];

export function render(v: (typeof variants)[number], change?: (p: Plan) => void) {
  const { plan } = loadVariant(v);
  change?.(plan);
  const files = renderAll(plan, 'swarm', { secretHashes: secretHashes(plan) });
  const byPath = new Map(files.map((f) => [f.path, f.contents]));
  const stack = parse(byPath.get(STACK_FILE)!) as Doc;
  const fileDocs = [...byPath].filter(([p]) => p.startsWith('traefik/dynamic/')).map(([, c]) => parse(c) as Doc);
  const fileCfg: Doc = { http: { routers: {}, middlewares: {} } };
  for (const d of fileDocs) for (const k of ['routers', 'middlewares'] as const) Object.assign(fileCfg.http[k], d.http?.[k] ?? {});
  return { plan, files, stack, fileDocs, fileCfg, static: parse(byPath.get('traefik/traefik.yml')!) as Doc };
}
export const traefikLabels = (svc: Doc) =>
  Object.fromEntries(
    Object.entries<string>(svc.deploy.labels)
      .filter(([k]) => k.startsWith('traefik.'))
      .map(([k, v]) => [k, v.replaceAll('$$', '$')]),
  );

// Traefik on Swarm cannot run here (no image): its service labels are decoded back into the
// dynamic configuration the way Traefik's label parser does (case-insensitive fields, maps by
// name, comma-separated lists, `server` as the one-element `servers` list, `true` creating an
// empty section) and held to Traefik's official file-provider JSON Schema, together with the
// file provider's own files and the cross-references between them. `docker stack config`
// shows the labels survive the stack file's interpolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { execa } from 'execa';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import type { Plan } from '../../plan/model.js';
import { renderAll } from '../index.js';
import { STACK_FILE } from '../swarm/index.js';
import { loadVariant, repoRoot } from '../../../test/support/templates.js';
import { propertyParams } from '../../../test/support/property.js';
import { parseRule } from '../../../test/support/traefik-rule.js';
import { denyRouterPriority, routeRule, swarmProvider } from './index.js';
import { traefikSwarmLabels } from './swarm-labels.js';

type Doc = Record<string, any>;
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schemaDir = join(repoRoot, 'test', 'fixtures', 'schemas');
const dynamicSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3-file-provider.json'), 'utf8'));
const staticSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3.json'), 'utf8'));
const compile = (s: object) => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(s);
};
const validateDynamic = compile(dynamicSchema);
const validateStatic = compile(staticSchema);

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
function asProviderOutput(labels: Record<string, string>, taskIps: string[]): { provider: Record<string, string>; cfg: Doc } {
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

const secretHashes = (plan: Plan) =>
  Object.fromEntries(plan.secrets.map((s) => [s.name, createHash('sha256').update(s.name).digest('hex')]));
const asTraefik = (d: Doc) => {
  d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' };
};
const variants: Array<{ id: string; template: string; change?: (d: Doc) => void }> = [
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

function render(v: (typeof variants)[number], change?: (p: Plan) => void) {
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
const traefikLabels = (svc: Doc) =>
  Object.fromEntries(
    Object.entries<string>(svc.deploy.labels)
      .filter(([k]) => k.startsWith('traefik.'))
      .map(([k, v]) => [k, v.replaceAll('$$', '$')]),
  );

for (const v of variants) {
  test(`swarm traefik ${v.id}: labels decode to a dynamic config Traefik's schema accepts, and every reference resolves`, () => {
    const { plan, stack, fileDocs, fileCfg, static: st } = render(v);
    assert.ok(validateStatic(st), JSON.stringify(validateStatic.errors?.slice(0, 5), null, 2));
    // The static schema allows unknown top-level keys; Traefik does not.
    for (const k of Object.keys(st)) assert.ok(k in staticSchema.properties, `static key ${k}`);
    for (const d of fileDocs) assert.ok(validateDynamic(d), JSON.stringify(validateDynamic.errors?.slice(0, 5), null, 2));
    const routed = plan.routes.filter((r) => r.service !== plan.proxy.component);
    assert.ok(routed.length > 0);
    for (const [name, svc] of Object.entries<Doc>(stack.services)) {
      const labels = traefikLabels(svc);
      assert.ok(
        !Object.keys(svc.labels ?? {}).some((k) => k.startsWith('traefik.')),
        `${name}: Swarm mode reads service labels; container labels would be ignored`,
      );
      if (!routed.some((r) => r.service === name)) {
        assert.deepEqual(labels, {}, `${name} is not routed`);
        continue;
      }
      const replicas = plan.components.find((c) => c.name === name)!.replicas;
      const { provider, cfg } = asProviderOutput(
        labels,
        Array.from({ length: replicas }, (_, i) => `10.0.9.${i + 2}`),
      );
      assert.deepEqual(provider, {
        'traefik.enable': 'true',
        'traefik.swarm.lbswarm': 'false',
        'traefik.swarm.network': swarmProvider.network(plan),
      });
      assert.ok(validateDynamic(cfg), `${name}: ${JSON.stringify(validateDynamic.errors?.slice(0, 5), null, 2)}`);
      for (const r of routed.filter((x) => x.service === name)) {
        const router: Doc = cfg.http.routers[r.name];
        assert.ok(router, `route ${r.name} has a router on ${name}`);
        assert.equal(router.rule, routeRule(r));
        const hosts = parseRule(router.rule).filter((m) => m.matcher.startsWith('Host'));
        assert.equal(hosts.length, 1);
        assert.deepEqual(router.entryPoints, ['websecure']);
        for (const ep of router.entryPoints) assert.ok(ep in st.entryPoints);
        if (plan.tls.mode === 'acme') assert.ok(router.tls.certResolver in st.certificatesResolvers);
        else assert.deepEqual(router.tls, {});
        const lb: Doc = cfg.http.services[router.service]?.loadBalancer;
        assert.ok(lb, `${r.name} names a service of its own provider`);
        assert.equal(lb.servers.length, replicas);
        assert.ok(lb.servers.every((s: Doc) => s.url.endsWith(`:${r.port}`)));
        assert.equal(lb.healthCheck.path, r.healthPath ?? '/');
        for (const m of router.middlewares) {
          const [n, p] = m.split('@');
          assert.equal(p, 'file', `${m}: middlewares live in the file provider`);
          assert.ok(n in fileCfg.http.middlewares, `${m} exists in traefik/dynamic`);
        }
        assert.equal(router.middlewares.at(-1), 'retry@file', 'retry wraps only the call to the task');
        assert.deepEqual(fileCfg.http.middlewares.retry.retry.attempts > 1, true);
        if (r.auth) assert.ok(router.middlewares.includes('edge-auth@file'));
      }
    }
    // The file provider: the dashboard and the deny routers, nothing discovery provides.
    const denies = routed.flatMap((r) => r.denyPaths.map((_, i) => `${r.name}-deny-${i}`));
    const proxyRoutes = plan.routes.filter((r) => r.service === plan.proxy.component).map((r) => r.name);
    assert.deepEqual(Object.keys(fileCfg.http.routers).sort(), [...denies, ...proxyRoutes].sort());
    for (const n of denies) assert.equal(fileCfg.http.routers[n].priority, denyRouterPriority);
    assert.ok(!fileDocs.some((d) => d.http?.services), 'no file-provider services on swarm');
    // The provider watches the edge overlay under its stack-prefixed name, which every routed service joins.
    const sw = st.providers.swarm;
    assert.equal(sw.network, `${plan.name}_edge`);
    assert.ok('edge' in stack.networks);
    for (const r of routed) assert.ok(stack.services[r.service].networks.includes('edge'), `${r.service} on the edge network`);
    assert.equal(sw.exposedByDefault, false);
    assert.equal(sw.endpoint, 'unix:///var/run/docker.sock');
    assert.deepEqual(parseLabelConstraint(sw.constraints), ['com.docker.stack.namespace', plan.name]);
    assert.ok(st.providers.file, 'the file provider stays');
  });
}

function parseLabelConstraint(c: string): string[] {
  const m = /^Label\(`([^`]*)`, `([^`]*)`\)$/.exec(c);
  assert.ok(m, c);
  return [m[1]!, m[2]!];
}

test('the decoder has teeth: a misspelt field or a section given a value is refused', () => {
  assert.throws(() => decodeLabels({ 'traefik.http.routers.a.rules': 'Host(`a`)' }), /no field "rules"/);
  assert.throws(() => decodeLabels({ 'traefik.http.services.a.loadbalancer.healthcheck.pth': '/' }), /no field "pth"/);
  assert.throws(() => decodeLabels({ 'traefik.http.routers.a.tls': 'yes' }), /only "true"/);
  assert.throws(() => decodeLabels({ 'traefik.http.routers.a.priority': 'high' }));
  const bad = decodeLabels({ 'traefik.http.middlewares.m.retry.initialinterval': '1s' });
  assert.ok(!validateDynamic(bad), 'retry without attempts fails the schema');
  assert.throws(() => asProviderOutput({ 'traefik.docker.lbswarm': 'false' }, []), /no field "docker"/, 'the v2 spelling is ignored by v3');
  assert.throws(() => asProviderOutput({ 'traefik.swarm.lbSwarm.x': 'false' }, []), /unknown swarm label/);
});

test('Traefik on swarm: the Docker socket read-only and every manager, decided by the plan; Compose and HAProxy untouched', () => {
  const { plan, stack } = render(variants[0]!);
  const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
  assert.equal(proxy.readsOrchestrator, true);
  assert.deepEqual(proxy.placement, { kind: 'every-control-plane-node' });
  const s = stack.services.proxy;
  assert.equal(s.deploy.mode, 'global');
  assert.deepEqual(s.deploy.placement, { constraints: ['node.role == manager'] });
  assert.deepEqual(
    s.volumes.filter((m: Doc) => m.source === '/var/run/docker.sock'),
    [{ type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', read_only: true }],
  );
  // Anything else has the socket only where its plan mounts it on every target (cAdvisor).
  for (const c of plan.components.filter((x) => x.name !== 'proxy')) {
    const planned = c.mounts.some((m) => m.type === 'bind' && m.source === '/var/run/docker.sock');
    assert.equal(
      (stack.services[c.name].volumes ?? []).some((m: Doc) => m.source === '/var/run/docker.sock'),
      planned,
      c.name,
    );
  }
  const compose = renderAll(plan, 'compose').filter((f) => /compose\.ya?ml$/.test(f.path));
  assert.equal(compose.length, 1, 'one compose file');
  const cp = (parse(compose[0]!.contents) as Doc).services.proxy;
  assert.ok(!JSON.stringify(cp).includes('docker.sock'), 'no socket for Traefik on Compose');
  assert.equal(cp.deploy?.placement, undefined);
  const h = loadVariant({
    template: 'api',
    change: (d) => {
      d.proxy = { ...(d.proxy ?? {}), kind: 'haproxy' };
    },
  }).plan;
  const hs = (parse(renderAll(h, 'swarm', { secretHashes: secretHashes(h) }).find((f) => f.path === STACK_FILE)!.contents) as Doc).services
    .proxy;
  assert.equal(hs.deploy.mode, 'global');
  assert.equal(hs.deploy.placement, undefined, 'HAProxy answers on every node');
  assert.ok(!(hs.volumes ?? []).some((m: Doc) => m.source === '/var/run/docker.sock'));
  assert.ok(!Object.keys(hs.deploy.labels).some((k) => k.startsWith('traefik.')));
});

test('docker stack config resolves the labels to exactly what the plan meant ($ in HostRegexp survives interpolation)', async () => {
  const { plan, files } = render(variants.find((v) => v.id === 'api/features')!);
  const root = mkdtempSync(join(tmpdir(), 'wharf-traefik-labels-'));
  try {
    for (const f of files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.contents);
    }
    const secrets = join(root, plan.paths.secretsDir);
    mkdirSync(secrets, { recursive: true });
    for (const s of plan.secrets) writeFileSync(join(secrets, s.name), 'x');
    const r = await execa('docker', ['stack', 'config', '-c', STACK_FILE], {
      cwd: root,
      reject: false,
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const resolved = parse(r.stdout) as Doc;
    const want = traefikSwarmLabels(plan);
    assert.ok(
      Object.values(want.api!).some((x) => x.includes('$')),
      'the wildcard rule has a $ to survive',
    );
    for (const [svc, labels] of Object.entries(want)) {
      const got = Object.fromEntries(
        Object.entries<string>(resolved.services[svc].deploy.labels).filter(([k]) => k.startsWith('traefik.')),
      );
      assert.deepEqual(got, labels, svc);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// Hostile input: a route host and path the schema would refuse, put into the plan directly.
// Either the render refuses, or the label is one YAML value that decodes, after the stack
// file's interpolation, to a rule whose matchers carry the input unchanged.
const nasty = [
  '\n',
  '\r',
  '`',
  '"',
  "'",
  '$',
  '${HOME}',
  '$$',
  '\\',
  '#',
  ' ',
  ',',
  ':',
  '- ',
  '=',
  '@',
  '.',
  '😀',
  '\u2028',
  '\t',
  ')',
  '(',
  '&&',
];
const hostile = fc.array(fc.constantFrom(...nasty, 'a', 'x.y'), { minLength: 1, maxLength: 8 }).map((xs) => `wq7${xs.join('')}`);
test('property: a hostile host or path reaches the labels escaped, or the render refuses', () => {
  const base = variants[0]!;
  const benign = render(base);
  const benignKeys = Object.keys(benign.stack.services.api.deploy.labels).sort();
  fc.assert(
    fc.property(hostile, hostile, (host, path) => {
      let out;
      try {
        out = render(base, (p) => {
          const r = p.routes.find((x) => x.service === 'api')!;
          r.host = host;
          r.path = `/${path}`;
        });
      } catch (e) {
        assert.ok(e instanceof Error);
        return;
      }
      const text = out.files.find((f) => f.path === STACK_FILE)!.contents;
      assert.equal(parseAllDocuments(text).length, 1);
      const labels = out.stack.services.api.deploy.labels as Record<string, string>;
      assert.deepEqual(Object.keys(labels).sort(), benignKeys, 'no label injected or lost');
      const raw = labels['traefik.http.routers.api.rule']!;
      assert.match(raw, /^(?:[^$]|\$\$)*$/, 'every $ escaped for Compose interpolation');
      const m = parseRule(raw.replaceAll('$$', '$'));
      assert.deepEqual(
        m.map((x) => [x.matcher, x.args]),
        [
          ['Host', [host]],
          ['PathPrefix', [`/${path}`]],
        ],
      );
    }),
    propertyParams(100),
  );
});

// Traefik on Swarm, without a process: each routed service's labels, decoded back into the
// dynamic configuration the way Traefik's label parser does (test/support/traefik-swarm.ts),
// are held to Traefik's official file-provider JSON Schema together with the file provider's
// own files and the cross-references between them; hostile hosts and paths are a property.
// `docker stack config` on the labels: swarm-labels.tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import { renderAll } from '../index.js';
import { STACK_FILE } from '../swarm/index.js';
import { loadVariant } from '../../../test/support/templates.js';
import { propertyParams } from '../../../test/support/property.js';
import { parseRule } from '../../../test/support/traefik-rule.js';
import {
  asProviderOutput,
  decodeLabels,
  type Doc,
  render,
  secretHashes,
  staticSchema,
  traefikLabels,
  validateDynamic,
  validateStatic,
  variants,
} from '../../../test/support/traefik-swarm.js';
import { denyRouterPriority, routeRule, swarmProvider } from './index.js';

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

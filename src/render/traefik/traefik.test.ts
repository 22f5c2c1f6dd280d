// Traefik cannot run here: its rendered files are held to Traefik's official JSON
// schemas (SchemaStore traefik-v3 / traefik-v3-file-provider, kept in
// test/fixtures/schemas) plus the cross-references the schemas cannot see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { loadVariant, repoRoot, templateNames } from '../../../test/support/templates.js';
import { parseRule } from '../../../test/support/traefik-rule.js';
import { denyRouterPriority, denyRule, renderTraefik, replicaUrls, routeRule } from './index.js';
import { bundlePath } from '../bundles.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schemaDir = join(repoRoot, 'test', 'fixtures', 'schemas');
const staticSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3.json'), 'utf8'));
const dynamicSchema = JSON.parse(readFileSync(join(schemaDir, 'traefik-v3-file-provider.json'), 'utf8'));

function compile(schema: object): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}
const validateStatic = compile(staticSchema);
const validateDynamic = compile(dynamicSchema);

type Doc = Record<string, any>;
const asTraefik = (d: Doc) => {
  d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' };
};
const asAcme = (d: Doc) => {
  asTraefik(d);
  d.domain = 'example.com';
  d.tls = { mode: 'acme', email: 'ops@example.com', staging: true };
};
/** Every feature at once: path routes on one host, allow-lists, auth, non-standard ports. */
const featureful = (d: Doc) => {
  asTraefik(d);
  d.proxy = { ...d.proxy, httpPort: 8080, httpsPort: 8443, dashboard: { allow: ['10.0.0.0/8'] } };
  d.services.api.routes = [
    { host: 'api.shop.localhost' },
    { host: 'api.shop.localhost', path: '/admin', auth: true, allow: ['192.168.0.0/16', '10.0.0.0/8'] },
    { host: '*.apps.shop.localhost' },
  ];
};

const variants = [
  ...templateNames.map((t) => ({ id: `${t}/traefik`, template: t, change: asTraefik })),
  { id: 'api/traefik+acme', template: 'api', change: asAcme },
  // the same ca: as the HAProxy edge's client: a directory (Pebble, a company CA) and its root
  {
    id: 'api/traefik+acme-ca',
    template: 'api',
    change: (d: Doc) => {
      asAcme(d);
      d.tls = { mode: 'acme', email: 'ops@example.com', ca: { directory: 'https://pebble:14000/dir', root: './pebble.pem' } };
    },
  },
  { id: 'api/traefik+features', template: 'api', change: featureful },
];

function render(v: (typeof variants)[number]) {
  const { plan } = loadVariant(v);
  const files = renderTraefik(plan);
  const docs = new Map(files.map((f) => [f.path, parse(f.contents) as Doc]));
  return { plan, files, docs };
}

function dynamicMerged(docs: Map<string, Doc>): Doc {
  const out: Doc = { http: { routers: {}, services: {}, middlewares: {} }, tls: {} };
  for (const [p, d] of docs) {
    if (!p.startsWith('traefik/dynamic/')) continue;
    for (const k of ['routers', 'services', 'middlewares']) {
      for (const [n, v] of Object.entries(d.http?.[k] ?? {})) {
        assert.ok(!(n in out.http[k]), `${k} ${n} is defined twice across dynamic files (Traefik rejects duplicates)`);
        out.http[k][n] = v;
      }
    }
    Object.assign(out.tls, d.tls ?? {});
  }
  return out;
}

function errors(v: ValidateFunction): string {
  return JSON.stringify(v.errors?.slice(0, 5), null, 1);
}

test('traefik schemas have teeth: typos and wrong shapes are rejected', () => {
  const { docs } = render(variants[0]!);
  const st = structuredClone(docs.get('traefik/traefik.yml')!);
  st.entryPoints.web.adress = ':80';
  assert.equal(validateStatic(st), false);
  const st2 = structuredClone(docs.get('traefik/traefik.yml')!);
  st2.providers.file.watch = 'yes';
  assert.equal(validateStatic(st2), false);
  const routes = structuredClone(docs.get('traefik/dynamic/routes.yml')!);
  routes.http.routers.api.rulez = routes.http.routers.api.rule;
  assert.equal(validateDynamic(routes), false);
  const mws = structuredClone(docs.get('traefik/dynamic/middlewares.yml')!);
  mws.http.middlewares['security-headers'].headers.frameDenied = true;
  assert.equal(validateDynamic(mws), false);
  const svc = structuredClone(docs.get('traefik/dynamic/routes.yml')!);
  svc.http.services.api.loadBalancer.servers = [];
  assert.equal(validateDynamic(svc), false);
});

for (const v of variants) {
  test(`traefik ${v.id}: static and dynamic files pass Traefik's JSON schemas`, () => {
    const { files, docs } = render(v);
    assert.deepEqual(
      files.map((f) => f.path),
      ['traefik/traefik.yml', 'traefik/dynamic/middlewares.yml', 'traefik/dynamic/routes.yml', 'traefik/dynamic/tls.yml'],
    );
    const st = docs.get('traefik/traefik.yml')!;
    assert.ok(validateStatic(st), `traefik.yml: ${errors(validateStatic)}`);
    // The static schema allows unknown top-level keys; Traefik does not.
    for (const k of Object.keys(st)) assert.ok(k in staticSchema.properties, `traefik.yml: unknown top-level key ${k}`);
    for (const [p, d] of docs) {
      if (p === 'traefik/traefik.yml') continue;
      assert.ok(validateDynamic(d), `${p}: ${errors(validateDynamic)}`);
    }
  });

  test(`traefik ${v.id}: routers only reference what exists, every route is TLS-only on websecure`, () => {
    const { plan, docs } = render(v);
    const dyn = dynamicMerged(docs);
    const routers = dyn.http.routers as Record<string, Doc>;
    for (const [n, r] of Object.entries(routers)) {
      assert.deepEqual(r.entryPoints, ['websecure'], `${n}: entry points`);
      assert.ok(r.tls, `${n}: tls`);
      if (plan.tls.mode === 'acme') assert.equal(r.tls.certResolver, 'le');
      assert.ok(r.service.endsWith('@internal') || r.service in dyn.http.services, `${n}: service ${r.service} undefined`);
      for (const m of r.middlewares ?? []) assert.ok(m in dyn.http.middlewares, `${n}: middleware ${m} undefined`);
      assert.equal(r.middlewares[0], 'security-headers', `${n}: security headers first`);
    }
    for (const r of plan.routes) {
      assert.equal(routers[r.name]?.rule, routeRule(r));
      const mws = routers[r.name]!.middlewares as string[];
      assert.equal(mws.includes('edge-auth'), r.auth, `${r.name}: basic auth iff route.auth`);
      assert.equal(mws.includes(`${r.name}-allow`), !!r.allow?.length, `${r.name}: allow-list iff route.allow`);
      if (r.allow?.length) assert.deepEqual(dyn.http.middlewares[`${r.name}-allow`].ipAllowList.sourceRange, r.allow);
    }
  });
}

test('traefik: every rendered rule parses under the v3 rule grammar and names the route host', () => {
  assert.throws(() => parseRule('Host(`a`) && PathPrefix(/x)'));
  assert.throws(() => parseRule('Host(`a`, `b`)'));
  assert.throws(() => parseRule('HostSNI(`a`)'));
  for (const v of variants) {
    const { plan, docs } = render(v);
    const routers = dynamicMerged(docs).http.routers as Record<string, Doc>;
    for (const [n, r] of Object.entries(routers)) {
      const ms = parseRule(r.rule);
      const route = plan.routes.find((x) => n === x.name || n.startsWith(`${x.name}-deny-`))!;
      assert.ok(route, n);
      const host = ms.find((m) => m.matcher.startsWith('Host'))!;
      if (host.matcher === 'Host') assert.equal(host.args[0], route.host);
      else assert.ok(new RegExp(host.args[0]!.replace('(?i)', ''), 'i').test(route.host.replace('*', 'x')), `${n}: ${r.rule}`);
    }
  }
});

test('traefik: static config — redirect, entry points, metrics not on a public entry point, file provider only', () => {
  for (const v of variants) {
    const { plan, docs } = render(v);
    const st = docs.get('traefik/traefik.yml')!;
    const published = (host: number) =>
      plan.components.find((c) => c.name === plan.proxy.component)!.ports.find((p) => p.host === host)!.container;
    assert.equal(st.entryPoints.web.address, `:${published(plan.proxy.httpPort)}`);
    assert.equal(st.entryPoints.websecure.address, `:${published(plan.proxy.httpsPort)}`);
    assert.equal(published(plan.proxy.httpsPort), 443);
    assert.deepEqual(st.entryPoints.web.http.redirections.entryPoint, {
      to: plan.proxy.httpsPort === 443 ? 'websecure' : `:${plan.proxy.httpsPort}`,
      scheme: 'https',
      permanent: true,
    });
    const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
    // The metrics entry point is the one the plan scrapes, and is not published.
    assert.equal(st.entryPoints.metrics.address, `:${proxy.metrics?.port ?? 8082}`);
    assert.ok(!proxy.ports.some((p) => `:${p.container}` === st.entryPoints.metrics.address), 'metrics port published');
    assert.equal(st.metrics.prometheus.entryPoint, 'metrics');
    assert.equal(st.metrics.prometheus.addRoutersLabels, true);
    assert.equal(st.metrics.prometheus.addServicesLabels, true);
    assert.equal(st.ping.entryPoint, 'metrics');
    assert.equal(st.api.insecure, false);
    assert.equal(st.api.dashboard, true);
    assert.deepEqual(Object.keys(st.providers), ['file']);
    assert.equal(st.providers.file.directory, '/etc/traefik/dynamic');
    // The compose renderer mounts the dynamic directory exactly there.
    assert.ok(
      proxy.mounts.some(
        (m) => m.type === 'config' && bundlePath(m.bundle) === 'traefik/dynamic' && m.target === st.providers.file.directory,
      ),
    );
    assert.ok(
      proxy.mounts.some(
        (m) => m.type === 'config' && bundlePath(m.bundle) === 'traefik/traefik.yml' && m.target === '/etc/traefik/traefik.yml',
      ),
    );
    assert.equal(st.accessLog.format, 'json');
    assert.equal(st.accessLog.fields.headers.defaultMode, 'drop', 'Authorization must not reach the access log');
    if (plan.tls.mode === 'acme') {
      assert.deepEqual(st.certificatesResolvers.le.acme, {
        email: plan.tls.email,
        storage: '/acme/acme.json',
        httpChallenge: { entryPoint: 'web' },
        caServer: plan.tls.caServer,
      });
      assert.match(plan.tls.caServer ?? '', /^https:\/\/(acme-staging-v02\.api\.letsencrypt\.org|pebble:14000)\/dir/);
      assert.ok(
        proxy.mounts.some((m) => m.type === 'volume' && m.target === '/acme'),
        'ACME storage on a volume',
      );
      assert.equal(docs.get('traefik/dynamic/tls.yml')!.tls.stores, undefined);
    } else {
      assert.equal(st.certificatesResolvers, undefined);
    }
  }
});

test('traefik: metrics paths are refused by a higher-priority router on every host that declares them', () => {
  for (const v of variants) {
    const { plan, docs } = render(v);
    const routers = dynamicMerged(docs).http.routers as Record<string, Doc>;
    const maxDefault = Math.max(
      ...Object.values(routers)
        .filter((r) => r.priority !== denyRouterPriority)
        .map((r) => r.priority ?? r.rule.length),
    );
    const withMetrics = plan.routes.filter((r) => r.denyPaths.length);
    assert.ok(withMetrics.length > 0 || v.template === 'lab', `${v.id}: expected a route with metrics`);
    for (const r of withMetrics) {
      r.denyPaths.forEach((p, i) => {
        const d = routers[`${r.name}-deny-${i}`];
        assert.ok(d, `${r.name}: no deny router for ${p}`);
        assert.equal(d.rule, denyRule(r, p));
        assert.equal(d.priority, denyRouterPriority);
        assert.ok(d.priority > maxDefault, 'deny router must outrank default (rule-length) priorities');
        assert.deepEqual(d.middlewares, ['security-headers', 'deny-all']);
      });
    }
  }
  const deny = dynamicMerged(render(variants[0]!).docs).http.middlewares['deny-all'];
  assert.deepEqual(deny, { ipAllowList: { sourceRange: ['255.255.255.255/32'], rejectStatusCode: 404 } });
});

test('traefik: the deny regexp catches case and trailing variants but not neighbours (Go RE2 and JS agree on this subset)', () => {
  const { plan } = render(variants[0]!);
  const r = plan.routes.find((x) => x.denyPaths.includes('/metrics'))!;
  const m = /PathRegexp\(`\(\?i\)(.*)`\)/.exec(denyRule(r, '/metrics'));
  assert.ok(m, denyRule(r, '/metrics'));
  const re = new RegExp(m[1]!, 'i');
  for (const p of ['/metrics', '/metrics/', '/METRICS', '/Metrics/x']) assert.ok(re.test(p), p);
  for (const p of ['/metricsx', '/api/metrics', '/', '/health']) assert.ok(!re.test(p), p);
});

test('traefik: services list every replica, health-checked, and the dashboard goes to api@internal behind auth', () => {
  for (const v of variants) {
    const { plan, docs } = render(v);
    const dyn = dynamicMerged(docs);
    for (const r of plan.routes) {
      if (r.service === plan.proxy.component) {
        const d = dyn.http.routers[r.name];
        assert.equal(d.service, 'api@internal');
        assert.ok(d.middlewares.includes('edge-auth'), 'dashboard without basic auth');
        if (plan.proxy.dashboardAllow?.length) assert.ok(d.middlewares.includes(`${r.name}-allow`));
        continue;
      }
      const lb = dyn.http.services[r.name].loadBalancer;
      assert.deepEqual(
        lb.servers.map((s: Doc) => s.url),
        replicaUrls(plan, r),
      );
      assert.equal(lb.servers.length, r.replicas);
      assert.equal(lb.healthCheck.path, r.healthPath ?? '/');
      assert.ok(parseInt(lb.healthCheck.interval, 10) > parseInt(lb.healthCheck.timeout, 10), 'interval must exceed timeout');
    }
    assert.ok(
      plan.routes.some((r) => r.service === plan.proxy.component),
      `${v.id}: dashboard route`,
    );
    assert.equal(dyn.http.middlewares['edge-auth'].basicAuth.usersFile, `/run/secrets/${plan.proxy.authSecret}`);
    const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
    assert.ok(
      proxy.secrets.some((s) => s.target === `/run/secrets/${plan.proxy.authSecret}`),
      'users file is mounted',
    );
  }
});

test('traefik: replica addressing — per container for Compose v2/v1, the alias for one replica', () => {
  const { plan } = render(variants[0]!);
  const api = plan.routes.find((r) => r.service === 'api')!;
  assert.equal(api.replicas, 3);
  assert.deepEqual(replicaUrls(plan, api), ['http://shop-api-1:3000', 'http://shop-api-2:3000', 'http://shop-api-3:3000']);
  assert.deepEqual(replicaUrls(plan, api, 'compose-v1'), ['http://shop_api_1:3000', 'http://shop_api_2:3000', 'http://shop_api_3:3000']);
  const one = { ...api, replicas: 1 };
  assert.deepEqual(replicaUrls(plan, one), ['http://api:3000']);
});

test('traefik: TLS — default store certificate from the secrets, TLS 1.2 minimum', () => {
  const { plan, docs } = render(variants[0]!);
  const tls = docs.get('traefik/dynamic/tls.yml')!.tls;
  const cert = { certFile: `/run/secrets/${plan.tls.certSecret}`, keyFile: `/run/secrets/${plan.tls.keySecret}` };
  assert.deepEqual(tls.stores.default.defaultCertificate, cert);
  assert.deepEqual(tls.certificates, [cert]);
  assert.equal(tls.options.default.minVersion, 'VersionTLS12');
  const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
  for (const s of [plan.tls.certSecret, plan.tls.keySecret])
    assert.ok(
      proxy.secrets.some((m) => m.target === `/run/secrets/${s}`),
      `${s} mounted`,
    );
});

test('traefik: featureful spec — path routes, wildcard host, non-standard HTTPS port', () => {
  const { plan, docs } = render(variants.at(-1)!);
  const routers = dynamicMerged(docs).http.routers;
  assert.equal(routers['api-1'].rule, 'Host(`api.shop.localhost`) && PathPrefix(`/admin`)');
  assert.deepEqual(routers['api-1'].middlewares, ['security-headers', 'api-1-allow', 'edge-auth']);
  assert.equal(routers['api-2'].rule, 'HostRegexp(`(?i)^[a-z0-9-]+\\.apps\\.shop\\.localhost$`)');
  assert.ok(routers['api-1'].rule.length > routers['api-0'].rule.length, 'longer path wins by default priority');
  assert.equal(routers['api-2'].priority, 1, 'wildcard hosts lose to any exact host');
  assert.ok(routers['api-0'].rule.length > routers['api-2'].priority);
  assert.equal(docs.get('traefik/traefik.yml')!.entryPoints.web.http.redirections.entryPoint.to, ':8443');
  assert.ok(routers.dashboard.middlewares.includes('dashboard-allow'));
  assert.equal(plan.proxy.httpPort, 8080);
});

test('traefik: rendering is deterministic and carries no secret values, only secret paths', () => {
  for (const v of variants) {
    const a = render(v).files;
    const b = render(v).files;
    assert.deepEqual(a, b);
    const text = a.map((f) => f.contents).join('\n');
    assert.doesNotMatch(text, /password|BEGIN [A-Z ]*PRIVATE KEY|\$2[aby]\$/i);
    for (const m of text.matchAll(/\/run\/secrets\/([a-z0-9-]+)/g)) {
      const { plan } = render(v);
      assert.ok(
        plan.secrets.some((s) => s.name === m[1]),
        `unknown secret ${m[1]}`,
      );
    }
  }
});

test('traefik: hostile hosts and paths stay one rule value each and come back intact', () => {
  const { plan } = render(variants[0]!);
  const r0 = plan.routes[0]!;
  for (const e of ['a`) || Host(`evil', 'a"b\\c', 'x\ny', 'x\r', '$HOME ${X} `$(id)`', 'ü😀\u2028', "') || PathPrefix('/"]) {
    const route = { ...r0, host: `api${e}`, path: `/p${e}` };
    const ms = parseRule(routeRule(route));
    assert.deepEqual(
      ms,
      [
        { matcher: 'Host', args: [route.host] },
        { matcher: 'PathPrefix', args: [route.path] },
      ],
      JSON.stringify(e),
    );
    const deny = parseRule(denyRule(route, `/m${e}`));
    assert.equal(deny.length, 2);
    assert.ok(new RegExp(deny[1]!.args[0]!.replace('(?i)', ''), 'i').test(`/m${e}`), 'the deny regexp matches the literal path');
  }
});

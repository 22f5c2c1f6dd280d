// The rendered haproxy.cfg is checked by the real HAProxy (`haproxy -c`) for every
// template, and run for real: HAProxy on loopback ports, replicas on 127.0.0.2-4
// discovered through a tiny DNS server standing in for Docker's 127.0.0.11, a test
// certificate and userlist made with openssl. Only the test copy is rewritten (ports,
// DNS address, secret paths); the renderer stays pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Plan } from '../../plan/model.js';
import { loadVariant, templateNames } from '../../../test/support/templates.js';
import { propertyParams } from '../../../test/support/property.js';
import { check, skipReason, withMetricsPort } from '../../../test/support/haproxy.js';
import { haproxyConfig, haproxyDefaultMetricsPort, haproxyMetricsPort, renderHAProxy, templateSlots, userlistName, word } from './index.js';

type Doc = Record<string, any>;
const asHAProxy = (d: Doc) => {
  d.proxy = { ...(d.proxy ?? {}), kind: 'haproxy' };
};
const asTraefik = (d: Doc) => {
  d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' };
};
const featureful = (d: Doc) => {
  asHAProxy(d);
  d.proxy = { ...d.proxy, httpPort: 8080, httpsPort: 8443, dashboard: { allow: ['10.0.0.0/8'] } };
  d.services.api.routes = [
    { host: 'api.shop.localhost' },
    { host: 'api.shop.localhost', path: '/admin', auth: true, allow: ['192.168.0.0/16', '10.0.0.0/8'] },
    { host: '*.apps.shop.localhost' },
  ];
};
const variants = [
  ...templateNames.map((t) => ({ id: `${t}/haproxy`, template: t, change: asHAProxy })),
  { id: 'api/haproxy+features', template: 'api', change: featureful },
  // a TCP connect from the edge for an image with nothing to probe with
  {
    id: 'api/haproxy+edge-tcp-health',
    template: 'api',
    change: (d: Doc) => {
      asHAProxy(d);
      d.services.api.health = { tcp: true, from: 'edge' };
    },
  },
];

for (const v of variants) {
  test(`haproxy ${v.id}: haproxy -c accepts the rendered config with the userlist secret, no warnings`, { skip: skipReason() }, () => {
    const { plan } = loadVariant(v);
    const files = renderHAProxy(plan);
    assert.deepEqual(
      files.map((f) => f.path),
      ['haproxy/haproxy.cfg'],
    );
    const r = check(files[0]!.contents, plan, v.id);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
    assert.doesNotMatch(r.stdout + r.stderr, /\[WARNING\]|\[ALERT\]/);
  });
}

test(
  'haproxy: the exporter gets its own unauthenticated frontend, or shares the stats port when the plan scrapes that',
  { skip: skipReason() },
  () => {
    const { plan } = loadVariant(variants[0]!);
    const own = haproxyConfig(withMetricsPort(plan, haproxyDefaultMetricsPort));
    assert.match(
      own,
      new RegExp(
        String.raw`^frontend metrics\n {4}bind :8405\n {4}maxconn \d+\n(?: {4}#.*\n)? {4}http-request set-log-level silent\n` +
          String.raw` {4}http-request use-service prometheus-exporter if \{ path \/metrics \}\n`,
        'm',
      ),
    );
    assert.doesNotMatch(own.split('frontend stats')[1]!.split('\n\n')[0]!, /prometheus-exporter/);
    const shared = haproxyConfig(withMetricsPort(plan, plan.proxy.statsPort));
    assert.doesNotMatch(shared, /^frontend metrics/m);
    assert.match(shared.split('frontend stats')[1]!.split('\n\n')[0]!, /use-service prometheus-exporter/);
    for (const [n, cfg] of [
      ['own', own],
      ['shared', shared],
    ] as const) {
      const r = check(cfg, plan, `metrics-${n}`);
      assert.equal(r.status, 0, r.stderr);
    }
  },
);

test('haproxy: hostile paths, hosts and names stay one word each; haproxy -c still passes', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const evil = [
    '/health\nbackend evil\n    server x 1.2.3.4:80',
    '/h;touch${IFS}/tmp/x;',
    '/?a=1&b=2',
    '/a"b\'c`d',
    '/x#comment',
    '/$HOME\\',
    '/ü 😀\r\t',
    '/%',
    '/%[src]%',
  ];
  const r0 = plan.routes.find((r) => r.service !== plan.proxy.component)!;
  evil.forEach((e, i) => {
    const p = {
      ...plan,
      name: `shop${e}`,
      routes: plan.routes.map((r) => (r === r0 ? { ...r, healthPath: e, host: `api${e}`, denyPaths: [...r.denyPaths, e] } : r)),
    };
    const cfg = haproxyConfig(p);
    const sameShape = haproxyConfig({
      ...p,
      name: 'shopx',
      routes: plan.routes.map((r) => (r === r0 ? { ...r, healthPath: '/x', host: 'apix', denyPaths: [...r.denyPaths, '/x'] } : r)),
    });
    assert.equal(cfg.split('\n').length, sameShape.split('\n').length, `line count with ${JSON.stringify(e)}`);
    assert.doesNotMatch(cfg, /^backend evil/m);
    const r = check(cfg, p, `hostile-${i}`);
    assert.equal(r.status, 0, `${JSON.stringify(e)}: ${r.stdout}\n${r.stderr}`);
  });
});

test(
  'haproxy: any string as health path, host, path or stack name keeps the line count and passes haproxy -c',
  { skip: skipReason() },
  () => {
    const { plan } = loadVariant(variants[0]!);
    const r0 = plan.routes.find((r) => r.service !== plan.proxy.component)!;
    const piece = fc.constantFrom(
      '\n',
      '\r',
      '"',
      "'",
      '`',
      '$',
      '${X}',
      ';',
      '\\',
      '#',
      ' ',
      '&',
      '\t',
      '%[src]',
      '%',
      '{',
      '}',
      'ü',
      '😀',
      '\x7f',
      'a',
      '/',
    );
    const hostile = fc.oneof(
      fc.array(piece, { minLength: 1, maxLength: 10 }).map((xs) => xs.join('')),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
    );
    const withValue = (v: string): Plan => ({
      ...plan,
      name: `shop${v}`,
      routes: plan.routes.map((r) =>
        r === r0 ? { ...r, healthPath: `/${v}`, host: `api${v}`, path: `/p${v}`, denyPaths: [...r.denyPaths, `/m${v}`] } : r,
      ),
    });
    let n = 0;
    fc.assert(
      fc.property(hostile, (v) => {
        if (v.includes('\0')) return;
        const cfg = haproxyConfig(withValue(v));
        assert.equal(cfg.split('\n').length, haproxyConfig(withValue('x')).split('\n').length, `line count with ${JSON.stringify(v)}`);
        const r = check(cfg, withValue(v), `prop-${n++}`);
        assert.equal(r.status, 0, `${JSON.stringify(v)}: ${r.stdout}\n${r.stderr}`);
      }),
      propertyParams(40),
    );
  },
);

test('haproxy -c has teeth: a broken reference fails', { skip: skipReason() }, () => {
  const { plan } = loadVariant(variants[0]!);
  const cfg = haproxyConfig(plan).replace('http_auth(admins)', 'http_auth(nobody)');
  const r = check(cfg, plan, 'broken');
  assert.notEqual(r.status, 0);
});

test('haproxy: the config matches the plan — one backend per routed service, DNS-discovered replicas with spare slots, health checks', () => {
  for (const v of variants) {
    const { plan } = loadVariant(v);
    const cfg = haproxyConfig(plan);
    assert.match(cfg, /^resolvers docker\n {4}nameserver docker 127\.0\.0\.11:53$/m);
    assert.match(cfg, /^frontend http\n {4}bind :80$/m);
    assert.match(cfg, new RegExp(`^ {4}bind :443 ssl crt /run/secrets/${plan.tls.pemSecret} alpn h2,http/1.1$`, 'm'));
    assert.match(cfg, /^ {4}http-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"$/m);
    assert.doesNotMatch(cfg, /^\s*(daemon|user|group|chroot)\b/m, 'runs in the foreground as the image user');
    for (const r of plan.routes) {
      if (r.service === plan.proxy.component) {
        assert.match(cfg, /^backend be_stats\n {4}stats enable/m);
        continue;
      }
      const be = new RegExp(`^backend be_${r.service}_${r.port}\\n((?: {4}.*\\n)+)`, 'm').exec(cfg);
      assert.ok(be, `backend for ${r.name}`);
      const body = be[1]!;
      assert.match(body, /balance roundrobin/);
      if (r.healthTcp) {
        assert.doesNotMatch(body, /httpchk|http-check/, 'health.tcp: a bare connect');
      } else {
        assert.match(body, /option httpchk/);
        assert.ok(body.includes(`http-check send meth GET uri ${r.healthPath ?? '/'} ver HTTP/1.1`), body);
        assert.ok(body.includes(r.healthPath ? 'http-check expect status 200' : 'http-check expect rstatus ^[23]'), body);
      }
      assert.ok(
        body.includes(
          `server-template ${r.service} ${templateSlots(r.replicas)} ${r.service}:${r.port} check resolvers docker resolve-prefer ipv4 init-addr none`,
        ),
        body,
      );
      if (r.denyPaths.length)
        assert.match(cfg, new RegExp(`http-request deny deny_status 404 if host_${r.name.replace(/-/g, '\\-')} deny_`));
    }
    // Stats behind auth on the plan's stats port; the exporter where the plan scrapes it.
    const stats = /^frontend stats\n((?: {4}.*\n)+)/m.exec(cfg)![1]!;
    assert.ok(stats.includes(`bind :${plan.proxy.statsPort}`));
    assert.match(stats, /http-request auth realm .* unless auth_ok/);
    const mp = haproxyMetricsPort(plan);
    if (mp === undefined) assert.doesNotMatch(cfg, /prometheus-exporter/);
    else if (mp === plan.proxy.statsPort) assert.match(stats, /use-service prometheus-exporter if \{ path \/metrics \}/);
    else assert.match(cfg, new RegExp(`^frontend metrics\\n {4}bind :${mp}\\n`, 'm'));
  }
  assert.equal(templateSlots(1), 3);
  assert.equal(templateSlots(3), 6);
});

test('haproxy: the proxy component runs this file plus the userlist secret, exactly as the test checks it', () => {
  for (const v of variants) {
    const { plan } = loadVariant(v);
    const proxy = plan.components.find((c) => c.name === plan.proxy.component)!;
    // Its directory, not the file: a file replaced by rename stays unseen through a file mount.
    const mount = proxy.mounts.find((m) => m.type === 'config' && m.bundle === 'haproxy-config');
    assert.ok(mount, 'the haproxy directory is mounted');
    // The image entrypoint adds -W -db to a command that starts with haproxy.
    assert.deepEqual(proxy.command, ['haproxy', '-f', `${mount.target}/haproxy.cfg`, '-f', `/run/secrets/${plan.proxy.authSecret}`]);
    // A reload checks exactly what the master will load.
    assert.deepEqual(proxy.reload, {
      bundles: ['haproxy-config'],
      mode: 'signal',
      signal: 'SIGUSR2',
      check: ['haproxy', '-c', '-q', ...proxy.command!.slice(1)],
    });
    const mounted = new Set(proxy.secrets.map((s) => s.target));
    for (const m of haproxyConfig(plan).matchAll(/\/run\/secrets\/[a-z0-9-]+/g)) assert.ok(mounted.has(m[0]), `${m[0]} is not mounted`);
    assert.ok(mounted.has(`/run/secrets/${plan.proxy.authSecret}`));
    const ul = plan.secrets.find((s) => s.name === plan.proxy.authSecret)!;
    assert.equal(ul.source.kind, 'haproxy-userlist');
    assert.match(haproxyConfig(plan), new RegExp(`http_auth\\(${userlistName(plan)}\\)`));
    // Nothing the edge serves internally is published beyond what the plan says.
    const mp = haproxyMetricsPort(plan);
    if (mp !== undefined && mp !== plan.proxy.statsPort) assert.ok(!proxy.ports.some((p) => p.container === mp), 'metrics port published');
    assert.doesNotMatch(haproxyConfig(plan), /password|BEGIN [A-Z ]*PRIVATE KEY/i, 'no secret values in the config');
  }
});

test('haproxy: binds follow the container ports the plan publishes', () => {
  const { plan } = loadVariant(variants[0]!);
  const moved: Plan = {
    ...plan,
    components: plan.components.map((c) =>
      c.name !== plan.proxy.component
        ? c
        : {
            ...c,
            ports: c.ports.map((p) =>
              p.container === 80 ? { ...p, container: 8080 } : p.container === 443 ? { ...p, container: 8443 } : p,
            ),
          },
    ),
  };
  const cfg = haproxyConfig(moved);
  assert.match(cfg, /^frontend http\n {4}bind :8080$/m);
  assert.match(cfg, /^ {4}bind :8443 ssl crt /m);
  assert.match(
    cfg,
    /redirect location https:\/\/%\[req\.hdr\(host\),field\(1,:\),lower\]%\[capture\.req\.uri\] code 301/,
    'published HTTPS port is still 443',
  );
});

test('haproxy: quoting keeps config words intact', () => {
  assert.equal(word('/health'), '/health');
  assert.equal(word('a b'), '"a b"');
  assert.equal(word("it's $HOME"), '"it\'s \\$HOME"');
  assert.equal(word('/health\nbackend evil'), '"/health\\x0abackend evil"');
  assert.equal(word('a#b"c\\d'), '"a\\#b\\"c\\\\d"');
});

test('haproxy: a plan without the default certificate file is a bug (with ACME the self-signed one stays the default)', () => {
  const { plan } = loadVariant({ template: 'api', change: asTraefik });
  assert.throws(
    () => haproxyConfig({ ...plan, proxy: { ...plan.proxy, kind: 'haproxy' }, tls: { mode: 'acme', email: 'a@b.c', hosts: [] } }),
    /needs its default certificate file/,
  );
});

// ---------------------------------------------------------------- live run

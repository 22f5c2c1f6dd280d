// ACME on the HAProxy edge: which names the certificate carries, the client component, and the
// edge's config (challenge route, runtime socket, the certificate directory) rendered from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVariant } from '../../test/support/templates.js';
import { haproxyConfig } from '../render/haproxy/index.js';
import { renderAll } from '../render/index.js';
import { acmeDomains } from './acme.js';
import { lint, policyRules } from '../check/policy.js';

const withAcme = (tls: Record<string, unknown>) => (d: Record<string, any>) => {
  d.domain = 'shop.example.com';
  d.tls = { mode: 'acme', email: 'ops@example.com', ...tls };
};

test('the certificate names every routed host HTTP-01 can prove: no wildcard, no IP, no internal name for a public CA', () => {
  const hosts = ['b.example.com', '*.example.com', 'a.example.com', '10.0.0.1', 'db.internal', 'a.example.com'];
  assert.deepEqual(acmeDomains(hosts, true), ['a.example.com', 'b.example.com']);
  // A private CA (Pebble, a company CA) may issue for internal names.
  assert.deepEqual(acmeDomains(hosts, false), ['a.example.com', 'b.example.com', 'db.internal']);
});

test("ca: Let's Encrypt production by default, staging as a word, or a directory with its root as a secret", () => {
  const env = (tls: Record<string, unknown>) => {
    const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme(tls) });
    return { acme: plan.components.find((c) => c.name === 'acme')!, plan };
  };
  assert.equal(env({}).acme.env.ACME_DIRECTORY, 'https://acme-v02.api.letsencrypt.org/directory');
  assert.equal(env({ ca: 'staging' }).acme.env.ACME_DIRECTORY, 'https://acme-staging-v02.api.letsencrypt.org/directory');
  assert.equal(env({ staging: true }).acme.env.ACME_DIRECTORY, 'https://acme-staging-v02.api.letsencrypt.org/directory');
  const custom = env({ ca: { directory: 'https://pebble:14000/dir', root: './pebble.pem' }, renewBefore: '20d' });
  assert.equal(custom.acme.env.ACME_DIRECTORY, 'https://pebble:14000/dir');
  assert.equal(custom.acme.env.LEGO_CA_CERTIFICATES, '/run/secrets/acme-ca-root');
  assert.equal(custom.acme.env.ACME_RENEW_DAYS, '20');
  assert.deepEqual(custom.plan.secrets.find((s) => s.name === 'acme-ca-root')?.source, {
    kind: 'file',
    path: './pebble.pem',
    specPath: 'tls.ca.root',
  });
  assert.equal(env({}).acme.env.ACME_RENEW_DAYS, '30');
});

test('the client keeps its account in its own volume; the edge mounts the certificates read-only; both hold the API certificate', () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme({}) });
  const acme = plan.components.find((c) => c.name === 'acme')!;
  const proxy = plan.components.find((c) => c.name === 'proxy')!;
  const vols = (c: typeof acme) =>
    c.mounts.flatMap((m) => (m.type === 'volume' ? [`${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`] : []));
  // its metrics go to the stack's textfile volume (the backup's here), which node-exporter reads
  assert.deepEqual(vols(acme), ['acme-data:/acme:rw', 'edge-certs:/certs:rw', 'backup-metrics:/metrics:rw']);
  assert.deepEqual(vols(proxy), ['edge-certs:/certs:ro']);
  // the edge's runtime API on the edge network: mutual TLS with one generated certificate both hold
  const api = ['edge-api-cert', 'edge-api-pem'];
  for (const c of [acme, proxy])
    for (const name of api)
      assert.ok(
        c.secrets.some((x) => x.secret === name),
        `${c.name} ${name}`,
      );
  assert.equal(plan.secrets.find((x) => x.name === 'edge-api-cert')?.source.kind, 'tls-cert');
  assert.deepEqual(
    [acme.env.ACME_EDGES, acme.env.ACME_API_PORT, acme.env.ACME_API_PEM, acme.env.ACME_API_CA],
    ['proxy', '8403', '/run/secrets/edge-api-pem', '/run/secrets/edge-api-cert'],
  );
  // the template's app.cloud.localhost route gets none: Let's Encrypt does not certify .localhost
  assert.deepEqual(plan.routes.map((r) => r.host).sort(), ['app.cloud.localhost', 'grafana.shop.example.com', 'haproxy.shop.example.com']);
  assert.deepEqual(plan.tls.acme?.domains, ['grafana.shop.example.com', 'haproxy.shop.example.com']);
  // the self-signed certificate stays the default one until the ACME one is there
  assert.equal(plan.tls.pemSecret, 'edge-tls-pem');
  assert.ok(!Object.values(acme.env).some((v) => v.includes('BEGIN')), 'no key material in the environment');
});

test('the edge routes HTTP-01 challenges to the client before the redirect, loads the issued certificate by SNI, opens its API to mutual TLS only', () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme({}) });
  const cfg = haproxyConfig(plan);
  const http = cfg.slice(cfg.indexOf('frontend http\n'), cfg.indexOf('frontend https'));
  assert.match(http, /acl acme_challenge path_beg \/\.well-known\/acme-challenge\/\n/);
  assert.match(http, /code 301 unless acme_challenge\n\s+use_backend be_acme if acme_challenge\n/);
  assert.match(cfg, /bind :443 ssl crt \/run\/secrets\/edge-tls-pem crt \/certs\/ alpn/);
  assert.match(
    cfg,
    /frontend edge_api\n\s+bind :8403 ssl crt \/run\/secrets\/edge-api-pem ca-file \/run\/secrets\/edge-api-cert verify required\n/,
  );
  assert.match(cfg, /backend be_edge_api\n\s+server api 127\.0\.0\.1:19999\n/);
  assert.doesNotMatch(cfg, /api\.sock/);
  assert.match(cfg, /backend be_acme\n\s+server acme acme:8402 resolvers docker/);
  // and no application backend ever sees the challenge path on HTTPS either: only be_acme names it
  assert.equal(cfg.match(/acme-challenge/g)?.length, 1);
});

test('without ACME the edge config has no trace of it', () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql' });
  assert.doesNotMatch(haproxyConfig(plan), /acme|\/certs\//);
});

test('rendered: the client script and its Dockerfile from the official lego image', () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme({}) });
  const files = renderAll(plan);
  const docker = files.find((f) => f.path.endsWith('acme/Dockerfile'));
  assert.match(docker?.contents ?? '', /ARG LEGO_IMAGE=goacme\/lego:v4\.21\.0\nFROM \$\{LEGO_IMAGE\}\nRUN apk add --no-cache socat/);
  assert.ok(files.some((f) => f.path.endsWith('acme/acme.sh') && f.mode === 0o755));
});

test('wharf check names the rule (WH013) and the route of each host a public CA will not certify: .internal, an IP literal', () => {
  const { stack, plan } = loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      withAcme({})(d);
      const svc = Object.values(d.services as Record<string, any>).find((s) => s.routes?.length);
      svc.routes = [
        { ...svc.routes[0], host: 'shop.internal' },
        { ...svc.routes[0], host: '203.0.113.7' },
      ];
    },
  });
  const f = lint(stack, plan, policyRules).filter((x) => x.rule === 'WH013');
  assert.deepEqual(
    f.map((x) => [x.severity, x.path.replace(/^services\.[a-z-]+\./, ''), x.message.split(';')[0]]),
    [
      ['warning', 'routes[0].host', 'shop.internal gets no ACME certificate: .internal is not a public domain'],
      ['warning', 'routes[1].host', '203.0.113.7 gets no ACME certificate: an IP address, not a name'],
    ],
  );
  // and they are left off the certificate, the edge serving its self-signed one for them
  assert.ok(!plan.tls.acme?.domains.some((d) => d === 'shop.internal' || d === '203.0.113.7'));
});

test('Traefik keeps its own resolver and reads the same ca: (its directory, and the root through LEGO_CA_CERTIFICATES)', () => {
  const traefik = (tls: Record<string, unknown>) => {
    const { plan } = loadVariant({ template: 'api', change: withAcme(tls) });
    const files = renderAll(plan);
    const staticCfg = files.find((f) => f.path.endsWith('traefik/traefik.yml'))!.contents;
    return { plan, staticCfg, proxy: plan.components.find((c) => c.name === 'proxy')! };
  };
  assert.doesNotMatch(traefik({}).staticCfg, /caServer/);
  assert.match(traefik({ ca: 'staging' }).staticCfg, /caServer: https:\/\/acme-staging-v02\.api\.letsencrypt\.org\/directory/);
  const pebble = traefik({ ca: { directory: 'https://pebble:14000/dir', root: './pebble.pem' } });
  assert.match(pebble.staticCfg, /caServer: https:\/\/pebble:14000\/dir/);
  assert.equal(pebble.proxy.env.LEGO_CA_CERTIFICATES, '/run/secrets/acme-ca-root');
  assert.ok(pebble.proxy.secrets.some((s) => s.secret === 'acme-ca-root'));
  assert.ok(!pebble.plan.components.some((c) => c.name === 'acme'), 'no separate client beside Traefik');
});

test("the ACME account and certificates are backed up with the stack's first job's destination and schedule", () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme({}) });
  const job = plan.backups.find((j) => j.name === 'acme-data');
  const first = plan.backups.find((j) => j.name !== 'acme-data')!;
  assert.deepEqual(job && [job.kind, job.target, job.schedule, job.destination], ['volume', 'acme', first.schedule, first.destination]);
  const backup = plan.components.find((c) => c.name === 'backup')!;
  assert.ok(backup.mounts.some((m) => m.type === 'volume' && m.source === 'acme-data'));
});

test('no host a public CA certifies: no client, no challenge route, no backup job; the self-signed certificate serves', () => {
  const { plan } = loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      withAcme({})(d);
      d.proxy.dashboard = false;
      d.monitoring = { enabled: false };
    },
  });
  assert.equal(plan.tls.acme, undefined);
  assert.ok(!plan.components.some((c) => c.name === 'acme'));
  assert.ok(!plan.backups.some((j) => j.name === 'acme-data'));
  assert.doesNotMatch(haproxyConfig(plan), /acme/);
});

test('the self-signed default certificate leaves the ACME names out: HAProxy takes the exact SNI match, the first loaded on a tie', () => {
  const { plan } = loadVariant({ template: 'haproxy-mysql', change: withAcme({}) });
  const source = plan.secrets.find((s) => s.name === 'edge-tls-cert')!.source;
  assert.equal(source.kind, 'tls-cert');
  const names = source.kind === 'tls-cert' ? source.hosts : [];
  for (const d of plan.tls.acme!.domains) assert.ok(!names.includes(d), d);
  assert.ok(names.includes('app.cloud.localhost'), 'a host without an ACME certificate keeps its self-signed name');
});

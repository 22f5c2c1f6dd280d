// Health for any image: HTTP path, the image's own command, a TCP listen check that needs only
// sh and grep, or a probe from the edge when the image has nothing to probe with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { execa } from 'execa';
import { probeCommand } from '../../src/render/probes.js';
import { renderHAProxy } from '../../src/render/haproxy/index.js';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { freePort } from '../support/servers.js';
import type { Probe } from '../../src/plan/model.js';

const spec = (web: Record<string, unknown>, proxy = 'haproxy') =>
  JSON.stringify({
    name: 'site',
    domain: 'site.localhost',
    proxy: { kind: proxy },
    services: { web: { image: 'nginx:1.27', port: 80, replicas: 2, routes: [{ host: 'www.site.localhost' }], ...web } },
  });
const load = (web: Record<string, unknown>, proxy?: string) => parseSpecText(spec(web, proxy));
const errors = (web: Record<string, unknown>, proxy?: string) =>
  load(web, proxy)
    .issues.filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);
const planOf = (web: Record<string, unknown>) => {
  const r = load(web);
  assert.ok(r.stack, JSON.stringify(r.issues));
  return buildPlan(r.stack);
};

test('the TCP probe sees a listening port in /proc/net/tcp and nothing else', async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const [sh, c, script, argv0] = probeCommand({ kind: 'tcp', port, client: 'proc' })!;
  try {
    assert.equal((await execa(sh!, [c!, script!, argv0!, String(port)], { reject: false })).exitCode, 0);
    const closed = await freePort();
    assert.equal((await execa(sh!, [c!, script!, argv0!, String(closed)], { reject: false })).exitCode, 1);
  } finally {
    server.close();
  }
});

test('each probe kind becomes its healthcheck and is stated in words', () => {
  const cases: Array<[Record<string, unknown> | false | undefined, RegExp, Probe | undefined]> = [
    [undefined, /in the container: HTTP GET \/health/, undefined],
    [{ path: '/ping' }, /HTTP GET \/ping/, undefined],
    [{ command: ['nginx', '-t'] }, /in the container: nginx -t/, { kind: 'exec', command: ['nginx', '-t'] }],
    [{ tcp: true }, /port 80 listening/, { kind: 'tcp', port: 80, client: 'proc' }],
    [{ from: 'edge', path: '/ping' }, /from the edge: HTTP GET \/ping/, undefined],
    [false, /none/, undefined],
  ];
  for (const [health, words, test] of cases) {
    const plan = planOf(health === undefined ? {} : { health });
    const web = plan.components.find((c) => c.name === 'web')!;
    assert.match(web.healthProbe ?? '', words);
    if (test) assert.deepEqual(web.healthcheck?.probe, test);
    const edge = health && (health as { from?: string }).from === 'edge';
    assert.equal(web.healthcheck === undefined, !!edge || health === false, JSON.stringify(health));
    if (edge) assert.match(web.healthWaiver ?? '', /edge/);
  }
});

test('the edge probes the health path, a TCP connect for tcp, and / for a command', () => {
  const backend = (health: Record<string, unknown>) => {
    const cfg = renderHAProxy(planOf({ health })).find((f) => f.path.endsWith('haproxy.cfg'))!.contents;
    return cfg.split('\nbackend ').find((b) => b.startsWith('be_web_80'))!;
  };
  assert.match(backend({ from: 'edge', path: '/ping' }), /uri \/ping .*\n\s+http-check expect status 200/);
  const tcp = backend({ tcp: true, from: 'edge' });
  assert.doesNotMatch(tcp, /httpchk/);
  assert.match(tcp, /server-template web \d+ web:80 check resolvers/);
  assert.match(backend({ command: ['true'] }), /uri \/ .*\n\s+http-check expect rstatus \^\[23\]/);
});

test('one probe per service, and only probes the edge can run from the edge', () => {
  assert.deepEqual(errors({ health: { path: '/h', tcp: true } }), ['services.web.health: has path and tcp: a health check is one probe']);
  assert.deepEqual(errors({ health: { command: ['true'], from: 'edge' } }), ['services.web.health.from: the edge cannot run a command']);
  assert.deepEqual(errors({ health: { from: 'edge' }, routes: [] }), [
    'services.web.health.from: nothing probes an unrouted service from the edge',
  ]);
  assert.deepEqual(errors({ health: { tcp: true, from: 'edge' } }, 'traefik'), [
    'services.web.health.tcp: Traefik health checks are HTTP only',
  ]);
  assert.deepEqual(errors({ health: { tcp: true, from: 'edge' } }), []);
});

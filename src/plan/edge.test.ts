// The edge's sizing derivation and the reload-or-recreate decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { defaultEdgeMemory, edgeMaxconnFor, edgeMemoryFor, edgeModel, replicasToReload, sizeEdge } from './edge.js';
import { configHashes, renderAll } from '../render/index.js';
import { checkPlan } from '../check/plan-rules.js';
import { loadVariant } from '../../test/support/templates.js';

const MiB = 1024 ** 2;
/** What the limit must hold: the processes plus every worker's connections, within the headroom. */
const needed = (maxconn: number) =>
  (edgeModel.processBase +
    edgeModel.maxOldWorkers * edgeModel.workerBase +
    (1 + edgeModel.maxOldWorkers) * maxconn * (2 * edgeModel.bufsize + edgeModel.connectionState)) /
  edgeModel.headroom;

test('maxconn is the most connections two workers can hold within 80% of the limit', () => {
  for (const mib of [96, 128, 256, 512, 1024, 4096]) {
    const n = edgeMaxconnFor(mib * MiB);
    assert.ok(needed(n) <= mib * MiB, `${mib} MiB: ${n} fits`);
    assert.ok(needed(n + 1) > mib * MiB, `${mib} MiB: ${n + 1} would not`);
  }
  // The old fixed maxconn 4096 needs nearly 4x the old fixed 128 MiB limit (510 MiB).
  assert.ok(edgeMemoryFor(4096) > 3.9 * defaultEdgeMemory, `${edgeMemoryFor(4096) / MiB} MiB`);
});

test("a spec'd maxconn derives the limit, rounded up to a MiB, and that limit admits it again", () => {
  for (const n of [64, 500, 4096, 20_000]) {
    const m = edgeMemoryFor(n);
    assert.equal(m % MiB, 0);
    assert.ok(needed(n) <= m && m - needed(n) < MiB);
    assert.ok(edgeMaxconnFor(m) >= n);
    assert.equal(sizeEdge({ maxconn: n, metrics: true }).memoryBytes, m);
  }
});

test('frontends split maxconn: a tenth for the redirect port, a few for stats and metrics, HTTPS the rest', () => {
  for (const [o, total] of [
    [{ metrics: true }, edgeMaxconnFor(defaultEdgeMemory)],
    [{ metrics: false, maxconn: 64 }, 64],
    [{ metrics: true, memoryBytes: 1024 * MiB }, edgeMaxconnFor(1024 * MiB)],
  ] as const) {
    const s = sizeEdge(o);
    assert.equal(s.maxconn, total);
    const f = s.frontends;
    assert.equal(f.https + f.http + f.stats + f.metrics, s.maxconn);
    assert.equal(f.http, Math.max(16, Math.floor(total / 10)));
    assert.equal(f.metrics, o.metrics ? 16 : 0);
    assert.ok(f.https > 0);
  }
  assert.deepEqual(sizeEdge({ metrics: true }), {
    maxconn: 836,
    frontends: { https: 721, http: 83, stats: 16, metrics: 16 },
    bufsize: 16384,
    maxrewrite: 1024,
    buffers: 1672,
    memoryBytes: 128 * MiB,
    perConnectionBytes: 48 * 1024,
    workers: 2,
    hardStopAfter: 30,
  });
});

test('the plan carries one sizing into the container limit and haproxy.cfg', () => {
  const { plan } = loadVariant({
    template: 'haproxy-mysql',
    change: (d) => {
      d.proxy.memory = '512M';
    },
  });
  const files = renderAll(plan, 'compose');
  const cfg = files.find((f) => f.path === 'haproxy/haproxy.cfg')!.contents;
  const compose = parse(files.find((f) => f.path === 'compose.yaml')!.contents) as { services: Record<string, { mem_limit: string }> };
  const n = edgeMaxconnFor(512 * MiB);
  assert.equal(compose.services.proxy!.mem_limit, '512mb');
  assert.match(
    cfg,
    new RegExp(
      `^global\\n(?: {4}.*\\n)* {4}maxconn ${n}\\n {4}tune\\.bufsize 16384\\n {4}tune\\.maxrewrite 1024\\n` +
        ` {4}tune\\.buffers\\.limit ${2 * n}\\n {4}mworker-max-reloads 1\\n {4}hard-stop-after 30s\\n`,
      'm',
    ),
  );
  const fronts = [...cfg.matchAll(/^frontend (\w+)\n(?: {4}.*\n)*? {4}maxconn (\d+)$/gm)].map((m) => [m[1], Number(m[2])] as const);
  assert.deepEqual(
    fronts.map(([f]) => f),
    ['http', 'https', 'stats', 'metrics'],
  );
  assert.equal(
    fronts.reduce((a, [, x]) => a + x, 0),
    n,
  );
});

test('maxconn and memory given together must fit; maxconn is HAProxy-only', () => {
  const issues = (change: (d: Record<string, any>) => void, template = 'haproxy-mysql') => {
    const { stack, plan } = loadVariant({ template, change });
    return checkPlan(stack, plan);
  };
  assert.deepEqual(
    issues((d) => {
      d.proxy.memory = '256M';
      d.proxy.maxconn = edgeMaxconnFor(256 * MiB);
    }),
    [],
  );
  const over = issues((d) => {
    d.proxy.memory = '128M';
    d.proxy.maxconn = 4096;
  });
  assert.deepEqual(
    over.map((i) => i.path),
    ['proxy.maxconn'],
  );
  assert.match(over[0]!.message, /4096 connections need a memory limit of 510M .* more than proxy\.memory 128M/);
  assert.match(over[0]!.hint!, /lower proxy\.maxconn to 836, raise proxy\.memory to 510M/);
  assert.deepEqual(
    issues((d) => {
      d.proxy.memory = '16M';
    }).map((i) => i.path),
    ['proxy.memory'],
  );
  assert.deepEqual(
    issues((d) => {
      d.proxy.maxconn = 1000;
    }, 'api').map((i) => i.path),
    ['proxy.maxconn'],
  );
});

test('reload: replicas started by this deploy or recorded on the current files are left alone; the rest reload', () => {
  const applied = { 'a@1': 'new', 'b@1': 'old' };
  const cases: Array<[string, Array<{ key: string; fresh: boolean }>, string[]]> = [
    ['recorded on the current files', [{ key: 'a@1', fresh: false }], []],
    ['recorded on older files', [{ key: 'b@1', fresh: false }], ['b@1']],
    ['restarted since (another key), by this deploy', [{ key: 'b@2', fresh: true }], []],
    ['unknown, not started by this deploy', [{ key: 'c@1', fresh: false }], ['c@1']],
    [
      'a mix',
      [
        { key: 'a@1', fresh: false },
        { key: 'b@1', fresh: false },
        { key: 'd@1', fresh: true },
      ],
      ['b@1'],
    ],
  ];
  for (const [why, live, want] of cases) assert.deepEqual(replicasToReload('new', applied, live), want, why);
});

test("a routing change leaves the edge's compose definition as it was: it is a reload, not a recreate", () => {
  for (const [template, kind] of [
    ['haproxy-mysql', 'haproxy'],
    ['api', 'traefik'],
  ] as const) {
    const one = loadVariant({ template }).plan;
    const two = loadVariant({
      template,
      change: (d) => {
        d.services.extra = { image: 'nginx:1.27', port: 8080, routes: [{ host: `extra.${d.domain}` }], health: { path: '/' } };
      },
    }).plan;
    const a = renderAll(one, 'compose');
    const b = renderAll(two, 'compose');
    const edgeFiles = (fs: typeof a) =>
      fs
        .filter((f) => f.path.startsWith(`${kind}/`))
        .map((f) => f.contents)
        .join('');
    assert.notEqual(edgeFiles(a), edgeFiles(b), `${kind}: the routing files changed`);
    const proxyOf = (fs: typeof a) =>
      (parse(fs.find((f) => f.path === 'compose.yaml')!.contents) as { services: Record<string, unknown> }).services.proxy;
    assert.deepEqual(proxyOf(b), proxyOf(a), `${kind}: the proxy service is unchanged`);
  }
  // Traefik's static file is not watched: changing it still recreates (its hash moves); a dynamic file does not.
  const plan = loadVariant({ template: 'api' }).plan;
  const files = renderAll(plan, 'compose');
  const edit = (path: (p: string) => boolean) => files.map((f) => (path(f.path) ? { ...f, contents: `${f.contents}# changed\n` } : f));
  const hash = (fs: typeof files) => configHashes(plan, fs)[plan.proxy.component];
  assert.notEqual(hash(edit((p) => p === 'traefik/traefik.yml')), hash(files));
  assert.equal(hash(edit((p) => p.startsWith('traefik/dynamic/'))), hash(files));
});

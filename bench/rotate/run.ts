// Secret rotation under steady load: the API (2 replicas; /ready asks PostgreSQL and Redis on
// every request) behind the HAProxy edge. For each rotated secret, the load during the rotation
// next to a baseline window of the same length with nothing happening, in the same run:
// requests, failures, p50/p99 latency, and how long the rotation took.
//   npx tsx bench/rotate/run.ts      (hold /tmp/wharf-docker.lock; `npm run bench:rotate`)
import { composeContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { load } from '../../src/ops/prepare.js';
import { rotateSecret } from '../../src/ops/rotate.js';
import { up } from '../../src/ops/up.js';
import { createStack } from '../../test/e2e/support/stack.js';
import { edgeLoad, type LoadResult } from '../../test/e2e/support/swarm.js';
import { pct } from '../stats.js';

const log = (m: string) => process.stderr.write(`[bench-rotate] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const project = `rotate-bench${process.pid % 10000}`;
const api = 'api.rb.localhost';

const s = await createStack(
  {
    name: project,
    domain: 'rb.localhost',
    tls: { mode: 'self-signed' },
    proxy: { kind: 'haproxy' },
    services: {
      api: {
        build: { context: './apps/api' },
        port: 3000,
        replicas: 2,
        routes: [{ host: api }],
        health: { path: '/health', interval: '2s' },
        uses: ['db', 'cache'],
      },
    },
    databases: { db: { engine: 'postgres' } },
    caches: { cache: { engine: 'redis' } },
    monitoring: { enabled: false },
  },
  project,
);

interface Row {
  secret: string;
  window: string;
  results: LoadResult[];
  seconds: number;
}
const rows: Row[] = [];
try {
  log('up');
  await up(s.ctx, { timeoutMs: 240_000 });
  const request = () => edgeRequest({ host: api, path: '/ready', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 });
  const window = async (work: () => Promise<unknown>) => {
    const l = edgeLoad(request, 3);
    const t0 = performance.now();
    await work();
    const seconds = (performance.now() - t0) / 1000;
    return { results: (await l.end()).results, seconds };
  };
  await sleep(2000);
  for (const secret of ['db-password', 'cache-password', 'edge-admin-password', 'edge-tls-cert']) {
    log(`rotate ${secret}`);
    const r = await window(async () => {
      const loaded = await load(s.specPath);
      await rotateSecret(secret, {
        loaded,
        contextFor: (p) => composeContext({ plan: p.plan, outDir: p.outDir, projectDir: s.dir, secretsDir: p.secretsDir }),
        say: log,
      });
    });
    rows.push({ secret, window: 'rotation', ...r });
    const b = await window(() => sleep(r.seconds * 1000));
    rows.push({ secret, window: 'baseline', ...b });
  }
} finally {
  await s.destroy();
}

const ms = (rs: LoadResult[], p: number) =>
  `${Math.round(
    pct(
      rs.map((r) => r.ms),
      p,
    ),
  )} ms`;
const table = [
  ['secret', 'window', 'seconds', 'requests', 'failed', 'p50', 'p99'],
  ...rows.map((r) => [
    r.secret,
    r.window,
    r.seconds.toFixed(1),
    String(r.results.length),
    String(r.results.filter((x) => !x.ok).length),
    ms(r.results, 50),
    ms(r.results, 99),
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
const failed = rows.flatMap((r) => r.results.filter((x) => !x.ok).map((x) => `${r.secret} ${r.window}: ${x.why}`));
if (failed.length) console.log(`failures:\n${[...new Set(failed)].slice(0, 10).join('\n')}`);

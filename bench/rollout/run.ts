// A rollout of a 3-replica API under steady load through the HAProxy edge (a 2-replica nginx
// on a second route): `wharf up` of an env change (start-first rollout, drained by the edge)
// next to `docker compose up -d` of the same kind of change on the same rendered files (the
// baseline), alternating in the same run. Failed requests on both routes, p50/p99 on the
// API's route against the steady state, and the time until every API replica is healthy.
//   npx tsx bench/rollout/run.ts [--rounds 3]
//   npx tsx bench/rollout/run.ts --target swarm [--rounds 3]   (bench/rollout/swarm.ts: the same
//   measurement on the Docker-in-Docker swarm, `wharf up` vs `docker stack deploy` with Swarm's
//   default update_config; also `npm run bench:rollout:swarm`)
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { composeContext, type OpsContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { prepare } from '../../src/ops/prepare.js';
import { up } from '../../src/ops/up.js';
import { ensureTestImages } from '../../test/e2e/support/images.js';
import { nginxImage } from '../../test/e2e/support/nginx.js';
import { createStack } from '../../test/e2e/support/stack.js';
import { edgeLoad, type LoadResult } from '../../test/e2e/support/swarm.js';
import { median, pct } from '../stats.js';

if (process.argv.includes('--target') && process.argv[process.argv.indexOf('--target') + 1] === 'swarm') {
  await import('./swarm.js');
  process.exit(0);
}
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3);
const log = (m: string) => process.stderr.write(`[bench-rollout] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const project = `benchro${process.pid % 10000}`;
const hosts = { api: 'api.ro.localhost', web: 'www.ro.localhost' };
const [, nginx] = await Promise.all([ensureTestImages({ progress: null }), nginxImage()]);
const s = await createStack(
  {
    name: project,
    domain: 'ro.localhost',
    databases: { db: { engine: 'postgres' } },
    caches: { cache: { engine: 'redis' } },
    services: {
      api: {
        build: { context: './apps/api' },
        port: 3000,
        replicas: 3,
        routes: [{ host: hosts.api }],
        health: { path: '/health' },
        uses: ['db', 'cache'],
      },
      web: { image: nginx, port: 8080, replicas: 2, user: 'www-data', routes: [{ host: hosts.web }], health: { path: '/' } },
    },
    monitoring: { enabled: false },
  },
  project,
);

async function changeEnv(value: string): Promise<OpsContext> {
  const spec = parse(readFileSync(s.specPath, 'utf8')) as Record<string, any>;
  spec.services.api.env = { ROLL: value };
  writeFileSync(s.specPath, stringify(spec));
  const p = await prepare({ specPath: s.specPath });
  return composeContext({ plan: p.plan, outDir: p.outDir, projectDir: s.dir, secretsDir: p.secretsDir });
}

function load() {
  const api = edgeLoad(
    () => edgeRequest({ host: hosts.api, path: '/health', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 }),
    4,
  );
  const web = edgeLoad(() => edgeRequest({ host: hosts.web, path: '/', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 }), 2);
  return {
    async end() {
      return { api: (await api.end()).results, web: (await web.end()).results };
    },
  };
}

/** Until every API container is new (not in `old`), running and healthy, 3 of them. */
async function apiRolled(ctx: OpsContext, old: Set<string>, timeoutMs = 300_000): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const api = (await listContainers(ctx.engine, run)).filter((c) => c.service === 'api');
    if (api.length === 3 && api.every((c) => !old.has(c.id) && c.state === 'running' && c.health === 'healthy')) return;
    await sleep(250);
  }
  throw new Error('api did not become healthy');
}

interface Sample {
  failedApi: number;
  failedWeb: number;
  requests: number;
  p50: number;
  p99: number;
  s: number;
}
const samples: Record<'wharf' | 'compose', Sample[]> = { wharf: [], compose: [] };

try {
  log(`deploying ${project}`);
  let ctx = await changeEnv('0');
  await up(ctx, { timeoutMs: 300_000 });
  await sleep(10_000);
  // Steady state is measured before every change, so it sees the same machine load as the rollouts.
  const steady: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const how of ['compose', 'wharf'] as const) {
      const sl = load();
      await sleep(8000);
      const st = (await sl.end()).api;
      steady.push(...st);
      log(
        `steady before round ${i + 1} ${how}: ${st.length} requests, ${st.filter((r) => !r.ok).length} failed, p50 ${pct(
          st.map((r) => r.ms),
          50,
        ).toFixed(1)} ms, p99 ${pct(
          st.map((r) => r.ms),
          99,
        ).toFixed(1)} ms`,
      );
      ctx = await changeEnv(`${i}-${how}`);
      const old = new Set((await listContainers(ctx.engine, run)).filter((c) => c.service === 'api').map((c) => c.id));
      const l = load();
      await sleep(2000);
      const t0 = performance.now();
      if (how === 'wharf') await up(ctx, { timeoutMs: 300_000 });
      else {
        await run(ctx.engine.apply());
        await apiRolled(ctx, old);
      }
      const secs = (performance.now() - t0) / 1000;
      await sleep(3000);
      const { api, web } = await l.end();
      const ms = api.filter((r) => r.ok).map((r) => r.ms);
      const x: Sample = {
        failedApi: api.filter((r) => !r.ok).length,
        failedWeb: web.filter((r) => !r.ok).length,
        requests: api.length + web.length,
        p50: pct(ms, 50),
        p99: pct(ms, 99),
        s: secs,
      };
      samples[how].push(x);
      log(
        `round ${i + 1} ${how}: ${secs.toFixed(1)} s, failed api ${x.failedApi} web ${x.failedWeb} of ${x.requests}, p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms`,
      );
    }
  }

  const sp50 = pct(
    steady.map((r) => r.ms),
    50,
  );
  const sp99 = pct(
    steady.map((r) => r.ms),
    99,
  );
  console.log(
    `\nrollout of a 3-replica API (env change) under load through HAProxy, ${rounds} rounds, medians; steady state p50 ${sp50.toFixed(1)} ms, p99 ${sp99.toFixed(1)} ms`,
  );
  console.log(
    `${'how'.padEnd(28)} ${'failed api route'.padEnd(18)} ${'failed web route'.padEnd(18)} ${'p50 ms'.padEnd(8)} ${'p99 ms'.padEnd(8)} ${'time s'.padEnd(8)}`,
  );
  for (const how of ['compose', 'wharf'] as const) {
    const u = samples[how];
    console.log(
      `${(how === 'wharf' ? 'wharf up (rollout)' : 'docker compose up -d (baseline)').padEnd(28)} ${`${median(u.map((x) => x.failedApi))} (${u.map((x) => x.failedApi).join('/')})`.padEnd(18)} ${`${median(u.map((x) => x.failedWeb))} (${u.map((x) => x.failedWeb).join('/')})`.padEnd(18)} ${median(
        u.map((x) => x.p50),
      )
        .toFixed(1)
        .padEnd(8)} ${median(u.map((x) => x.p99))
        .toFixed(1)
        .padEnd(8)} ${median(u.map((x) => x.s)).toFixed(1)}`,
    );
  }
  const w = samples.wharf;
  const b = samples.compose;
  const row = (k: string, v: string) => console.log(`${k.padEnd(40)} ${v}`);
  const fw = median(w.map((x) => x.failedApi + x.failedWeb));
  const fb = median(b.map((x) => x.failedApi + x.failedWeb));
  row('\nratio wharf / baseline: failed', fb ? (fw / fb).toFixed(2) : `${fw} vs 0`);
  row('ratio wharf / baseline: p99', (median(w.map((x) => x.p99)) / median(b.map((x) => x.p99))).toFixed(2));
  row('ratio wharf / baseline: time', (median(w.map((x) => x.s)) / median(b.map((x) => x.s))).toFixed(2));
  row('wharf p99 / steady p99', (median(w.map((x) => x.p99)) / sp99).toFixed(2));
  row('baseline p99 / steady p99', (median(b.map((x) => x.p99)) / sp99).toFixed(2));
} finally {
  await s.destroy();
}

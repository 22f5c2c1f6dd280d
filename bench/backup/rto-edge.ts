// bench/backup/rto-edge.ts: recovery time as a user sees it. The api template (HAProxy edge,
// api x3, PostgreSQL, Redis) on the real Docker Engine, two probes asking `/ready` (it queries
// PostgreSQL and Redis) through the edge every 50 ms. `wharf restore db --yes` starts at t0;
// the RTO is the first successful request after the outage it causes. Floor, in the same run
// with the same probes: stop the api, raw `pg_restore --single-transaction` of a `pg_dump -Fc`
// (taken before t0) inside the db container, start the api, first successful request.
// Usage: flock /tmp/wharf-docker.lock npx tsx bench/backup/rto-edge.ts   (BENCH_ROUNDS=3, BENCH_MB=1)
import { join } from 'node:path';
import { execa } from 'execa';
import { edgeRequest } from '../../src/engine/edge.js';
import { repoRoot } from '../../test/e2e/support/images.js';
import { createStack } from '../../test/e2e/support/stack.js';
import { edgeLoad, type LoadResult } from '../../test/e2e/support/swarm.js';
import { median } from '../stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
const MB = Number(process.env.BENCH_MB ?? '1');
const log = (m: string) => process.stderr.write(`[bench-rto-edge] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const project = `benchrto${process.pid % 10000}`;
const s = await createStack('api', project, (spec) => {
  spec.monitoring = { enabled: false }; // not what is measured; two fewer cores' worth of noise
});
const bin = join(repoRoot, 'bin', 'wharf.js');
// async: the probes share this event loop and must keep asking while a command runs
const wharf = async (...args: string[]) => {
  const r = await execa(process.execPath, [bin, ...args], { cwd: s.dir, reject: false });
  if (r.exitCode !== 0) throw new Error(`wharf ${args.join(' ')} failed (exit ${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
};
const compose = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', s.composePath, ...args]);
const dbSh = (script: string, ...args: string[]) => compose('exec', '-T', 'db', 'sh', '-c', script, 'sh', ...args);
const psql = async (q: string) => (await dbSh('psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"', q)).stdout.trim();

/**
 * From t0 (seconds on the load's clock), once the outage is over: when requests began to fail,
 * and the first success after the last failure. Replicas stop one after another, so a success
 * between two failures is not the service back.
 */
function recovery(results: LoadResult[], t0: number) {
  const after = results.filter((r) => r.t >= t0).sort((a, b) => a.t - b.t);
  const failed = after.filter((r) => !r.ok);
  if (!failed.length) return { down: 0, back: 0 };
  const last = failed.at(-1)!;
  const back = after
    .filter((r) => r.ok && r.t > last.t)
    .map((r) => r.t + r.ms / 1000)
    .sort((a, b) => a - b)[0];
  return back === undefined ? undefined : { down: failed[0]!.t - t0, back: back - t0 };
}

/** Called once the restore (or the floor's commands) returned: until 60 requests (2-3 s of probing) succeeded after the last failure. */
async function untilBack(load: ReturnType<typeof edgeLoad>, t0: number) {
  for (let i = 0; i < 1200; i++) {
    const r = recovery(load.results, t0);
    if (r && load.results.filter((x) => x.t > t0 + r.back && x.ok).length >= 60) return r;
    await sleep(100);
  }
  throw new Error('the service did not answer steadily through the edge 120 s after the restore began');
}

try {
  log(`${project}: up`);
  await wharf('up');
  const host = 'api.shop.localhost'; // the template's route
  const ask = () => edgeRequest({ host, path: '/ready', port: s.ports.https, address: '127.0.0.1', timeoutMs: 2000 });
  const first = await ask();
  if (first.status !== 200) throw new Error(`/ready through the edge answered ${first.status}: ${first.body.slice(0, 200)}`);
  let t = performance.now();
  const rows = Math.max(1, Math.round((MB * 1024 ** 2) / 110));
  await psql(
    `CREATE TABLE bench_items (id bigserial PRIMARY KEY, name text, body text); INSERT INTO bench_items (name, body) SELECT 'item ' || g, md5(g::text) FROM generate_series(1, ${rows}) g`,
  );
  const bytes = Number(await psql("SELECT pg_total_relation_size('bench_items')"));
  log(`${(bytes / 1024 ** 2).toFixed(0)} MB generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const restores: number[] = [];
  const outages: number[] = [];
  const commands: number[] = [];
  const floors: number[] = [];
  const floorOutages: number[] = [];
  const backups: number[] = [];
  const phaseLines: string[] = [];
  const load = edgeLoad(ask, 2);
  for (let i = 0; i < ROUNDS; i++) {
    log(`round ${i + 1}/${ROUNDS}: backup`);
    t = performance.now();
    await wharf('backup', 'db');
    backups.push(performance.now() - t);
    await sleep(3000); // steady load before t0
    log(`round ${i + 1}/${ROUNDS}: wharf restore db`);
    let t0 = load.now();
    t = performance.now();
    const out = await wharf('restore', 'db', '--yes');
    commands.push(performance.now() - t);
    phaseLines.push(out.trim().split('\n').at(-1)!.trim()); // the phase line
    const r = await untilBack(load, t0);
    restores.push(r.back * 1000);
    outages.push((r.back - r.down) * 1000);
    if (Number(await psql('SELECT count(*) FROM bench_items')) !== rows) throw new Error('restored table lost rows');
    await sleep(3000);
    // floor: the dump is taken before t0 (a backup, not the restore)
    await dbSh('pg_dump -Fc -U "$POSTGRES_USER" -d "$POSTGRES_DB" > /tmp/floor.dump');
    log(`round ${i + 1}/${ROUNDS}: floor`);
    t0 = load.now();
    await compose('stop', 'api');
    await dbSh('pg_restore --clean --if-exists --single-transaction -U "$POSTGRES_USER" -d "$POSTGRES_DB" /tmp/floor.dump');
    await compose('start', 'api');
    const f = await untilBack(load, t0);
    floors.push(f.back * 1000);
    floorOutages.push((f.back - f.down) * 1000);
    await sleep(3000);
  }
  const { results } = await load.end();
  const sec = (xs: number[]) => `${(median(xs) / 1000).toFixed(1)} s`;
  const all = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(', ');
  const docker = (await execa('docker', ['version', '-f', '{{.Server.Version}}'])).stdout;
  console.log(
    `api template through the HAProxy edge, ${ROUNDS} rounds, medians; bench_items ${(bytes / 1024 ** 2).toFixed(1)} MB; Docker ${docker}; load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}; ${results.length} probe requests`,
  );
  console.log(`wharf backup db: ${sec(backups)} (${all(backups)})`);
  console.log(
    `RTO, wharf restore db: first successful request ${sec(restores)} after it began (${all(restores)}); outage ${sec(outages)}; the command returned after ${sec(commands)}`,
  );
  console.log(`floor (stop api, raw pg_restore, start api): ${sec(floors)} (${all(floors)}); outage ${sec(floorOutages)}`);
  console.log(`ratio ${(median(restores) / median(floors)).toFixed(2)}x; targets: 15 s end to end and 3x the floor; backup 3 s`);
  for (const p of phaseLines) console.log(`  ${p}`);
} finally {
  await s.destroy();
}

// Benchmark: seed 002's Express app (exactly as the seed gives it, installed in a temp folder that
// is never committed) against apps/api, each as ONE node process, on the same PostgreSQL and
// Redis, with identical autocannon settings.
//
//   npm run bench:api                     # 50 connections, 3 rounds of 5 s per path, 2 s warm-up
//   npm run bench:api -- --rounds 5 --duration 10 --connections 100 --strict
//   npm run bench:api -- --cpus 0.5       # each app capped at half a CPU (a cgroup CPU quota, as
//                                         # `docker run --cpus 0.5`), so that the app, not the
//                                         # load generator sharing the machine, is the bottleneck
//
// Rounds alternate between the apps (seed, apps/api, seed, ...) so that load drifting on a shared
// machine hits both alike; each figure is the median over the rounds.
//
// The seed app hardcodes PostgreSQL port 5432, and its redis@4 client ignores `host` (it always
// connects to localhost:6379), so this benchmark runs its own PostgreSQL on 5432 and Redis on
// 6379 and refuses to start when either port is taken.
//
// Compared paths:
//   GET /api/data          both apps, cache-aside from Redis (the seed's only data endpoint)
//   GET /api/items/:id     apps/api, cached items; the seed has no items endpoint, so its closest
//                          equivalent, the cached GET /api/data, is the baseline for the ratio.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, portInUse, startPostgres, startRedis, type DbServer, type RedisServer } from '../../test/support/servers.js';
import { median } from '../stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SEED = process.env.WHARF_SEED_002 ?? join(ROOT, '..', 'shared', 'seeds', '002_797ea9f78481eb88.md');

const isMain = !!process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
const { values: args } = parseArgs({
  args: isMain ? process.argv.slice(2) : [],
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    pipelining: { type: 'string', default: '1' },
    strict: { type: 'boolean', default: false },
    cpus: { type: 'string' },
    json: { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const ROUNDS = Math.max(1, Number(args.rounds));
const CPUS = args.cpus === undefined ? undefined : Number(args.cpus);
if (CPUS !== undefined && !(CPUS > 0 && CPUS <= 64)) throw new Error('--cpus: expected a number of CPUs such as 0.5');
const CONNECTIONS = Number(args.connections);
const PIPELINING = Number(args.pipelining);

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ seed extraction

/** app.js from §3.2 and package.json from the seed (the "Créez le fichier `app/package.json`" block). */
export function extractSeedApp(markdown: string): { appJs: string; packageJson: string } {
  const s32 = markdown.indexOf('### 3.2');
  const s34 = markdown.indexOf('### 3.4');
  if (s32 < 0 || s34 < 0) throw new Error('seed 002: sections 3.2/3.4 not found');
  const part = markdown.slice(s32, s34);
  const js = /```javascript\n([\s\S]*?)```/.exec(part);
  const pkgAt = part.indexOf('app/package.json');
  const pkg = pkgAt >= 0 ? /```json\n([\s\S]*?)```/.exec(part.slice(pkgAt)) : null;
  if (!js?.[1] || !pkg?.[1]) throw new Error('seed 002: app.js or package.json block not found');
  JSON.parse(pkg[1]); // must be valid as given
  return { appJs: js[1], packageJson: pkg[1] };
}

// ------------------------------------------------------------------ processes

interface App {
  name: string;
  url: string;
  child: ChildProcess;
  out: string[];
  cgroup?: string;
}

/** Puts pid in a new cgroup limited to `cpus` CPUs (cgroup v2 cpu.max or v1 cfs quota); returns its path. */
function capCpu(pid: number, name: string, cpus: number): string {
  const period = 100_000;
  const quota = Math.round(cpus * period);
  const v2 = '/sys/fs/cgroup/cgroup.controllers';
  try {
    if (existsSync(v2)) {
      const dir = `/sys/fs/cgroup/wharf-bench-${name}-${process.pid}`;
      try {
        writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+cpu');
      } catch {
        /* already enabled or not allowed */
      }
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      return dir;
    }
    const dir = `/sys/fs/cgroup/cpu/wharf-bench-${name}-${process.pid}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return dir;
  } catch (err) {
    throw new Error(`--cpus needs a writable cgroup CPU controller (root, cgroup v1 or v2): ${(err as Error).message}`, { cause: err });
  }
}

async function waitFor(url: string, child: ChildProcess, out: string[], ok: (status: number, body: string) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}):\n${out.join('').slice(-3000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await r.text();
      if (ok(r.status, body)) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready:\n${out.join('').slice(-3000)}`);
    await sleep(100);
  }
}

function startNode(name: string, script: string, cwd: string, env: Record<string, string>): App & { port: number } {
  const port = Number(env.PORT);
  const out: string[] = [];
  // stdout discarded for both (the seed logs nothing per request; apps/api keeps its default
  // JSON access log on, written to /dev/null here); stderr kept for failure messages.
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (b: Buffer) => {
    out.push(b.toString());
    if (out.length > 200) out.shift();
  });
  const cgroup = CPUS !== undefined ? capCpu(child.pid!, name.replace(/[^a-z0-9]/gi, ''), CPUS) : undefined;
  return { name, url: `http://127.0.0.1:${port}`, child, out, port, cgroup };
}

async function stopNode(app: App | undefined) {
  if (!app) return;
  if (app.child.exitCode === null && app.child.signalCode === null) {
    app.child.kill('SIGTERM');
    const t = setTimeout(() => app.child.kill('SIGKILL'), 10_000);
    await new Promise((r) => app.child.once('exit', r));
    clearTimeout(t);
  }
  if (app.cgroup) {
    try {
      rmdirSync(app.cgroup);
    } catch {
      /* still busy: left for the OS */
    }
  }
}

// ------------------------------------------------------------------ load

interface Result {
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  cpuUsPerReq?: number;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** CPU seconds (user + system) the process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime (14), stime (15)
}

async function load(url: string, paths: string[] | string, seconds: number): Promise<Result> {
  const list = Array.isArray(paths) ? paths : [paths];
  const r = await autocannon({
    url: list.length === 1 ? url + list[0] : url,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    duration: seconds,
    // Several paths: a fixed request sequence each connection cycles through (autocannon builds
    // each request once), so the load generator spends no extra CPU per request on it.
    ...(list.length > 1 ? { requests: list.map((path) => ({ method: 'GET', path })) } : {}),
  });
  return {
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function measureOnce(app: App, paths: string[] | string): Promise<Result> {
  const cpu0 = cpuSeconds(app.child.pid!);
  const r = await load(app.url, paths, DURATION);
  r.cpuUsPerReq = ((cpuSeconds(app.child.pid!) - cpu0) * 1e6) / r.total;
  log(
    `${app.name} ${Array.isArray(paths) ? '/api/items/:id' : paths}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuUsPerReq.toFixed(1)} us CPU/req, non-2xx ${r.non2xx}, errors ${r.errors}`,
  );
  if (r.non2xx || r.errors) throw new Error(`${app.name}: ${r.non2xx} non-2xx responses and ${r.errors} errors under load`);
  return r;
}

function summarise(rs: Result[]): Result {
  return {
    reqPerSec: median(rs.map((r) => r.reqPerSec)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    total: rs.reduce((a, r) => a + r.total, 0),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq!)),
  };
}

// ------------------------------------------------------------------ main

async function main() {
  const seedMd = readFileSync(SEED, 'utf8');
  const { appJs, packageJson } = extractSeedApp(seedMd);

  for (const [port, what] of [
    [5432, 'PostgreSQL'],
    [6379, 'Redis'],
  ] as const) {
    if ((await portInUse(port)) || (await portInUse(port, '::1'))) {
      throw new Error(
        `port ${port} is in use: the seed app hardcodes ${what} on localhost:${port}, so this benchmark must run its own ${what} there. Stop whatever listens on ${port} and retry.`,
      );
    }
  }

  const work = mkdtempSync(join(tmpdir(), 'wharf-bench-seed002-'));
  let pgs: DbServer | undefined, redis: RedisServer | undefined, seed: App | undefined, api: App | undefined;
  try {
    writeFileSync(join(work, 'app.js'), appJs);
    writeFileSync(join(work, 'package.json'), packageJson);
    log(`seed 002 app extracted to ${work}; npm install (production dependencies)`);
    const npm = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (npm.status !== 0) throw new Error(`npm install of the seed app failed:\n${npm.stdout}${npm.stderr}`);
    const seedVersions = ['express', 'redis', 'pg', 'prom-client']
      .map((p) => {
        const v = (JSON.parse(readFileSync(join(work, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
        return `${p}@${v}`;
      })
      .join(' ');

    log('building apps/api (esbuild bundle)');
    const b = spawnSync(process.execPath, ['build.mjs'], {
      cwd: join(ROOT, 'apps', 'api'),
      encoding: 'utf8',
      env: { ...process.env, BUILD_QUIET: '1' },
    });
    if (b.status !== 0) throw new Error(`apps/api build failed:\n${b.stdout}${b.stderr}`);

    log("starting PostgreSQL on 5432 and Redis on 6379 (the seed's hardcoded ports)");
    [pgs, redis] = await Promise.all([
      startPostgres({ port: 5432, user: 'appuser', password: 'apppassword', database: 'appdb' }),
      startRedis({ port: 6379, password: '' }),
    ]);

    const seedPort = await freePort();
    seed = startNode('seed002', join(work, 'app.js'), work, {
      PORT: String(seedPort),
      DB_HOST: '127.0.0.1',
      DB_NAME: 'appdb',
      DB_USER: 'appuser',
      DB_PASSWORD: 'apppassword',
      REDIS_HOST: '127.0.0.1',
    });
    const apiPort = await freePort();
    api = startNode('apps/api', join(ROOT, 'apps', 'api', 'dist', 'server.js'), join(ROOT, 'apps', 'api'), {
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      DB_DRIVER: 'postgres',
      DB_HOST: '127.0.0.1',
      DB_PORT: '5432',
      DB_NAME: 'appdb',
      DB_USER: 'appuser',
      DB_PASSWORD: 'apppassword',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '6379',
    });
    await waitFor(seed.url + '/api/data', seed.child, seed.out, (s) => s === 200);
    await waitFor(api.url + '/ready', api.child, api.out, (s) => s === 200);

    // Items for apps/api: created, then read once so every one is cached.
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await fetch(api.url + '/api/items', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `item-${i}`, description: 'benchmark item '.repeat(4) }),
      });
      if (r.status !== 201) throw new Error(`creating items failed: ${r.status} ${await r.text()}`);
      ids.push(((await r.json()) as { id: number }).id);
    }
    for (const id of ids) await (await fetch(`${api.url}/api/items/${id}`)).text();
    const itemPaths = ids.map((id) => `/api/items/${id}`);
    for (const a of [seed, api]) {
      const body = (await (await fetch(a.url + '/api/data')).json()) as { source: string };
      if (body.source !== 'cache') log(`note: ${a.name} /api/data answered from ${body.source} after warm-up`);
    }

    log(
      `autocannon: ${CONNECTIONS} connections, pipelining ${PIPELINING}, ${WARMUP} s warm-up, then ${ROUNDS} rounds of ${DURATION} s per path, one run at a time`,
    );
    if (WARMUP > 0) {
      await load(seed.url, '/api/data', WARMUP);
      await load(api.url, '/api/data', WARMUP);
      await load(api.url, itemPaths, WARMUP);
    }
    const runs = { seedData: [] as Result[], apiData: [] as Result[], apiItems: [] as Result[] };
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      runs.seedData.push(await measureOnce(seed, '/api/data'));
      runs.apiData.push(await measureOnce(api, '/api/data'));
      runs.apiItems.push(await measureOnce(api, itemPaths));
    }
    const seedData = summarise(runs.seedData);
    const apiData = summarise(runs.apiData);
    const apiItems = summarise(runs.apiItems);

    const rows = [
      { path: 'GET /api/data (cached)', app: 'seed 002 (Express)', r: seedData, base: undefined as Result | undefined },
      { path: 'GET /api/data (cached)', app: 'apps/api (Fastify)', r: apiData, base: seedData },
      { path: 'GET /api/items/:id (cached)', app: 'apps/api (Fastify)', r: apiItems, base: seedData },
    ];
    const header = [
      'path',
      'app',
      'req/s',
      'p50 ms',
      'p99 ms',
      'ratio vs seed /api/data',
      'p99 no worse',
      'CPU us/req',
      'CPU efficiency vs seed',
    ];
    const table = rows.map(({ path, app, r, base }) => [
      path,
      app,
      r.reqPerSec.toFixed(0),
      String(r.p50),
      String(r.p99),
      base ? `${(r.reqPerSec / base.reqPerSec).toFixed(2)}x` : '1.00x (baseline)',
      base ? (r.p99 <= base.p99 ? 'yes' : 'NO') : '-',
      r.cpuUsPerReq!.toFixed(1),
      base ? `${(base.cpuUsPerReq! / r.cpuUsPerReq!).toFixed(2)}x` : '1.00x',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    console.log('');
    console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); seed deps: ${seedVersions}`);
    console.log(
      `each app: one node process, ${CPUS === undefined ? 'no CPU cap (shares the CPUs with the load generator, Redis and PostgreSQL)' : `capped at ${CPUS} CPU (cgroup quota)`}`,
    );
    console.log(
      `autocannon: ${CONNECTIONS} connections, pipelining ${PIPELINING}; median of ${ROUNDS} alternating rounds of ${DURATION} s after ${WARMUP} s warm-up; each app one node process; PostgreSQL 15 and Redis on loopback`,
    );
    console.log(line(header));
    console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
    for (const row of table) console.log(line(row));
    const perRound = (rs: Result[]) => rs.map((r, i) => (r.reqPerSec / runs.seedData[i]!.reqPerSec).toFixed(2) + 'x').join(' ');
    console.log(
      `per-round throughput ratios (paired with that round's seed run): /api/data ${perRound(runs.apiData)}; /api/items/:id ${perRound(runs.apiItems)}`,
    );
    const ratio = apiData.reqPerSec / seedData.reqPerSec;
    const met = ratio >= 3 && apiData.p99 <= seedData.p99 && apiItems.reqPerSec / seedData.reqPerSec >= 3 && apiItems.p99 <= seedData.p99;
    console.log(`goal (>= 3x seed throughput, p99 no worse): ${met ? 'MET' : 'NOT MET'}`);
    const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(
      `load average at the end: ${load1} (the load generator, Redis and PostgreSQL share this machine's ${cpus().length} CPUs with the app under test)`,
    );
    if (args.json)
      writeFileSync(
        args.json,
        JSON.stringify(
          { settings: { CONNECTIONS, PIPELINING, DURATION, WARMUP, ROUNDS, CPUS }, seedData, apiData, apiItems, runs },
          null,
          2,
        ),
      );
    if (args.strict && !met) process.exitCode = 1;
  } finally {
    await Promise.allSettled([stopNode(seed), stopNode(api)]);
    await Promise.allSettled([pgs?.stop(), redis?.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

// Run only as a script (tests import extractSeedApp).
if (isMain) {
  main().catch((err) => {
    process.stderr.write(`bench:api failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

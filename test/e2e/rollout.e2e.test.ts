// Zero-downtime rollouts on the real engine: a 3-replica API (built from apps/api) and a
// 2-replica nginx behind the HAProxy edge, PostgreSQL and Redis, steady load on both routes
// through the published edge while the API is rolled by `up` (env change, a rebuilt image
// tag, replicas 3 -> 5 -> 2), by `rollout`, rolled back, and rolled to a version that never
// gets healthy. Every request must succeed; no container of an unchanged service restarts.
// Day two on the same stack: `logs` merges the replicas and follows a rollout with the
// generated password the API prints masked, and beforeRollout hooks (a failing one, a migration).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { composeContext, type OpsContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { prepare } from '../../src/ops/prepare.js';
import { edgeOf, edgeServers, FORCED_DRAIN, FORCED_MAINT } from '../../src/ops/edge-admission.js';
import { readRevisions } from '../../src/ops/revisions.js';
import { HookError } from '../../src/ops/hooks.js';
import { normalTime, type LogLine } from '../../src/ops/log-merge.js';
import { readLogs } from '../../src/ops/logs.js';
import { rollback } from '../../src/ops/rollback.js';
import { rollout, RolloutError } from '../../src/ops/rollout.js';
import { up } from '../../src/ops/up.js';
import { followLogs, leaks, MASKED_URL, oneOffs, PRINT_PASSWORD_EXIT, sql, wharf } from './support/day-two.js';
import { dockerSkipReason, ensureTestImages } from './support/images.js';
import { nginxImage } from './support/nginx.js';
import { createStack, type E2EStack } from './support/stack.js';
import { edgeLoad, type LoadResult } from './support/swarm.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('zero-downtime rollouts on Compose behind HAProxy', { skip, timeout: 1_500_000 }, () => {
  let s: E2EStack;
  let ctx: OpsContext;
  const project = `wharf-e2e-ro${process.pid % 10000}`;
  const hosts = { api: 'api.ro.localhost', web: 'www.ro.localhost' };

  /** Edit wharf.yaml, render again, and a fresh context on the new plan (what `wharf up` does). */
  async function respec(edit: (spec: Record<string, any>) => void): Promise<void> {
    const spec = parse(readFileSync(s.specPath, 'utf8')) as Record<string, any>;
    edit(spec);
    writeFileSync(s.specPath, stringify(spec));
    const p = await prepare({ specPath: s.specPath });
    ctx = await composeContext({ plan: p.plan, outDir: p.outDir, projectDir: s.dir, secretsDir: p.secretsDir });
  }

  /** Steady load on both routes while `work` runs; a few seconds before and after. */
  async function underLoad<T>(work: () => Promise<T>): Promise<{ value: T; api: LoadResult[]; web: LoadResult[] }> {
    const through = (host: string) => () => edgeRequest({ host, path: '/', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 });
    const api = edgeLoad(
      () => edgeRequest({ host: hosts.api, path: '/health', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 }),
      3,
    );
    const web = edgeLoad(through(hosts.web), 2);
    await sleep(2000);
    // The load stops whatever `work` does: a throw that left it running kept the file alive.
    let value: T;
    let ended: Array<{ results: LoadResult[] }>;
    try {
      value = await work();
    } finally {
      await sleep(3000);
      ended = [await api.end(), await web.end()];
    }
    return { value: value!, api: ended[0]!.results, web: ended[1]!.results };
  }

  const failed = (rs: LoadResult[]) => rs.filter((r) => !r.ok);
  const pct = (rs: LoadResult[], p: number) => {
    const x = rs.map((r) => r.ms).sort((a, b) => a - b);
    return Math.round(x[Math.min(x.length - 1, Math.floor((p / 100) * x.length))] ?? NaN);
  };
  const summary = (name: string, rs: LoadResult[]) =>
    `${name}: ${rs.length} requests, ${failed(rs).length} failed${failed(rs).length ? ` (${[...new Set(failed(rs).map((r) => r.why))].slice(0, 3).join('; ')})` : ''}, p50 ${pct(rs, 50)} ms, p99 ${pct(rs, 99)} ms`;

  /** id@StartedAt of every container of the given services. */
  async function fingerprints(services: string[]): Promise<string[]> {
    return (await listContainers(ctx.engine, run))
      .filter((c) => services.includes(c.service))
      .map((c) => `${c.service} ${c.id}@${c.startedAt}`)
      .sort();
  }
  const apiIds = async () =>
    (await listContainers(ctx.engine, run))
      .filter((c) => c.service === 'api' && c.state === 'running')
      .map((c) => c.id)
      .sort();
  const others = ['web', 'db', 'cache', 'proxy'];
  /** The replica numbers of the running api containers, and when each started. */
  const apiReplicas = async () =>
    (await listContainers(ctx.engine, run))
      .filter((c) => c.service === 'api' && c.state === 'running')
      .map((c) => ({ replica: ctx.engine.replica(c), startedAt: normalTime(c.startedAt) }));

  before(async () => {
    const [, nginx] = await Promise.all([ensureTestImages({ progress: null }), nginxImage()]);
    s = await createStack(
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
            // a short health window (the spec's knobs): a version that never gets healthy is
            // declared so after 10 s + 5 x 2 s instead of 20 s + 5 x 5 s
            health: { path: '/health', interval: '2s', startPeriod: '10s' },
            uses: ['db', 'cache'],
            env: { LOG_DATABASE_URL: '1' },
          },
          web: { image: nginx, port: 8080, replicas: 2, user: 'www-data', routes: [{ host: hosts.web }], health: { path: '/' } },
        },
        monitoring: { enabled: false },
      },
      project,
    );
    ctx = s.ctx;
    const r = await up(ctx, { timeoutMs: 240_000 });
    assert.ok(
      r.services.every((x) => x.state === 'healthy'),
      JSON.stringify(r.services),
    );
  });
  after(async () => {
    await s?.destroy();
  });

  async function rollByUp(
    t: { diagnostic(m: string): void },
    name: string,
    edit: (spec: Record<string, any>) => void,
    o: { build?: boolean; replicas: number; replaces?: boolean; others?: string[] },
  ) {
    await respec(edit);
    const unchanged = o.others ?? others;
    const keep = await fingerprints(unchanged);
    const oldApi = await apiIds();
    const { value: r, api, web } = await underLoad(() => up(ctx, { timeoutMs: 240_000, build: o.build }));
    t.diagnostic(
      `${name}: ${summary('api route', api)}; ${summary('web route', web)}; rollout ${r.rollouts.map((x) => `${x.service} ${x.waves} waves ${x.durationMs} ms`).join(', ')}; changed ${r.changed.join(', ')}`,
    );
    assert.deepEqual(
      r.rollouts.map((x) => x.service),
      ['api'],
    );
    assert.deepEqual(failed(api), [], summary('api route', api));
    assert.deepEqual(failed(web), [], summary('web route', web));
    assert.deepEqual(await fingerprints(unchanged), keep, 'no container of an unchanged service was restarted');
    const now = await apiIds();
    assert.equal(now.length, o.replicas);
    if (o.replaces !== false)
      assert.deepEqual(
        now.filter((id) => oldApi.includes(id)),
        [],
        'every api container is new',
      );
    else
      assert.ok(
        now.filter((id) => oldApi.includes(id)).length >= Math.min(o.replicas, oldApi.length),
        'a scale change keeps the up-to-date replicas',
      );
    // A second up changes nothing: the new containers carry the hash a plain up expects.
    const again = await up(ctx, { timeoutMs: 120_000, build: o.build });
    assert.deepEqual(again.changed, []);
    assert.deepEqual(again.rollouts, []);
    return r;
  }

  test('env change: up rolls the API with 0 failed requests on both routes; nothing else restarts', async (t) => {
    await rollByUp(
      t,
      'env change',
      (spec) => {
        spec.services.api.env = { ...spec.services.api.env, ROLL: '1' };
      },
      { replicas: 3 },
    );
    const revs = readRevisions(s.dir).api ?? [];
    assert.ok(revs.length >= 2, 'the first up and the rollout are both recorded');
    assert.equal((revs.at(-1)!.definition.environment as Record<string, string>).ROLL, '1');
  });

  test('image change (the tag rebuilt with new content): up rolls the API with 0 failed requests', async (t) => {
    const image = ctx.plan.components.find((c) => c.name === 'api')!.image;
    const before = (await run({ argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', image], describe: 'image id' })).stdout.trim();
    await execa('docker', ['build', '-q', '-t', image, '-'], { input: `FROM ${image}\nLABEL dev.wharf.test.rebuilt=${Date.now()}\n` });
    await rollByUp(t, 'image change', () => {}, { build: false, replicas: 3 });
    const live = (await listContainers(ctx.engine, run)).filter((c) => c.service === 'api');
    assert.ok(
      live.every((c) => c.imageId !== before),
      'every api container runs the rebuilt image',
    );
  });

  test('rollback under load: the previous revision (the image before the rebuild) comes back, 0 failed', async (t) => {
    const revs = readRevisions(s.dir).api!;
    const want = revs.at(-2)!;
    const keep = await fingerprints(others);
    const { value: r, api, web } = await underLoad(() => rollback(ctx, 'api'));
    t.diagnostic(`rollback: ${summary('api route', api)}; ${summary('web route', web)}; ${r.durationMs} ms`);
    assert.equal(r.ok, true);
    assert.deepEqual(failed(api), []);
    assert.deepEqual(failed(web), []);
    assert.deepEqual(await fingerprints(others), keep);
    const live = (await listContainers(ctx.engine, run)).filter((c) => c.service === 'api' && c.state === 'running');
    assert.equal(live.length, 3);
    assert.ok(
      live.every((c) => c.imageId === want.imageId),
      `api runs ${want.imageId} again`,
    );
  });

  test('logs: the 3 replicas merged in time order, each line attributed, the generated password only as ***', async () => {
    const lines: LogLine[] = [];
    const r = await readLogs(ctx, { services: ['api'], tail: 'all' }, (l) => void lines.push(l));
    const live = (await apiReplicas()).map((x) => x.replica).sort();
    assert.equal(live.length, 3);
    assert.deepEqual(r.failed, []);
    assert.deepEqual([...new Set(lines.map((l) => l.replica))].sort(), live.sort());
    assert.ok(lines.every((l) => l.service === 'api' && l.node === null && /^\d{4}-.{24}Z$/.test(l.time)));
    assert.deepEqual(
      lines.map((l) => l.time),
      lines.map((l) => l.time).sort(),
      'merged in time order',
    );
    for (const n of live)
      assert.ok(
        lines.some((l) => l.replica === n && MASKED_URL.test(l.line)),
        `replica ${n} printed the URL, masked`,
      );
    assert.deepEqual(leaks(ctx, lines), []);
  });

  test("exec and run through the CLI: wharf exits with the command's code, the password it prints masked, no one-off left", async () => {
    const e = await wharf(s.specPath, 'exec', 'api', '--', 'node', '-e', PRINT_PASSWORD_EXIT, '7');
    const r = await wharf(s.specPath, 'run', 'api', '--', 'node', '-e', PRINT_PASSWORD_EXIT, '5');
    assert.deepEqual([e.exitCode, e.stdout, r.exitCode, r.stdout], [7, '***', 5, '***'], `${e.stderr}\n${r.stderr}`);
    assert.deepEqual(await oneOffs(ctx), []);
  });

  test('wharf rollout forces new containers with no change, under load, followed by logs --follow', async (t) => {
    const oldApi = await apiIds();
    const old = await apiReplicas();
    const keep = await fingerprints(others);
    const follow = followLogs(ctx, ['api']);
    const { value: r, api, web } = await underLoad(() => rollout(ctx, ['api']));
    const { lines, result } = await follow.stop();
    t.diagnostic(
      `forced rollout: ${summary('api route', api)}; ${summary('web route', web)}; ${r.durationMs} ms; followed ${lines.length} lines`,
    );
    assert.deepEqual(failed(api), []);
    assert.deepEqual(failed(web), []);
    assert.deepEqual(await fingerprints(others), keep);
    const now = await apiIds();
    assert.equal(now.length, 3);
    assert.deepEqual(
      now.filter((id) => oldApi.includes(id)),
      [],
    );
    // the old replicas' lines until they stopped, the new ones' from their first line: all of them attributed
    assert.deepEqual(result.failed, []);
    for (const o of old)
      assert.ok(
        lines.some((l) => l.replica === o.replica && /shutting down/.test(l.line)),
        `old replica ${o.replica} stopping`,
      );
    for (const n of await apiReplicas()) {
      const own = lines.filter((l) => l.replica === n.replica && l.time >= n.startedAt);
      assert.ok(
        own.some((l) => /wharf api listening/.test(l.line)) && own.some((l) => MASKED_URL.test(l.line)),
        `new replica ${n.replica}`,
      );
    }
    assert.deepEqual(leaks(ctx, lines), []);
  });

  test('a version that never gets healthy: the new replicas are removed, the old keep serving, the error names the service and its logs', async (t) => {
    // Listens on 3999 while its healthcheck asks 3000: running, never healthy.
    await respec((spec) => {
      spec.services.api.env = { ...spec.services.api.env, PORT: '3999' };
    });
    // Whatever this test finds, the next one starts from the healthy spec.
    t.after(() =>
      respec((spec) => {
        delete spec.services.api.env.PORT;
      }),
    );
    const oldApi = await apiIds();
    const keep = await fingerprints(others);
    const { value: err, api } = await underLoad(async () => {
      // No build: the Dockerfile would move the tag off the image the API runs now.
      try {
        await up(ctx, { timeoutMs: 240_000, build: false });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    });
    t.diagnostic(`failed rollout: ${summary('api route', api)}; ${err?.message.split('\n')[0]}`);
    assert.ok(err instanceof RolloutError, String(err));
    assert.equal(err.result.service, 'api');
    assert.match(err.message, /rollout of api failed .*unhealthy.*the old replicas keep serving/s);
    assert.ok(err.result.logs?.length, "the new container's last log lines");
    // The new replicas were resolved into slots held in maintenance: none ever took a request.
    assert.deepEqual(failed(api), [], summary('api route', api));
    // ...and every slot left maintenance once they were gone (a later scale-up gets traffic).
    const live = await listContainers(ctx.engine, run);
    const servers = await edgeServers(run, edgeOf(ctx, 'api', live));
    assert.ok(servers.length >= 6, JSON.stringify(servers));
    assert.deepEqual(
      servers.filter((x) => (x.adminState & (FORCED_MAINT | FORCED_DRAIN)) !== 0),
      [],
    );
    assert.deepEqual(await apiIds(), oldApi, 'the old replicas are the ones running');
    assert.deepEqual(await fingerprints(others), keep);
  });

  test("replicas 3 -> 5 -> 2: rolled in waves that fit the edge's slots, 0 failed requests", async (t) => {
    // The edge's config changes with the slot count (max(2n, n+2)): the proxy is not among the
    // unchanged services here; a recreate of it (rather than a hot reload) shows as failed requests.
    const o = { build: false, replaces: false, others: ['web', 'db', 'cache'] };
    await rollByUp(
      t,
      'replicas 3 -> 5',
      (spec) => {
        spec.services.api.replicas = 5;
      },
      { ...o, replicas: 5 },
    );
    await rollByUp(
      t,
      'replicas 5 -> 2',
      (spec) => {
        spec.services.api.replicas = 2;
      },
      { ...o, replicas: 2 },
    );
  });

  test('a failing beforeRollout hook: nothing replaced, the old replicas serve with 0 failed requests, its output masked', async (t) => {
    await respec((spec) => {
      spec.services.api.env = { ...spec.services.api.env, RELEASE: '2' };
      spec.services.api.hooks = { beforeRollout: ['node', '-e', PRINT_PASSWORD_EXIT, '3'] };
    });
    const oldApi = await apiIds();
    const keep = await fingerprints(others);
    const {
      value: err,
      api,
      web,
    } = await underLoad(() =>
      up(ctx, { timeoutMs: 240_000, build: false }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    t.diagnostic(`failing hook: ${summary('api route', api)}; ${summary('web route', web)}`);
    assert.ok(err instanceof HookError, String(err));
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /beforeRollout hook of api failed \(exit 3\).*old replicas keep serving\n\*\*\*$/s);
    assert.deepEqual(failed(api), [], summary('api route', api));
    assert.deepEqual(failed(web), [], summary('web route', web));
    assert.deepEqual(await apiIds(), oldApi, 'the old replicas are the ones running');
    assert.deepEqual(await fingerprints(others), keep);
  });

  test("a migration hook (the API's own `migrate`) creates its table before any new replica starts, 0 failed requests", async (t) => {
    // the schema as before the API's first migration: only the hook can create it again before the new replicas start
    await sql(ctx, 'api', 'DROP TABLE items; DELETE FROM schema_migrations');
    await respec((spec) => {
      spec.services.api.hooks = { beforeRollout: ['node', '/app/server.js', 'migrate'] };
    });
    const output: string[] = [];
    const onProgress = (e: { kind: string; line?: string }) => void (e.kind === 'output' && e.line && output.push(e.line));
    const { value: r, api, web } = await underLoad(() => up(ctx, { timeoutMs: 240_000, build: false, onProgress }));
    t.diagnostic(
      `migration hook: ${summary('api route', api)}; ${summary('web route', web)}; ${r.rollouts.map((x) => `${x.durationMs} ms`).join()}`,
    );
    assert.deepEqual(failed(api), [], summary('api route', api));
    assert.deepEqual(failed(web), [], summary('web route', web));
    assert.ok(output.includes('api beforeRollout: schema migrations applied: 1'), output.join('\n'));
    const applied = await sql(
      ctx,
      'api',
      `SELECT to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM schema_migrations WHERE version = 1`,
    );
    assert.equal(await sql(ctx, 'api', "SELECT to_regclass('items') IS NOT NULL"), 't');
    const started = await apiReplicas();
    assert.equal(started.length, 2);
    for (const n of started)
      assert.ok(normalTime(applied) < n.startedAt, `table created at ${applied}, replica ${n.replica} started ${n.startedAt}`);
  });
});

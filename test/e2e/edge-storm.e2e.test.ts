// The HAProxy edge on the real engine: a routing change is a hot reload (same container, no
// failed request), a bad configuration never reaches the running workers, and a reconnect
// storm (clients that give up after 1 s and reconnect, clients stuck mid-request past maxconn,
// HTTP/2 sessions with 100 streams each) while backends freeze, stop, scale and the edge
// reloads twice never gets it OOM-killed: the kernel's record, Docker's restart count and the
// cgroup's peak say so. All traffic goes to the loopback-published edge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { execa } from 'execa';
import { composeContext, type OpsContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { listContainers, type ContainerState } from '../../src/engine/live.js';
import { CommandError, run } from '../../src/engine/run.js';
import { edgeMaxconnFor } from '../../src/plan/edge.js';
import { prepare } from '../../src/ops/prepare.js';
import { reloadEdge } from '../../src/ops/reload.js';
import { up, type UpResult } from '../../src/ops/up.js';
import { dockerSkipReason } from './support/images.js';
import { nginxImage } from './support/nginx.js';
import { createStack, freePort, type E2EStack } from './support/stack.js';
import { kernelOomKills, memoryCgroup, sampleMemory, storm } from './support/storm.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 ** 2;

describe('HAProxy edge: hot reload, sizing, reconnect storm', { skip, timeout: 900_000 }, () => {
  let s: E2EStack;
  let ctx: OpsContext;
  let statsPort: number;
  const project = `wharf-e2e-edge${process.pid % 10000}`;
  const hosts = { site: 'site.edge.localhost', web: 'web.edge.localhost' };

  const proxy = async (): Promise<ContainerState> => (await listContainers(ctx.engine, run)).find((c) => c.service === 'proxy')!;
  const key = (c: ContainerState) => `${c.id}@${c.startedAt}`;
  const get = (host: string) =>
    edgeRequest({ host, port: s.ports.https, address: '127.0.0.1', timeoutMs: 3000 }).then(
      (r) => r.status,
      () => 0,
    );
  /** Edit wharf.yaml, render and up, the way a user reruns `wharf up`. */
  const upWith = async (edit: (spec: Record<string, any>) => void): Promise<UpResult> => {
    const spec = parse(readFileSync(s.specPath, 'utf8')) as Record<string, any>;
    edit(spec);
    writeFileSync(s.specPath, stringify(spec));
    const p = await prepare({ specPath: s.specPath });
    ctx = await composeContext({ plan: p.plan, outDir: p.outDir, projectDir: s.dir, secretsDir: p.secretsDir });
    return up(ctx, { timeoutMs: 180_000 });
  };
  /** HAProxy's own counters, from the stats page's CSV (published on loopback for this test). */
  const frontend = async (name: string) => {
    const pass = readFileSync(join(ctx.secretsDir!, 'edge-admin-password'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${pass}`).toString('base64')}` },
    });
    const [head, ...rows] = (await res.text()).trim().split('\n');
    const cols = head!.replace(/^# /, '').split(',');
    const row = rows.map((l) => l.split(',')).find((r) => r[0] === name && r[1] === 'FRONTEND')!;
    return Object.fromEntries(cols.map((c, i) => [c, row[i]!]));
  };
  /** Requests on keep-alive connections until stopped; every status that is not 200 counts as failed. */
  const steady = (host: string) => {
    let stop = false;
    const tally = { ok: 0, failed: 0 };
    const done = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const st = await get(host);
          if (st === 200) tally.ok++;
          else tally.failed++;
        }
      }),
    );
    return {
      async stop() {
        stop = true;
        await done;
        return tally;
      },
    };
  };

  before(async () => {
    const nginx = await nginxImage();
    statsPort = await freePort();
    const svc = (host: string) => ({ image: nginx, port: 8080, replicas: 2, user: 'www-data', routes: [{ host }], health: { path: '/' } });
    s = await createStack(
      {
        name: project,
        domain: 'edge.localhost',
        services: { site: svc(hosts.site), web: svc(hosts.web) },
        monitoring: { enabled: false },
      },
      project,
      (spec) => {
        spec.proxy.dashboard = false;
        spec.proxy.stats = { port: statsPort, publish: true };
      },
    );
    ctx = s.ctx;
    const first = await up(ctx, { timeoutMs: 180_000 });
    assert.ok(
      first.services.every((x) => x.state === 'healthy'),
      JSON.stringify(first.services),
    );
  });
  after(async () => {
    await s?.destroy();
  });

  test('an env change elsewhere leaves the edge alone; a routing change reloads it in place without a failed request', async (t) => {
    const p0 = await proxy();
    const env = await upWith((spec) => {
      spec.services.site.env = { STORM: '1' };
    });
    assert.deepEqual([env.changed, env.reloaded], [['site'], []]);
    assert.equal(key(await proxy()), key(p0), 'the edge was not recreated or restarted');

    // web 2 -> 3 replicas: more server-template slots, so haproxy.cfg changes.
    const load = steady(hosts.site);
    const t0 = performance.now();
    const scaled = await upWith((spec) => {
      spec.services.web.replicas = 3;
    });
    const tally = await load.stop();
    assert.deepEqual([scaled.changed, scaled.reloaded], [['web'], ['proxy']]);
    assert.equal(key(await proxy()), key(p0), 'reloaded, not recreated');
    const reload = scaled.steps.find((x) => x.step === 'reload')!;
    t.diagnostic(
      `reload step ${reload.durationMs} ms (${reload.describe}); up ${Math.round(performance.now() - t0)} ms; steady load on site: ${tally.ok} ok, ${tally.failed} failed`,
    );
    assert.ok(tally.ok > 20, `the steady load ran (${tally.ok})`);
    assert.equal(tally.failed, 0);
    const logs = await execa('docker', ['logs', p0.id], { all: true });
    assert.match(logs.all ?? '', /Loading success/, 'the master loaded the new configuration');
    assert.match(readFileSync(join(ctx.outDir, 'haproxy/haproxy.cfg'), 'utf8'), /server-template web 6 /);
    // Every new slot is known to the running edge: the third replica serves.
    assert.equal(await get(hosts.web), 200);
  });

  test('a configuration the check refuses is never signalled: the running edge keeps serving', async () => {
    const cfg = join(ctx.outDir, 'haproxy/haproxy.cfg');
    const good = readFileSync(cfg, 'utf8');
    const p0 = await proxy();
    try {
      writeFileSync(cfg, `${good}\nbackend broken\n    no-such-keyword 1\n`);
      await assert.rejects(
        reloadEdge(ctx),
        (e: unknown) => e instanceof CommandError && /check the new configuration of proxy/.test(e.message),
      );
      assert.equal(key(await proxy()), key(p0));
      assert.equal(await get(hosts.site), 200);
    } finally {
      writeFileSync(cfg, good);
    }
    const again = await reloadEdge(ctx);
    assert.deepEqual(
      again.map((r) => r.service),
      ['proxy'],
    );
  });

  test('reconnect storm while backends freeze, stop and scale and the edge reloads: never OOM-killed, under its limit', async (t) => {
    const p0 = await proxy();
    const sizing = ctx.plan.proxy.sizing!;
    const cg = memoryCgroup(p0.id);
    assert.equal(cg.limit(), sizing.memoryBytes, 'the container runs with the limit the plan derived');
    assert.equal(sizing.maxconn, edgeMaxconnFor(sizing.memoryBytes));
    const oom0 = cg.oomKills();
    const kernel0 = kernelOomKills(p0.id);
    if (kernel0 === undefined && process.env.CI === 'true')
      assert.fail("/dev/kmsg is unreadable: the kernel's OOM record is required in CI");
    const idle = cg.usage();
    const sampler = sampleMemory(cg);
    const siteIds = (await listContainers(ctx.engine, run)).filter((c) => c.service === 'site').map((c) => c.id);
    const webOne = (await listContainers(ctx.engine, run)).find((c) => c.service === 'web')!;

    const reloads: UpResult[] = [];
    const chaos = (async () => {
      await sleep(4000);
      await execa('docker', ['pause', ...siteIds]); // frozen: connections accepted, nothing answered
      await sleep(10_000);
      await execa('docker', ['unpause', ...siteIds]);
      await execa('docker', ['stop', '-t', '1', webOne.id]); // gone: its address refuses
      reloads.push(
        await upWith((spec) => {
          spec.services.web.replicas = 4;
        }),
      ); // starts it again, scales, reloads
      reloads.push(
        await upWith((spec) => {
          spec.services.web.replicas = 2;
        }),
      ); // scales down, reloads again
    })();
    // Each worker counts its own sessions, and a reload starts a new one: poll the maximum.
    let smax = 0;
    const poll = setInterval(() => {
      frontend('https').then(
        (f) => {
          smax = Math.max(smax, Number(f.smax));
        },
        () => {},
      );
    }, 1000);
    const started = performance.now();
    const load = await storm({
      port: s.ports.https,
      host: hosts.site,
      durationMs: 45_000,
      timeoutMs: 1000,
      reconnecting: 100,
      holders: Math.ceil(1.25 * sizing.maxconn),
      h2Sessions: 8,
      streams: 100,
    });
    await chaos;
    clearInterval(poll);
    const mem = sampler.stop();
    const https = await frontend('https');

    const p1 = await proxy();
    const peak = cg.peak();
    const kernel = kernelOomKills(p0.id);
    t.diagnostic(
      JSON.stringify({
        stormMs: Math.round(performance.now() - started),
        limitMiB: sizing.memoryBytes / MiB,
        maxconn: sizing.maxconn,
        idleMiB: +(idle / MiB).toFixed(1),
        maxUsageMiB: +(mem.maxUsage / MiB).toFixed(1),
        maxAnonMiB: +(mem.maxAnon / MiB).toFixed(1),
        peakMiB: peak && +(peak / MiB).toFixed(1),
        samples: mem.samples,
        httpsFrontend: { smax, slim: https.slim },
        load,
        reloads: reloads.map((r) => ({
          changed: r.changed,
          reloaded: r.reloaded,
          ms: r.steps.find((x) => x.step === 'reload')?.durationMs,
        })),
        oomKills: cg.oomKills() - oom0,
        kernelOomRecords: kernel === undefined ? 'unreadable' : kernel.length - kernel0!.length,
      }),
    );

    // The storm was real: the edge admitted connections up to its cap and was reloaded twice under it.
    assert.ok(smax >= Number(https.slim), `https frontend reached its maxconn (${smax}/${https.slim})`);
    assert.equal(Number(https.slim), sizing.frontends.https);
    assert.ok(load.handshakes + load.holdersAdmitted > sizing.maxconn, JSON.stringify(load));
    assert.deepEqual(
      reloads.map((r) => r.reloaded),
      [['proxy'], ['proxy']],
    );
    assert.ok(reloads.every((r) => !r.changed.includes('proxy')));
    // Never killed: same container, same start, no restart, no OOM in the cgroup or the kernel log.
    assert.equal(key(p1), key(p0), 'the edge was never restarted or recreated');
    assert.equal(p1.restartCount, 0);
    assert.equal(cg.oomKills(), oom0, 'the cgroup counted no OOM kill');
    if (kernel !== undefined) assert.deepEqual(kernel.slice(kernel0!.length), [], 'the kernel logged no OOM kill in this container');
    const inspect = JSON.parse((await execa('docker', ['inspect', p0.id])).stdout)[0] as { State: { OOMKilled: boolean } };
    assert.equal(inspect.State.OOMKilled, false);
    // Under the limit all along (the kernel's high-water mark when it keeps one, and every sample).
    assert.ok(mem.samples > 50);
    assert.ok(mem.maxUsage < sizing.memoryBytes, `sampled ${mem.maxUsage} < ${sizing.memoryBytes}`);
    if (peak !== undefined) assert.ok(peak < sizing.memoryBytes, `peak ${peak} < ${sizing.memoryBytes}`);

    // And it serves again once the storm is over.
    const until = Date.now() + 30_000;
    let last = [0, 0];
    while (Date.now() < until) {
      last = [await get(hosts.site), await get(hosts.web)];
      if (last.every((x) => x === 200)) break;
      await sleep(500);
    }
    assert.deepEqual(last, [200, 200]);
  });
});

// The first `wharf up` after `wharf import compose --adopt`: wharf's stack takes over the
// containers `docker compose up` started, under the same project name, so every named volume is
// the same Docker volume. Each published port is probed the whole time and its gap measured.
// Order, for the shortest gaps: a datastore stops first (one data directory, one server), then
// its replacement starts on the same volume; stateless services start beside the old ones and
// wait until healthy; only then is a host port freed (the old holder removed) and wharf's edge
// started on it; the rest of the old containers go last.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import type { ContainerState } from '../engine/live.js';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { InputError, OperationError } from '../errors.js';
import { ensureImages } from './images.js';

export interface AdoptedPort {
  service: string;
  hostIp: string;
  port: number;
  to: string;
}

export interface AdoptRecord {
  project: string;
  workingDir: string;
  ports: AdoptedPort[];
}

export interface PortGap {
  address: string;
  /** the old service that published it, and what publishes it now */
  from: string;
  to: string;
  /** longest time it did not answer (no connection, no HTTP status line, or a 5xx) */
  unavailableMs: number;
  /** probes made, and how many of them failed */
  probes: number;
  failed: number;
}

export interface AdoptResult {
  project: string;
  /** old containers removed, by service */
  replaced: Array<{ service: string; containers: number; how: 'stop-first' | 'start-first' | 'port-handover' | 'removed' }>;
  /** the old project's networks removed (wharf's stack uses others) */
  networks: string[];
  ports: PortGap[];
  durationMs: number;
}

export const adoptFile = (projectDir: string) => join(projectDir, '.wharf', 'adopt.json');

export function readAdoptRecord(projectDir: string): AdoptRecord | undefined {
  const f = adoptFile(projectDir);
  if (!existsSync(f)) return undefined;
  const r = JSON.parse(readFileSync(f, 'utf8')) as AdoptRecord;
  if (typeof r.project !== 'string' || !Array.isArray(r.ports))
    throw new InputError(`${f}: not an adoption record written by wharf import`);
  return r;
}

/** One HTTP request on a raw socket: answered means a status line below 500 arrived in time. */
export function probe(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host, port });
    let data = '';
    const end = (ok: boolean) => (s.destroy(), done(ok));
    s.setTimeout(timeoutMs, () => end(false));
    s.on('error', () => end(false));
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on('data', (d) => {
      data += d.toString('latin1');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(data);
      if (m) end(Number(m[1]) < 500);
      else if (data.length > 64) end(false);
    });
    s.on('end', () => end(false));
  });
}

/** Probes a port until stopped; the longest stretch between two answers that had failures in it. */
export function watchPort(host: string, port: number, everyMs = 100) {
  let stopped = false;
  let lastOk = performance.now();
  let failing = false;
  let longest = 0;
  let probes = 0;
  let failed = 0;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      const ok = await probe(host, port);
      probes++;
      if (ok) {
        if (failing) longest = Math.max(longest, performance.now() - lastOk);
        failing = false;
        lastOk = performance.now();
      } else {
        failed++;
        failing = true;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - t))));
    }
  })();
  return {
    get failing() {
      return failing;
    },
    async stop(): Promise<{ unavailableMs: number; probes: number; failed: number }> {
      stopped = true;
      await loop;
      return { unavailableMs: Math.round(failing ? performance.now() - lastOk : longest), probes, failed };
    },
  };
}

/**
 * The old project's networks (its `<project>_default`, say): Compose created them (they carry the
 * project's label; an external network does not), wharf's stack names others. Removed once
 * nothing is attached; a network wharf's stack uses, or one still in use, stays.
 */
export async function removeOldNetworks(ctx: OpsContext, say: (line: string) => void = () => {}): Promise<string[]> {
  const runner = runnerOf(ctx);
  const left = ctx.engine.leftovers;
  const ids = (await runner(left.networks())).stdout.split('\n').filter(Boolean);
  if (!ids.length) return [];
  const ours = new Set(ctx.plan.networks.map((n) => ctx.engine.networkName(n.name)));
  const found = JSON.parse((await runner(left.inspectNetworks(ids))).stdout) as Array<{
    Name: string;
    Labels?: Record<string, string> | null;
    Containers?: Record<string, unknown> | null;
  }>;
  const stale = found
    .filter((n) => n.Labels?.['com.docker.compose.network'] && !ours.has(n.Name) && !Object.keys(n.Containers ?? {}).length)
    .map((n) => n.Name);
  if (!stale.length) return [];
  say(`remove the old project's networks, nothing attached any more: ${stale.join(', ')}`);
  // one attached meanwhile (a container started by hand) refuses its removal: it stays, the rest go
  await runner(left.removeNetworks(stale), { reject: false });
  return stale;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function adopt(ctx: OpsContext, record: AdoptRecord, o: { onProgress?: (line: string) => void; timeoutMs?: number } = {}) {
  const runner = runnerOf(ctx);
  const say = o.onProgress ?? (() => {});
  const timeoutMs = o.timeoutMs ?? 180_000;
  const started = performance.now();
  const engine = ctx.engine;
  if (engine.kind !== 'compose' || engine.strategy.kind !== 'side-by-side')
    throw new InputError(`${adoptFile(ctx.projectDir)}: a Compose project is adopted by the compose target only`);
  const strategy = engine.strategy;
  if (record.project !== engine.project)
    throw new InputError(
      `${adoptFile(ctx.projectDir)}: recorded for the project "${record.project}", but wharf.yaml's name is "${engine.project}"`,
      {
        hint: 'keep the Compose project name as name: in wharf.yaml, so the volumes stay the same',
      },
    );
  const ours = resolve(engine.dir);
  const isOld = (c: ContainerState) => c.labels['com.docker.compose.project.working_dir'] !== ours;
  const live = async () => (await engine.liveState(runner)).containers;
  const old = (await live()).filter(isOld);
  const gone = (cs: ContainerState[]) => cs.map((c) => c.id);
  if (engine.images.kind === 'local') await ensureImages(ctx.plan, engine.images, runner, (i) => say(`pulling ${i}`));

  /** Until `want` replicas of the service that are wharf's run healthy (or have no healthcheck). */
  const healthy = async (service: string, want: number) => {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const mine = (await live()).filter((c) => c.service === service && !isOld(c));
      if (mine.filter((c) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none')).length >= want) return;
      const bad = mine.find((c) => c.health === 'unhealthy' || c.state === 'exited' || c.state === 'dead');
      if (performance.now() > until || (bad && bad.restartCount > 2))
        throw new OperationError(
          `${service}: wharf's replicas did not become healthy${bad?.healthLog ? ` (${bad.healthLog})` : ''}; the old containers still run`,
        );
      await sleep(500);
    }
  };
  const watches = record.ports.map((p) => ({ p, w: watchPort(p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp, p.port) }));
  const replaced: AdoptResult['replaced'] = [];
  let networks: string[];
  let gaps: Array<{ p: AdoptedPort; r: Awaited<ReturnType<ReturnType<typeof watchPort>['stop']>> }>;
  try {
    const byRole = (roles: string[]) => ctx.plan.components.filter((c) => roles.includes(c.role));
    // 1. datastores: stop-first on the same volume (a clean shutdown: PostgreSQL checkpoints)
    for (const c of byRole(['database', 'cache'])) {
      const olds = old.filter((x) => x.service === c.name);
      if (olds.length) {
        say(`${c.name}: stop the old container (its volume stays), then start wharf's on the same volume`);
        await runner(strategy.stopContainers(gone(olds), 60));
        await runner(strategy.removeContainers(gone(olds)));
        replaced.push({ service: c.name, containers: olds.length, how: 'stop-first' });
      }
      await runner(strategy.scaleOut(c.name, c.replicas));
      await healthy(c.name, c.replicas);
    }
    // 2. services: wharf's replicas beside the old ones (theirs publish no port), healthy first
    const holders = new Set(record.ports.map((p) => p.service));
    for (const c of byRole(['app'])) {
      const olds = old.filter((x) => x.service === c.name);
      say(`${c.name}: start ${c.replicas} replica(s) beside the ${olds.length} old`);
      await runner(strategy.scaleOut(c.name, olds.length + c.replicas));
      await healthy(c.name, c.replicas);
    }
    // 3. the ports: free them (the old holders and the old services behind them go at once), start the edge
    const edge = ctx.plan.proxy?.component;
    const freeing = old.filter((x) => holders.has(x.service) || ctx.plan.components.some((c) => c.name === x.service && c.role === 'app'));
    say(
      `free ${record.ports.map((p) => `${p.hostIp}:${p.port}`).join(', ') || 'no port'}: remove ${freeing.map((x) => x.name).join(', ')}`,
    );
    if (freeing.length) await runner(strategy.removeContainers(gone(freeing)));
    for (const s of new Set(freeing.map((x) => x.service)))
      replaced.push({
        service: s,
        containers: freeing.filter((x) => x.service === s).length,
        how: holders.has(s) ? 'port-handover' : 'start-first',
      });
    if (edge) {
      const n = ctx.plan.components.find((c) => c.name === edge)?.replicas ?? 1;
      await runner(strategy.scaleOut(edge, n));
      await healthy(edge, n);
    }
    // 4. what is left of the old project (one-off tools, workers wharf does not run)
    const rest = old.filter(
      (x) => !freeing.includes(x) && !ctx.plan.components.some((c) => c.name === x.service && ['database', 'cache'].includes(c.role)),
    );
    if (rest.length) {
      await runner(strategy.removeContainers(gone(rest)));
      for (const s of new Set(rest.map((x) => x.service)))
        replaced.push({ service: s, containers: rest.filter((x) => x.service === s).length, how: 'removed' });
    }
    networks = await removeOldNetworks(ctx, say);
    // every port answers again before the gap is measured (or the wait times out and reports it)
    const until = performance.now() + 30_000;
    while (watches.some((x) => x.w.failing) && performance.now() < until) await sleep(100);
  } finally {
    gaps = await Promise.all(watches.map(async ({ p, w }) => ({ p, r: await w.stop() })));
  }
  rmSync(adoptFile(ctx.projectDir), { force: true });
  const ports: PortGap[] = gaps.map(({ p, r }) => ({ address: `${p.hostIp}:${p.port}`, from: p.service, to: p.to, ...r }));
  return { project: engine.project, replaced, networks, ports, durationMs: Math.round(performance.now() - started) } satisfies AdoptResult;
}

// Zero-downtime rollouts on one host: drives the state machine (rollout-machine.ts) with
// the engine's commands. The op never knows the target: it needs an engine that can run new
// containers beside the old ones (scaleOut) and reads the edge through its runtime API.
//
// Measured on Compose 2.26 (see README "Zero-downtime rollouts"):
// - `up -d --no-recreate --scale svc=M svc` adds M-N containers with the new definition and
//   leaves the N old ones alone; `--no-deps` would drop depends_on from their config hash
//   and the next plain `up` would recreate them.
// - a plain `up` recreates every dependent of a recreated service (the edge too, while it
//   depended on the routed services): so changed services are deployed by name.
import pWaitFor from 'p-wait-for';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { Desired, SideBySide } from '../engine/engine.js';
import { lastLogLines, listContainers, type ContainerState } from '../engine/live.js';
import { askEdge, runtime, type EdgeServer } from '../engine/haproxy-runtime.js';
import { addrOn, admitted, edgeOf, edgeServers, FORCED_DRAIN, FORCED_MAINT, readySlotsOf, slotKey, type Edge } from './edge-admission.js';
import type { Runner } from '../engine/run.js';
import { healthWindow, seconds } from '../plan/placement.js';
import { action, begin, terminal, transition, type Deadlines, type RolloutEvent, type RolloutState } from './rollout-machine.js';
import { recordRevision, type Revision } from './revisions.js';
import { RolloutError, whyFailed, type RolloutOptions, type ServiceRollout } from './rollout-report.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What each container of the services is compared with: the definition's revision and the image's ID now. */
export async function desiredState(ctx: OpsContext, strategy: SideBySide, services: string[]): Promise<Desired> {
  const comps = ctx.plan.components.filter((c) => services.includes(c.name)).map((c) => ({ name: c.name, image: c.image }));
  return strategy.desired(runnerOf(ctx), comps);
}

export function upToDate(c: ContainerState, service: string, want: Desired): boolean {
  const revision = want.revisions.get(service);
  const image = want.imageIds.get(service);
  return c.state === 'running' && (!revision || c.revision === revision) && (!image || c.imageId === image);
}

/** The engine's side-by-side strategy; an orchestrated target refuses before doing anything. */
function sideBySide(ctx: OpsContext): SideBySide {
  const s = ctx.engine.strategy;
  if (s.kind !== 'side-by-side') throw new Error(`bug: the ${ctx.engine.kind} engine rolls by its scheduler, not side by side`);
  return s;
}

/** Roll one service. Throws RolloutError when it failed (the old replicas then keep serving). */
export async function rolloutService(ctx: OpsContext, service: string, opts: RolloutOptions = {}): Promise<ServiceRollout> {
  const engine = ctx.engine;
  const strategy = sideBySide(ctx);
  const component = ctx.plan.components.find((c) => c.name === service);
  if (!component) throw new Error(`no service "${service}" in the plan (services: ${ctx.plan.components.map((c) => c.name).join(', ')})`);
  const runner = runnerOf(ctx);
  const masks = secretValues(ctx.secretsDir);
  const emit = opts.onProgress ?? (() => {});
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const pollMs = opts.pollMs ?? 500;
  const health = component.healthcheck ? healthWindow(component.healthcheck) * 1000 : 30_000;
  const d: Deadlines = { healthMs: health + 30_000, admitMs: 30_000, drainMs: 30_000, ...opts.deadlines };
  const grace = Math.max(seconds(component.stopGracePeriod), 1);

  const mine = async () => (await listContainers(engine, runner)).filter((c) => c.service === service);
  const all = await listContainers(engine, runner);
  const current = all.filter((c) => c.service === service);
  const edge = edgeOf(ctx, service, all);
  const want = opts.force ? undefined : await desiredState(ctx, strategy, [service]);
  const keep = want ? current.filter((c) => upToDate(c, service, want)).slice(0, component.replicas) : [];
  const old = current.filter((c) => !keep.includes(c)).map((c) => c.id);
  // The edge fills a fixed number of slots per route: never run more side by side than the fullest backend holds.
  let slots = Infinity;
  if (edge.runtimeApi) {
    const perBackend = new Map<string, number>();
    for (const s of await edgeServers(runner, edge)) perBackend.set(s.backend, (perBackend.get(s.backend) ?? 0) + 1);
    if (perBackend.size) slots = Math.min(...perBackend.values());
  }
  let s: RolloutState = begin({ service, target: component.replicas, slots, old, fresh: keep.map((c) => c.id) });
  const drained = new Map<string, EdgeServer>();
  // Spare slots are put in maintenance before new replicas start, so the edge resolves them
  // into slots that take no traffic until Docker's healthcheck passed (a replica that never
  // gets healthy never sees a request); released once the rollout ends.
  const held = new Map<string, EdgeServer>();
  const liveIps = async () =>
    new Set(
      (await mine())
        .filter((c) => c.state === 'running')
        .map((c) => addrOn(c, edge.network))
        .filter(Boolean),
    );
  let logs: string[] | undefined;
  let revision: string | undefined;
  let started = 0;
  const say = (detail: string) => emit({ kind: 'phase', service, phase: s.phase, detail, elapsedMs: elapsed() });
  say(
    `${current.length} running, ${keep.length} up to date, ${old.length} to replace, ` +
      `target ${component.replicas}${Number.isFinite(slots) ? `, ${slots} edge slots` : ''}`,
  );

  const perform = async (): Promise<RolloutEvent> => {
    const a = action(s);
    switch (a.kind) {
      case 'start': {
        const before = new Set((await mine()).map((c) => c.id));
        if (edge.runtimeApi) {
          const live = await liveIps();
          for (const x of await edgeServers(runner, edge)) {
            if (live.has(x.addr) || (x.adminState & FORCED_MAINT) !== 0) continue;
            await askEdge(runner, runtime.setState(edge.proxy!, x.backend, x.server, 'maint'));
            held.set(slotKey(x), x);
          }
        }
        say(`starting ${a.count} new (${a.total} side by side)`);
        await runner({ ...strategy.scaleOut(service, a.total, opts.file), redact: masks });
        const ids = (await mine()).filter((c) => !before.has(c.id)).map((c) => c.id);
        started += ids.length;
        return { kind: 'started', ids, at: Date.now() };
      }
      case 'await-health': {
        const cs = (await mine()).filter((c) => a.ids.includes(c.id));
        if (cs.length < a.ids.length) return { kind: 'failed', reason: `${a.ids.length - cs.length} new container(s) vanished` };
        const bad = cs.find((c) => c.health === 'unhealthy' || c.state === 'exited' || c.state === 'dead' || c.restartCount > 0);
        if (bad) {
          logs = await lastLogLines(engine, runner, bad, 20, masks);
          return { kind: 'failed', reason: whyFailed(bad) };
        }
        if (cs.every((c) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none'))) {
          say(`${cs.length} new healthy`);
          return { kind: 'healthy', at: Date.now() };
        }
        await sleep(pollMs);
        return { kind: 'waiting', at: Date.now() };
      }
      case 'await-admission': {
        if (!edge.runtimeApi) return { kind: 'admitted', at: Date.now() };
        const cs = (await mine()).filter((c) => a.ids.includes(c.id));
        const ips = cs.map((c) => addrOn(c, edge.network));
        const servers = await edgeServers(runner, edge);
        // Healthy now: the slots the edge resolved them into leave maintenance; its checks then bring them UP.
        for (const x of await readySlotsOf(runner, edge, servers, ips)) held.delete(slotKey(x));
        if (admitted(servers, ips)) {
          say(`the edge sends traffic to ${cs.length} new`);
          return { kind: 'admitted', at: Date.now() };
        }
        await sleep(pollMs);
        return { kind: 'waiting', at: Date.now() };
      }
      case 'drain': {
        if (!edge.runtimeApi) return { kind: 'drained', at: Date.now() };
        const cs = (await listContainers(engine, runner)).filter((c) => a.ids.includes(c.id));
        const ips = new Set(cs.map((c) => addrOn(c, edge.network)).filter(Boolean));
        const servers = (await edgeServers(runner, edge)).filter((x) => ips.has(x.addr));
        for (const x of servers) {
          if ((x.adminState & FORCED_DRAIN) === 0) await askEdge(runner, runtime.setState(edge.proxy!, x.backend, x.server, 'drain'));
          drained.set(slotKey(x), x);
        }
        const sessions = servers.reduce((n, x) => n + (x.sessions ?? 0), 0);
        if (sessions === 0) {
          say(`${a.ids.length} old drained`);
          return { kind: 'drained', at: Date.now() };
        }
        await sleep(pollMs);
        return { kind: 'waiting', at: Date.now() };
      }
      case 'stop': {
        say(`stopping ${a.ids.length} old (grace ${grace}s)`);
        await runner(strategy.stopContainers(a.ids, grace));
        await runner(strategy.removeContainers(a.ids));
        if (edge.runtimeApi) await releaseSlots(runner, edge, await liveIps(), drained);
        return { kind: 'stopped' };
      }
      case 'record': {
        const r = await recordCurrent(ctx, service, opts.file, opts.via ?? 'rollout');
        revision = r?.revision;
        return { kind: 'recorded' };
      }
      case 'remove': {
        if (a.ids.length) {
          say(`removing ${a.ids.length} new (${s.error})`);
          await runner(strategy.removeContainers(a.ids));
        }
        return { kind: 'removed' };
      }
      default:
        throw new Error(`bug: no action in phase ${s.phase}`);
    }
  };

  while (!terminal(s)) {
    let e: RolloutEvent;
    try {
      e = await perform();
    } catch (err) {
      e = { kind: 'failed', reason: (err as Error).message.split('\n')[0]! };
    }
    const before = s.phase;
    s = transition(s, e, d);
    if (s.phase !== before && (s.phase === 'abort' || s.phase === 'failed')) say(s.error ?? 'failed');
  }
  if (edge.runtimeApi && held.size) {
    try {
      await releaseSlots(runner, edge, await liveIps(), held);
    } catch (err) {
      say(`could not release ${held.size} edge slot(s) from maintenance: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const result: ServiceRollout = {
    service,
    ok: s.phase === 'done',
    replaced: old.length - s.old.length,
    started,
    replicas: s.fresh.length,
    waves: s.waves,
    revision,
    durationMs: elapsed(),
    phase: s.phase,
    ...(s.error ? { error: s.error } : {}),
    ...(logs ? { logs } : {}),
  };
  if (!result.ok) throw new RolloutError(result);
  say(`done: ${result.replicas} replicas${revision ? `, revision ${revision}` : ''}`);
  return result;
}

/**
 * Slots we put in drain or maintenance go back to ready once they no longer hold the
 * address of a container that is gone (or after 15 s: the address is dead): a replica later
 * resolved into a slot left flagged would get no traffic.
 */
async function releaseSlots(runner: Runner, edge: Edge, live: Set<string>, flagged: Map<string, EdgeServer>): Promise<void> {
  let pending: EdgeServer[] = [];
  const settled = async () => {
    pending = (await edgeServers(runner, edge)).filter((x) => flagged.has(slotKey(x)));
    return !pending.some((x) => x.addr && !live.has(x.addr));
  };
  await pWaitFor(settled, { interval: 500, timeout: { milliseconds: 15_000, fallback: () => undefined } });
  for (const x of pending) {
    if ((x.adminState & (FORCED_DRAIN | FORCED_MAINT)) !== 0)
      await askEdge(runner, runtime.setState(edge.proxy!, x.backend, x.server, 'ready'));
    flagged.delete(slotKey(x));
  }
}

/** Record what the service runs now (definition, image ID, config hash). */
export async function recordCurrent(
  ctx: OpsContext,
  service: string,
  file: string | undefined,
  via: Revision['via'],
  containers?: ContainerState[],
): Promise<Revision | undefined> {
  const definition = sideBySide(ctx).definition(service, file);
  if (!definition) return undefined;
  const all = containers ?? (await listContainers(ctx.engine, runnerOf(ctx)));
  const live = all.filter((c) => c.service === service && c.state === 'running');
  const imageId = live[0]?.imageId ?? '';
  const hash = live[0]?.revision;
  return recordRevision(ctx.projectDir, service, {
    image: String(definition.image ?? ''),
    imageId,
    ...(hash ? { configHash: hash } : {}),
    definition,
    at: new Date().toISOString(),
    via,
  }).revision;
}

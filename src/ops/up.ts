// wharf up: validate, build, create/update, then wait until every replica is healthy.
import { join, relative } from 'node:path';
import pWaitFor from 'p-wait-for';
import type { Plan } from '../plan/model.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { ImageSource, LiveState } from '../engine/engine.js';
import type { Runner } from '../engine/run.js';
import { byService, lastLogLines, type ContainerState } from '../engine/live.js';
import type { Cmd } from '../engine/command.js';
import { CommandError } from '../engine/run.js';
import { ensureImages, findImages, ImageUnavailableError, isPullFailure, neededImages } from './images.js';
import { edgeLag, edgeWhere, type EdgeLag } from './edge-admission.js';
import {
  crashLooping,
  healthOf,
  OverlayWithoutIpsecError,
  overlaysWithoutIpsec,
  portFree,
  type ServiceHealth,
  type ServiceStateName,
} from './health.js';
import { decideDeploy, failedTaskReport, recordCurrent, rolloutService, type DeployDecision, type ServiceRollout } from './rollout.js';
import { reloadChanged } from './reload.js';
import { OperationError } from '../errors.js';

export { crashLooping, OverlayWithoutIpsecError, serviceHealth, type ServiceHealth, type ServiceStateName } from './health.js';

export type UpStep = 'validate' | 'images' | 'build' | 'rollout' | 'deploy' | 'reload' | 'wait' | 'prune';

export type UpEvent =
  | { kind: 'step'; step: UpStep; status: 'start' | 'done' | 'skipped'; describe: string; durationMs?: number }
  | { kind: 'output'; step: UpStep; line: string }
  | { kind: 'health'; services: ServiceHealth[]; elapsedMs: number };

export interface UpOptions {
  onProgress?: (e: UpEvent) => void;
  /** give up waiting for health after this long (default 180 s) */
  timeoutMs?: number;
  /** poll interval while waiting (default 1 s) */
  pollMs?: number;
  /** build services that have build: (default true) */
  build?: boolean;
}

export interface UpResult {
  project: string;
  /** services whose containers were created, replaced or removed by this run (empty on a no-op rerun) */
  changed: string[];
  /** services that took a configuration change live, their containers kept (the edge) */
  reloaded: string[];
  services: ServiceHealth[];
  urls: Array<{ route: string; url: string; service: string; auth: boolean }>;
  credentials: Array<{ what: string; file: string }>;
  /** superseded immutable objects removed after the deploy converged (multi-node targets) */
  pruned: string[];
  /** services rolled start-first (single host): new replicas beside the old, gated, then the old drained */
  rollouts: ServiceRollout[];
  /** stop-first services recreated by this run, and how long each was not healthy */
  unavailable: Array<{ service: string; ms: number }>;
  steps: Array<{ step: UpStep; describe: string; durationMs: number }>;
  durationMs: number;
}

export interface UnhealthyService {
  service: string;
  state: ServiceStateName;
  desired: number;
  running: number;
  healthy: number;
  /** last failing healthcheck output */
  healthcheck?: string;
  /** last log lines of the first container that is not healthy */
  logs: string[];
}

/** A service did not become healthy: it timed out, or it keeps crashing (no point waiting). */
export class UpTimeoutError extends OperationError {
  constructor(
    readonly services: UnhealthyService[],
    readonly timeoutMs: number,
    readonly reason: 'timeout' | 'crash-loop' = 'timeout',
  ) {
    super(
      `${reason === 'crash-loop' ? 'crash-looping' : `not healthy after ${Math.round(timeoutMs / 1000)}s`}: ${services.map((s) => `${s.service} (${s.healthy}/${s.desired} healthy, ${s.state})`).join(', ')}\n` +
        services
          .map((s) =>
            [
              `--- ${s.service}${s.healthcheck ? ` (healthcheck: ${s.healthcheck.split('\n').slice(-1)[0]})` : ''}: last log lines`,
              ...s.logs.map((l) => `  ${l}`),
            ].join('\n'),
          )
          .join('\n'),
    );
    this.name = 'UpTimeoutError';
  }
}

/** A scheduler rolled a changed service back (or paused it): its new version never became healthy. */
export class RolloutFailedError extends OperationError {
  constructor(readonly services: Array<{ service: string; state: string; task?: string; logs?: string[] }>) {
    super(
      `rollout failed, the old version keeps serving: ${services.map((s) => `${s.service} (${s.state.replace('_', ' ')}${s.task ? `; ${s.task}` : ''})`).join(', ')}${
        services.some((s) => s.logs?.length)
          ? services
              .filter((s) => s.logs?.length)
              .map((s) => `\n--- ${s.service}: last log lines of the task it gave up on\n${s.logs!.map((l) => `  ${l}`).join('\n')}`)
              .join('')
          : '; read `wharf logs` of the new tasks'
      }`,
    );
    this.name = 'RolloutFailedError';
  }
}

/**
 * Services the scheduler is still rolling, and those whose rollout of this run failed (a
 * rollback from an earlier deploy is history, not this run's failure).
 */
function rollouts(live: LiveState, deployedAt: number): { updating: string[]; failed: Array<{ service: string; state: string }> } {
  const states = [...live.updates].map(([service, u]) => ({ service, ...u }));
  const ours = (s: { startedAt: number }) => s.startedAt >= deployedAt - 2000;
  return {
    updating: states.filter((s) => s.state === 'updating' || s.state === 'rollback_started').map((s) => s.service),
    failed: states
      .filter((s) => ours(s) && (s.state === 'rollback_completed' || s.state === 'paused' || s.state === 'rollback_paused'))
      .map((s) => ({ service: s.service, state: s.message ? `${s.state}: ${s.message}` : s.state })),
  };
}

const fingerprint = (cs: ContainerState[]) => new Map(cs.map((c) => [c.id, `${c.service}@${c.startedAt}`]));

function changedServices(before: ContainerState[], after: ContainerState[]): string[] {
  const b = fingerprint(before);
  const a = fingerprint(after);
  const out = new Set<string>();
  for (const c of after) if (b.get(c.id) !== a.get(c.id)) out.add(c.service);
  for (const c of before) if (!a.has(c.id)) out.add(c.service);
  return [...out].sort();
}

/** Each component's image ID now: the ones found before, the rest (built, pulled) asked at once. */
async function imageIds(
  plan: Plan,
  local: Extract<ImageSource, { kind: 'local' }>,
  runner: Runner,
  found: Map<string, string>,
): Promise<Map<string, string>> {
  const built = new Set(plan.components.filter((c) => c.build).map((c) => c.image));
  const ids = new Map([...found].filter(([ref]) => !built.has(ref)));
  for (const [ref, id] of await findImages(
    [...new Set(plan.components.map((c) => c.image))].filter((r) => !ids.has(r)),
    local,
    runner,
  ))
    ids.set(ref, id);
  return new Map(plan.components.filter((c) => ids.has(c.image)).map((c) => [c.name, ids.get(c.image)!]));
}

/** The commands up runs, in order (it then reads the live state until every replica is healthy). */
export function upCommands(ctx: Pick<OpsContext, 'plan' | 'engine'>, opts: Pick<UpOptions, 'build'> = {}): Cmd[] {
  const images = ctx.engine.images;
  if (images.kind === 'registry') return [ctx.engine.validate(), ctx.engine.apply()];
  const buildable = ctx.plan.components.filter((c) => c.build).map((c) => c.name);
  return [
    ctx.engine.validate(),
    ...neededImages(ctx.plan).map((i) => images.present(i.image)),
    ...(opts.build !== false && buildable.length ? [images.build(buildable)] : []),
    ctx.engine.apply(),
  ];
}

export async function up(ctx: OpsContext, opts: UpOptions = {}): Promise<UpResult> {
  const runner = runnerOf(ctx);
  const emit = opts.onProgress ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const pollMs = opts.pollMs ?? 1000;
  const masks = secretValues(ctx.secretsDir);
  const started = performance.now();
  const steps: UpResult['steps'] = [];

  /** One timed step with start/done events; `done` may describe the outcome. */
  const timed = async <T>(name: UpStep, describe: string, work: () => Promise<T>, done: (r: T) => string = () => describe): Promise<T> => {
    emit({ kind: 'step', step: name, status: 'start', describe });
    const t = performance.now();
    const r = await work();
    const durationMs = Math.round(performance.now() - t);
    const d = done(r);
    steps.push({ step: name, describe: d, durationMs });
    emit({ kind: 'step', step: name, status: 'done', describe: d, durationMs });
    return r;
  };
  const step = (name: UpStep, c: Cmd) =>
    timed(name, c.describe, () =>
      runner({ ...c, redact: [...(c.redact ?? []), ...masks] }, { onLine: (line) => emit({ kind: 'output', step: name, line }) }),
    );

  const engine = ctx.engine;
  const strategy = engine.strategy;
  const images = engine.images;
  const local = images.kind === 'local' ? images : undefined;
  const buildable = ctx.plan.components.filter((c) => c.build).map((c) => c.name);
  const build = async (): Promise<void> => {
    if (opts.build === false || !buildable.length || !local) {
      emit({ kind: 'step', step: 'build', status: 'skipped', describe: 'nothing to build' });
      return;
    }
    try {
      await step('build', local.build(buildable));
    } catch (err) {
      if (err instanceof CommandError && isPullFailure(err.message)) {
        throw new ImageUnavailableError([], {
          services: buildable,
          reason: err.message.split('\n').filter(Boolean).slice(-3).join(' / ').slice(0, 500),
        });
      }
      throw err;
    }
  };
  // At the same time: the files are valid, the images are built, which images the engine has,
  // what runs, and (side by side) each service's definition revision. Only the build writes
  // (an image, no container); when the files are invalid that is the one error reported.
  const first = await Promise.allSettled([
    step('validate', engine.validate()),
    local
      ? findImages(
          neededImages(ctx.plan).map((n) => n.image),
          local,
          runner,
        )
      : Promise.resolve(undefined),
    engine.liveState(runner),
    strategy.kind === 'side-by-side' ? strategy.revisions(runner) : Promise.resolve(undefined),
    build(),
  ] as const);
  for (const r of first) if (r.status === 'rejected') throw r.reason;
  const value = <T>(r: PromiseSettledResult<T>): T => (r as PromiseFulfilledResult<T>).value;
  const [found, before, revisions] = [value(first[1]), value(first[2]), value(first[3])];
  // On several nodes each node pulls from the registry itself, at deploy time.
  if (!local) emit({ kind: 'step', step: 'images', status: 'skipped', describe: 'the nodes pull the images from their registry' });
  else {
    await timed(
      'images',
      'find or pull the images',
      () => ensureImages(ctx.plan, local, runner, (image) => emit({ kind: 'output', step: 'images', line: `pulling ${image}` }), found),
      (r) => `find or pull the images (${r.present.length} present, ${r.pulled.length} pulled)`,
    );
  }

  // Ports of a multi-node target are bound on the nodes, not here.
  if (!engine.multiNode) await ensurePortsFree(ctx.plan, before.containers);
  // One host: changed stateless services roll start-first, the rest is deployed by name so a
  // recreated service's dependents stay as they are (see ops/rollout.ts).
  const want = revisions && local ? { revisions, imageIds: await imageIds(ctx.plan, local, runner, found ?? new Map()) } : undefined;
  const rolled: ServiceRollout[] = [];
  const decision: DeployDecision | undefined = want && decideDeploy(ctx.plan, before.containers, want);
  for (const service of decision?.roll ?? []) {
    rolled.push(
      await timed(
        'rollout',
        `roll ${service} (new replicas beside the old, then drain the old)`,
        () =>
          rolloutService(ctx, service, {
            via: 'up',
            onProgress: (e) => emit({ kind: 'output', step: 'rollout', line: `${e.service}: ${e.detail}` }),
          }),
        (r) => `rolled ${service}: ${r.replicas} replicas in ${r.waves} wave${r.waves === 1 ? '' : 's'}`,
      ),
    );
  }
  const deployedAt = Date.now();
  // Nothing to create, recreate, scale or remove (no orphan): the engine is not asked at all.
  const idle =
    !!decision &&
    !decision.deploy.length &&
    !decision.roll.length &&
    before.containers.every((c) => ctx.plan.components.some((x) => x.name === c.service));
  if (strategy.kind === 'orchestrated' || !decision) await step('deploy', engine.apply());
  else if (decision.deploy.length) await step('deploy', strategy.applyServices(decision.deploy));
  else if (idle) emit({ kind: 'step', step: 'deploy', status: 'skipped', describe: 'every container is up to date' });
  else await step('deploy', strategy.converge());
  const unavailable = new Map<string, number>();
  // The edge's routing files are not part of what recreates it: the engine applies them live.
  const reloaded =
    strategy.kind === 'side-by-side' && ctx.plan.components.some((c) => c.reload)
      ? await timed(
          'reload',
          'reload what takes its configuration live',
          () => reloadChanged(ctx, before.containers, idle ? { live: before.containers } : {}),
          (r) =>
            r.length
              ? `reloaded ${r.map((x) => `${x.service} (${x.mode === 'watch' ? 'watches its files' : `${x.containers.length} replica${x.containers.length === 1 ? '' : 's'}, ${x.durationMs} ms`})`).join(', ')}`
              : 'no live configuration changed',
        )
      : [];

  emit({ kind: 'step', step: 'wait', status: 'start', describe: 'wait until every replica is healthy and routed' });
  const waitStart = performance.now();
  let last = '';
  let services: ServiceHealth[] = [];
  let containers: ContainerState[] = [];
  let lag: EdgeLag[] = [];
  // A scheduler marks a changed service "updating" only once it picks the change up: its
  // update states are believed from 2 s after the deploy.
  const orchestrated = strategy.kind === 'orchestrated';
  await pWaitFor(
    async () => {
      const settle = orchestrated ? deployedAt + 2000 - Date.now() : 0;
      if (settle > 0) await new Promise((r) => setTimeout(r, settle));
      const live = await engine.liveState(runner, { updates: orchestrated });
      containers = live.containers;
      services = healthOf(ctx.plan, live);
      const rolling = rollouts(live, deployedAt);
      const key = JSON.stringify([services, rolling]);
      const elapsedMs = Math.round(performance.now() - waitStart);
      if (key !== last) {
        emit({ kind: 'health', services, elapsedMs });
        last = key;
      }
      for (const x of services)
        if (decision?.stopFirst.includes(x.service) && x.state === 'healthy' && !unavailable.has(x.service))
          unavailable.set(x.service, Date.now() - deployedAt);
      if (rolling.failed.length) {
        throw new RolloutFailedError(
          await Promise.all(
            rolling.failed.map(async (f) => ({ ...f, ...(await failedTaskReport(ctx, containers, f.service, deployedAt, masks)) })),
          ),
        );
      }
      const healthy = services.every((s) => s.state === 'healthy') && !rolling.updating.length;
      // The edge discovers replicas itself: done when every edge routes to every healthy one.
      lag = healthy ? await edgeLag(ctx, runner, containers, (line) => emit({ kind: 'output', step: 'wait', line: `edge: ${line}` })) : [];
      if (healthy && !lag.length) return true;
      // Every container of a service restarted 3 times and none runs: it exits on start.
      const byName = byService(containers);
      const crashing = services.filter(
        (s) => s.state !== 'healthy' && s.running === 0 && crashLooping(byName.get(s.service) ?? [], deployedAt),
      );
      if (elapsedMs >= timeoutMs || crashing.length) {
        const bad: UnhealthyService[] = lag.map((l) => ({
          service: l.service,
          state: 'starting',
          desired: l.healthy,
          running: l.healthy,
          healthy: l.healthy,
          healthcheck: `healthy, but ${edgeWhere(l)} (${l.edge}) routes to ${l.admitted} of ${l.healthy} replicas (HAProxy's checks fail: see \`wharf doctor\`)`,
          logs: [],
        }));
        for (const s of crashing.length
          ? crashing
          : services.filter((x) => x.state !== 'healthy' && !lag.some((l) => l.service === x.service))) {
          const cs = byName.get(s.service) ?? [];
          const worst =
            cs.find((c) => c.health === 'unhealthy') ??
            cs.find((c) => c.state !== 'running') ??
            cs.find((c) => c.health !== 'healthy') ??
            cs[0];
          bad.push({
            service: s.service,
            state: s.state,
            desired: s.desired,
            running: s.running,
            healthy: s.healthy,
            healthcheck: worst?.healthLog,
            logs: worst ? await lastLogLines(engine, runner, worst, 20, masks) : [],
          });
        }
        throw new UpTimeoutError(bad, timeoutMs, crashing.length ? 'crash-loop' : 'timeout');
      }
      return false;
    },
    { interval: pollMs },
  );
  const waitMs = Math.round(performance.now() - waitStart);
  steps.push({ step: 'wait', describe: 'wait until every replica is healthy and routed', durationMs: waitMs });
  emit({ kind: 'step', step: 'wait', status: 'done', describe: 'every replica healthy and routed', durationMs: waitMs });
  // Healthy tasks on several nodes still cannot reach each other over an encrypted overlay the kernel cannot do.
  if (orchestrated) {
    const blind = await overlaysWithoutIpsec(ctx, runner, containers);
    if (blind.length) throw new OverlayWithoutIpsecError(blind);
  }
  if (decision)
    for (const c of ctx.plan.components.filter((x) => x.role === 'app')) await recordCurrent(ctx, c.name, undefined, 'up', containers);
  const pruned =
    strategy.kind === 'orchestrated'
      ? await timed(
          'prune',
          'remove superseded configs and secrets',
          () => strategy.prune(runner),
          (n) => `removed ${n.length} superseded configs and secrets`,
        )
      : [];

  return {
    project: ctx.engine.project,
    changed: changedServices(before.containers, containers),
    reloaded: reloaded.map((r) => r.service).filter((n) => !changedServices(before.containers, containers).includes(n)),
    services,
    urls: routeUrls(ctx.plan),
    credentials: credentialFiles(ctx),
    pruned,
    rollouts: rolled,
    unavailable: [...unavailable].map(([service, ms]) => ({ service, ms })).sort((a, b) => (a.service < b.service ? -1 : 1)),
    steps,
    durationMs: Math.round(performance.now() - started),
  };
}

export function routeUrls(plan: Plan): UpResult['urls'] {
  const port = plan.proxy.httpsPort === 443 ? '' : `:${plan.proxy.httpsPort}`;
  return plan.routes.map((r) => ({ route: r.name, service: r.service, auth: r.auth, url: `https://${r.host}${port}${r.path}` }));
}

function credentialFiles(ctx: OpsContext): UpResult['credentials'] {
  const dir = ctx.secretsDir ?? join(ctx.outDir, ctx.plan.paths.secretsDir);
  const show = (f: string) => relative(process.cwd(), join(dir, f)) || f;
  const out: UpResult['credentials'] = [];
  const has = (n: string) => ctx.plan.secrets.some((s) => s.name === n);
  if (ctx.plan.proxy.dashboardHost && has('edge-admin-password')) {
    out.push({
      what: `${ctx.plan.proxy.kind === 'haproxy' ? 'HAProxy stats' : 'Traefik dashboard'} (user ${ctx.plan.proxy.authUser})`,
      file: show('edge-admin-password'),
    });
  }
  if (has('grafana-admin-password')) out.push({ what: 'Grafana (user admin)', file: show('grafana-admin-password') });
  for (const c of ctx.plan.components.filter((x) => x.role === 'database')) {
    if (has(`${c.name}-password`)) out.push({ what: `${c.name} database password`, file: show(`${c.name}-password`) });
  }
  return out;
}

export class PortInUseError extends OperationError {
  constructor(readonly busy: Array<{ service: string; address: string; error: string }>) {
    super(
      busy
        .map(
          (b) =>
            `${b.address} (published by ${b.service}) is in use by another process (${b.error}): stop it (ss -ltnp 'sport = :${b.address.split(':').pop()}') or change the port in wharf.yaml (proxy.httpPort, proxy.httpsPort)`,
        )
        .join('\n'),
    );
    this.name = 'PortInUseError';
  }
}

/** Before deploying: a published port held by something else would fail half-way through `compose up`. */
async function ensurePortsFree(plan: Plan, ours: ContainerState[]): Promise<void> {
  const busy: PortInUseError['busy'] = [];
  for (const c of plan.components) {
    // Our own running container holds its port: that is the rerun case, not a conflict.
    if (ours.some((x) => x.service === c.name && x.state === 'running')) continue;
    for (const p of c.ports) {
      const r = await portFree(p.hostIp, p.host);
      if (!r.free) busy.push({ service: c.name, address: `${p.hostIp}:${p.host}`, error: r.error ?? 'in use' });
    }
  }
  if (busy.length) throw new PortInUseError(busy);
}

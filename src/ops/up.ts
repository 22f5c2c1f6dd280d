// wharf up: validate, build, create/update, then wait until every replica is healthy.
import type { Plan } from '../plan/model.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { ImageSource } from '../engine/engine.js';
import type { Runner } from '../engine/run.js';
import type { Cmd } from '../engine/command.js';
import { CommandError } from '../engine/run.js';
import { ensureImages, findImages, ImageUnavailableError, isPullFailure, neededImages } from './images.js';
import { OverlayWithoutIpsecError, overlaysWithoutIpsec, type ServiceHealth } from './health.js';
import { runHook, type HookName } from './hooks.js';
import { recordCurrent, rolloutService, type DeployDecision, type ServiceRollout } from './rollout.js';
import { liveConfigDigest, reloadChanged, replicasDue, type Reloaded } from './reload.js';
import { planChanges, type Change, type Drift } from './plan-changes.js';
import { appliedNow, desiredOf } from './plan.js';
import { readApplied, secretDigests, writeApplied } from './applied.js';
import { waitHealthy } from './up-wait.js';
import { changedServices, credentialFiles, routeUrls, type CredentialFile, type RouteUrl } from './up-report.js';
import { ensurePortsFree } from './up-ports.js';

export { crashLooping, OverlayWithoutIpsecError, serviceHealth, type ServiceHealth, type ServiceStateName } from './health.js';
export { RolloutFailedError, UpTimeoutError, type UnhealthyService } from './up-wait.js';
export { routeUrls, type CredentialFile, type RouteUrl } from './up-report.js';
export { PortInUseError } from './up-ports.js';

export type UpStep = 'validate' | 'images' | 'build' | 'rollout' | 'deploy' | 'reload' | 'wait' | 'prune';

export type UpEvent =
  | { kind: 'step'; step: UpStep; status: 'start' | 'done' | 'skipped'; describe: string; durationMs?: number }
  | { kind: 'output'; step: UpStep; line: string }
  | { kind: 'plan'; changes: Change[]; drift: Drift[] }
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
  /** what this run set out to do (the same plan `wharf plan` prints), decided before acting */
  plan: { changes: Change[]; drift: Drift[] };
  /** services whose containers were created, replaced or removed by this run (empty on a no-op rerun) */
  changed: string[];
  /** services that took a configuration change live, their containers kept (the edge) */
  reloaded: string[];
  services: ServiceHealth[];
  urls: RouteUrl[];
  credentials: CredentialFile[];
  /** superseded immutable objects removed after the deploy converged (multi-node targets) */
  pruned: string[];
  /** services rolled start-first (single host): new replicas beside the old, gated, then the old drained */
  rollouts: ServiceRollout[];
  /** stop-first services recreated by this run, and how long each was not healthy */
  unavailable: Array<{ service: string; ms: number }>;
  steps: Array<{ step: UpStep; describe: string; durationMs: number }>;
  durationMs: number;
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

/** "edge (watches its files)", "edge (2 replicas, 40 ms)" */
const howReloaded = (x: Reloaded) =>
  `${x.service} (${x.mode === 'watch' ? 'watches its files' : `${x.containers.length} replica${x.containers.length === 1 ? '' : 's'}, ${x.durationMs} ms`})`;

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
  // recreated service's dependents stay as they are (see ops/rollout-side-by-side.ts).
  const want = revisions && local ? { revisions, imageIds: await imageIds(ctx.plan, local, runner, found ?? new Map()) } : undefined;
  const rolled: ServiceRollout[] = [];
  // The one decision of what changes (ops/plan-changes.ts): `wharf plan` shows it, up acts on it.
  const planned = planChanges({
    plan: ctx.plan,
    strategy: strategy.kind,
    containers: before.containers,
    ...(want ? { want } : {}),
    desired: { services: desiredOf(ctx.plan, engine.definitions(), masks), secrets: secretDigests(ctx.plan, ctx.secretsDir) },
    applied: readApplied(ctx.projectDir),
    reloads: Object.fromEntries(
      ctx.plan.components
        .filter((c) => c.reload && strategy.kind === 'side-by-side')
        .filter((c) => replicasDue(ctx.outDir, c, liveConfigDigest(ctx.outDir, c), before.containers).length)
        .map((c) => [c.name, ['live configuration']]),
    ),
  });
  emit({ kind: 'plan', changes: planned.changes, drift: planned.drift });
  const decision: DeployDecision | undefined = planned.decision;
  // Release hooks of the services whose running replicas are about to be replaced: before any is.
  const replaced = decision ? [...decision.roll, ...decision.stopFirst] : ctx.plan.components.filter((c) => c.hooks).map((c) => c.name);
  const hook = (service: string, name: HookName) =>
    runHook(ctx, service, name, (line) => emit({ kind: 'output', step: 'rollout', line: `${service} ${name}: ${line}` }));
  for (const service of replaced) await hook(service, 'beforeRollout');
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
  // The edge's routing files are not part of what recreates it: the engine applies them live.
  const reloaded =
    strategy.kind === 'side-by-side' && ctx.plan.components.some((c) => c.reload)
      ? await timed(
          'reload',
          'reload what takes its configuration live',
          () => reloadChanged(ctx, before.containers, idle ? { live: before.containers } : {}),
          (r) => (r.length ? `reloaded ${r.map(howReloaded).join(', ')}` : 'no live configuration changed'),
        )
      : [];

  emit({ kind: 'step', step: 'wait', status: 'start', describe: 'wait until every replica is healthy and routed' });
  const waitStart = performance.now();
  const orchestrated = strategy.kind === 'orchestrated';
  const { services, containers, unavailable } = await waitHealthy(ctx, runner, {
    deployedAt,
    stopFirst: decision?.stopFirst ?? [],
    timeoutMs,
    pollMs,
    masks,
    emit,
    // nothing was deployed: what was read a moment ago is the state to wait on
    ...(idle ? { live: before } : {}),
  });
  const waitMs = Math.round(performance.now() - waitStart);
  steps.push({ step: 'wait', describe: 'wait until every replica is healthy and routed', durationMs: waitMs });
  emit({ kind: 'step', step: 'wait', status: 'done', describe: 'every replica healthy and routed', durationMs: waitMs });
  // Healthy tasks on several nodes still cannot reach each other over an encrypted overlay the kernel cannot do.
  if (orchestrated) {
    const blind = await overlaysWithoutIpsec(ctx, runner, containers);
    if (blind.length) throw new OverlayWithoutIpsecError(blind);
  }
  for (const service of replaced) await hook(service, 'afterRollout');
  if (decision)
    for (const c of ctx.plan.components.filter((x) => x.role === 'app')) await recordCurrent(ctx, c.name, undefined, 'up', containers);
  writeApplied(ctx.projectDir, appliedNow(ctx, containers));
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
    plan: { changes: planned.changes, drift: planned.drift },
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

// wharf plan: what `up` would do with the spec as rendered now, and what changed by hand
// since the last apply. Reads only: the live state, the engine's hashes of the files as
// rendered in memory (never written), the last apply's record and the files on disk.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../plan/model.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { Desired, Engine } from '../engine/engine.js';
import type { ContainerState } from '../engine/live.js';
import type { Runner } from '../engine/run.js';
import type { RenderedFile } from '../render/files.js';
import { loadRenderer, renderAll, type RenderOptions } from '../render/index.js';
import { appliedService, fileDigests, hash, readApplied, secretDigests, specView, stableJson, type Applied } from './applied.js';
import { planChanges, type PlanReport } from './plan-changes.js';
import { renderedConfigDigest, replicasDue } from './reload.js';
import { bundlePath } from '../render/bundles.js';

export { planChanges, summary, type Action, type Change, type Drift, type PlanReport } from './plan-changes.js';

export interface PlanResult {
  target: Engine['kind'];
  project: string;
  changes: PlanReport['changes'];
  drift: PlanReport['drift'];
}

/** The target's files as `up` would render them, in memory; a secret not generated yet hashes as missing. */
export async function renderInMemory(
  plan: Plan,
  target: 'compose' | 'swarm',
  secretsDir: string,
  render?: RenderOptions,
): Promise<RenderedFile[]> {
  if (target === 'compose') return renderAll(plan, 'compose', render);
  await loadRenderer(target);
  const secretHashes = Object.fromEntries(
    plan.secrets.map((s) => {
      const p = join(secretsDir, s.name);
      return [s.name, existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'missing'];
    }),
  );
  return renderAll(plan, target, { ...render, secretHashes });
}

/** The spec and definitions as planned now, per service. */
export function desiredOf(plan: Plan, definitions: Record<string, Record<string, unknown>>, masks: readonly string[]) {
  return Object.fromEntries(
    plan.components.map((c) => [c.name, { spec: specView(c, masks), definition: hash(stableJson(definitions[c.name] ?? null)) }]),
  );
}

/** Services with live configuration whose running replicas have not taken these files, and which files changed. */
export function reloadsDue(
  ctx: Pick<OpsContext, 'plan' | 'outDir'>,
  files: RenderedFile[],
  running: ContainerState[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of ctx.plan.components.filter((x) => x.reload)) {
    if (!replicasDue(ctx.outDir, c, renderedConfigDigest(files, c), running).length) continue;
    const roots = (c.reload?.bundles ?? []).map(bundlePath);
    const mine = files.filter((f) => roots.some((r) => f.path.startsWith(`${r}/`)));
    const changed = mine.filter((f) => {
      const p = join(ctx.outDir, f.path);
      return !existsSync(p) || readFileSync(p, 'utf8') !== f.contents;
    });
    out[c.name] = (changed.length ? changed : mine).map((f) => f.path);
  }
  return out;
}

/** Side by side with local images: each service's revision as rendered and its image's ID (what up compares). */
async function wanted(ctx: OpsContext, runner: Runner, main: string): Promise<Desired | undefined> {
  const { strategy, images } = ctx.engine;
  if (strategy.kind !== 'side-by-side' || images.kind !== 'local') return undefined;
  const refs = [...new Set(ctx.plan.components.map((c) => c.image))];
  const [revisions, ids] = await Promise.all([strategy.revisions(runner, main), images.find(runner, refs)]);
  const imageIds = new Map(ctx.plan.components.filter((c) => ids.has(c.image)).map((c) => [c.name, ids.get(c.image)!]));
  return { revisions, imageIds };
}

export async function plan(ctx: OpsContext, files: RenderedFile[]): Promise<PlanResult> {
  const runner = runnerOf(ctx);
  const engine = ctx.engine;
  const main = files.find((f) => f.path === engine.file);
  if (!main) throw new Error(`bug: the render has no ${engine.file}`);
  const masks = secretValues(ctx.secretsDir);
  // every read at once; the live state's container list is spawned first, as its inspect waits on it
  const reading = engine.liveState(runner);
  await new Promise((r) => setImmediate(r));
  const [live, want, attached] = await Promise.all([
    reading,
    wanted(ctx, runner, main.contents),
    engine.attached(
      runner,
      ctx.plan.networks.map((n) => engine.networkName(n.name)),
    ),
  ]);
  const ours = new Set(live.containers.map((c) => c.id));
  const foreign = attached.filter((x) => !ours.has(x.id)).map((x) => ({ container: x.name, network: x.network }));
  const r = planChanges({
    plan: ctx.plan,
    strategy: engine.strategy.kind,
    containers: live.containers,
    ...(want ? { want } : {}),
    // side by side decides on Compose's config hashes: the definitions' digests (a YAML parse) only count when orchestrated
    desired: {
      services: desiredOf(ctx.plan, engine.strategy.kind === 'orchestrated' ? engine.definitions(main.contents) : {}, masks),
      secrets: secretDigests(ctx.plan, ctx.secretsDir),
    },
    applied: readApplied(ctx.projectDir),
    reloads: engine.strategy.kind === 'side-by-side' ? reloadsDue(ctx, files, live.containers) : {},
    foreign,
    files: fileDigests(ctx.outDir),
  });
  return { target: engine.kind, project: engine.project, changes: r.changes, drift: r.drift };
}

/** What up records once it converged: the next plan diffs against it. */
export function appliedNow(ctx: OpsContext, containers: ContainerState[]): Applied {
  const masks = secretValues(ctx.secretsDir);
  const defs = ctx.engine.definitions();
  return {
    target: ctx.engine.kind,
    at: new Date().toISOString(),
    services: Object.fromEntries(ctx.plan.components.map((c) => [c.name, appliedService(c, masks, defs[c.name], containers)])),
    secrets: secretDigests(ctx.plan, ctx.secretsDir),
    files: fileDigests(ctx.outDir),
  };
}

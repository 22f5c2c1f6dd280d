// Live configuration: after a deploy, a component whose live-config files (plan:
// Component.reload) changed is reloaded in place by the engine, never recreated. Which
// replicas run which files is recorded beside the rendered files, so a reload that failed
// half-way is retried by the next run.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeInside } from '../fs/confined.js';
import { join } from 'node:path';
import type { Component } from '../plan/model.js';
import { replicasToReload, type LiveReplica } from '../plan/edge.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import { listContainers, type ContainerState } from '../engine/live.js';
import { byCodeUnit } from '../plan/sort.js';
import { bundlePath } from '../render/bundles.js';

const STATE = '.wharf-live-config.json';

export interface Reloaded {
  service: string;
  /** container names reloaded (signal), or empty when the program watches its files */
  containers: string[];
  mode: 'signal' | 'watch';
  durationMs: number;
}

type State = Record<string, Record<string, string>>;

const keyOf = (c: ContainerState) => `${c.id}@${c.startedAt}`;

/** sha256 over the component's live-config files as rendered (paths and contents, sorted). */
export function liveConfigDigest(outDir: string, c: Component): string {
  const walk = (rel: string): string[] => {
    const p = join(outDir, rel);
    if (!existsSync(p)) return [];
    return statSync(p).isDirectory()
      ? readdirSync(p)
          .sort(byCodeUnit)
          .flatMap((n) => walk(`${rel}/${n}`))
      : [rel];
  };
  const files = (c.reload?.bundles ?? [])
    .map(bundlePath)
    .flatMap(walk)
    .filter((f) => !f.includes('.wharf-tmp-'));
  return digestOf(files.map((f) => ({ path: f, contents: readFileSync(join(outDir, f)) })));
}

/** The same digest over rendered files not written (wharf plan). */
export function renderedConfigDigest(files: Array<{ path: string; contents: string }>, c: Component): string {
  const roots = (c.reload?.bundles ?? []).map(bundlePath);
  return digestOf(files.filter((f) => roots.some((r) => f.path === r || f.path.startsWith(`${r}/`))));
}

function digestOf(files: Array<{ path: string; contents: string | Buffer }>): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => byCodeUnit(a.path, b.path))) h.update(f.path).update('\0').update(f.contents).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The running replicas that would be reloaded with files of this digest (none fresh: nothing deploys). */
export function replicasDue(outDir: string, c: Component, digest: string, running: ContainerState[]): string[] {
  const view = running.filter((x) => x.service === c.name && x.state === 'running').map((x) => ({ key: keyOf(x), fresh: false }));
  return replicasToReload(digest, readState(outDir)[c.name] ?? {}, view);
}

function readState(outDir: string): State {
  try {
    const v = JSON.parse(readFileSync(join(outDir, STATE), 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as State) : {};
  } catch {
    return {};
  }
}

function writeState(outDir: string, s: State): void {
  writeInside(outDir, STATE, `${JSON.stringify(s, null, 2)}\n`);
}

/**
 * Reload what needs it after a deploy. `before`: the containers before it, so a replica the
 * deploy (re)started counts as running the current files. `force`: reload every running replica
 * (what `reloadEdge` does for a caller that changed the files itself).
 */
export async function reloadChanged(
  ctx: OpsContext,
  before: ContainerState[],
  opts: { force?: boolean; only?: string[]; live?: ContainerState[] } = {},
): Promise<Reloaded[]> {
  const engine = ctx.engine;
  // An orchestrator's configs are named by content: the deploy itself rolls what changed.
  if (engine.strategy.kind !== 'side-by-side') return [];
  const strategy = engine.strategy;
  const runner = runnerOf(ctx);
  const masks = secretValues(ctx.secretsDir);
  const earlier = new Set(before.map(keyOf));
  // `live`: what runs now when the caller just read it (a deploy that changed nothing)
  const live = (opts.live ?? (await listContainers(engine, runner))).filter((c) => c.state === 'running');
  const state = readState(ctx.outDir);
  const out: Reloaded[] = [];
  for (const c of ctx.plan.components.filter((x) => x.reload && (!opts.only || opts.only.includes(x.name)))) {
    const digest = liveConfigDigest(ctx.outDir, c);
    const replicas = live.filter((x) => x.service === c.name);
    const view: LiveReplica[] = replicas.map((x) => ({ key: keyOf(x), fresh: !opts.force && !earlier.has(keyOf(x)) }));
    const due = new Set(replicasToReload(digest, opts.force ? {} : (state[c.name] ?? {}), view));
    const targets = replicas.filter((x) => due.has(keyOf(x)));
    if (targets.length) {
      const t = performance.now();
      for (const k of strategy.reload(
        c,
        targets.map((x) => ({ id: x.id, name: x.name, host: x.host })),
      )) {
        await runner({ ...k, redact: [...(k.redact ?? []), ...masks] });
      }
      out.push({
        service: c.name,
        containers: targets.map((x) => x.name),
        mode: c.reload!.mode,
        durationMs: Math.round(performance.now() - t),
      });
    }
    // Only the replicas running now: a removed container's entry would never be read again.
    state[c.name] = Object.fromEntries(view.map((r) => [r.key, digest]));
  }
  writeState(ctx.outDir, state);
  return out;
}

/** Reload the edge proxy's running replicas with the files now rendered (for rollouts that change them). */
export async function reloadEdge(ctx: OpsContext): Promise<Reloaded[]> {
  return reloadChanged(ctx, [], { force: true, only: [ctx.plan.proxy.component] });
}

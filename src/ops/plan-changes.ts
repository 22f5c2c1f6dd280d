// The one decision of what `up` will do, per service, and why: pure, over the desired plan
// (and its rendered definitions), what the last up applied, and the live state. `up` acts on
// its `decision`; `wharf plan` prints its changes and drift and acts on nothing.
import type { Component, Plan } from '../plan/model.js';
import type { Desired } from '../engine/engine.js';
import type { ContainerState } from '../engine/live.js';
import { bundlePath } from '../render/bundles.js';
import { byCodeUnit } from '../plan/sort.js';
import { envHashes, type Applied } from './applied.js';
import { decideDeploy, type DeployDecision } from './rollout.js';
import { upToDate } from './rollout-side-by-side.js';
import { specReasons } from './plan-reasons.js';

export type Action = 'create' | 'update' | 'recreate' | 'reload' | 'remove' | 'none';

export interface Change {
  service: string;
  action: Action;
  /** requests or connections to the service are refused meanwhile */
  downtime: boolean;
  /** what differs, named by spec path: `replicas: 2 → 3`, `env.LOG_LEVEL: info → debug`, `secrets.db: changed` */
  reasons: string[];
}

export interface Drift {
  service: string;
  /** what differs from the last apply without a spec change */
  what: string;
  /** what `up` will do about it */
  fix: string;
}

export interface PlanReport {
  changes: Change[];
  drift: Drift[];
  /** side by side: what up rolls, deploys by name, or leaves alone */
  decision?: DeployDecision;
}

export interface PlanInput {
  plan: Plan;
  strategy: 'side-by-side' | 'orchestrated';
  /** every container of the project, stopped ones included */
  containers: ContainerState[];
  /** side by side: each service's definition revision and image ID as rendered now */
  want?: Desired;
  /** the spec and definitions as planned now (AppliedService.spec and .definition), and the secrets' hashes */
  desired: { services: Record<string, { spec: Record<string, unknown>; definition: string }>; secrets: Record<string, string> };
  applied?: Applied;
  /** services whose live configuration would be reloaded, with the rendered files that changed */
  reloads?: Record<string, string[]>;
  /** containers wharf did not create, attached to the stack's networks */
  foreign?: Array<{ container: string; network: string }>;
  /** the rendered files on disk now (path -> hash): an edit since the last apply is drift */
  files?: Record<string, string>;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The service a rendered file belongs to: the one mounting its bundle; the main file is every service's. */
function ownerOf(plan: Plan, file: string): string {
  const owns = (c: Component) =>
    [...c.mounts.flatMap((m) => (m.type === 'config' ? [m.bundle] : [])), ...(c.reload?.bundles ?? [])].some((b) =>
      file.startsWith(`${bundlePath(b)}/`),
    );
  return plan.components.find(owns)?.name ?? '*';
}

/** What differs between the replicas and what the last up left running, per service. */
function driftOf(input: PlanInput, c: Component): string[] {
  const a = input.applied?.services[c.name];
  if (!a) return [];
  const cs = input.containers.filter((x) => x.service === c.name);
  const running = cs.filter((x) => x.state === 'running');
  const stopped = cs.filter((x) => x.state !== 'running');
  const out: string[] = [];
  const applied = typeof a.spec.replicas === 'number' ? a.spec.replicas : c.replicas;
  const counted = !c.placement || !c.placement.kind.startsWith('every-');
  if (stopped.length) out.push(`${plural(stopped.length, 'replica')} stopped by hand (${stopped.map((x) => x.name).join(', ')})`);
  if (counted && cs.length < applied) out.push(`${applied - cs.length} of ${applied} replicas removed by hand`);
  if (counted && running.length > applied) out.push(`${running.length} replicas running, ${applied} applied (scaled by hand)`);
  const keys = new Set<string>();
  for (const x of running) {
    const now = envHashes(x.env);
    for (const k of new Set([...Object.keys(now), ...Object.keys(a.env)])) if (now[k] !== a.env[k]) keys.add(k);
  }
  if (keys.size)
    out.push(
      `env ${[...keys]
        .sort(byCodeUnit)
        .map((k) => `env.${k}`)
        .join(', ')} changed by hand`,
    );
  const images = [...new Set(running.filter((x) => x.image !== a.image || (a.imageId && x.imageId !== a.imageId)).map((x) => x.image))];
  if (images.length) out.push(`image changed by hand: ${a.image} → ${images.join(', ')}`);
  return out;
}

const rolledBack = 'rolled back by wharf rollback: up rolls it forward to the spec';

/** Why the side-by-side decision changes a service when the spec says nothing changed. */
function liveReasons(c: Component, cs: ContainerState[], want: Desired): string[] {
  const out: string[] = [];
  const id = want.imageIds.get(c.name);
  const rev = want.revisions.get(c.name);
  const ids = [...new Set(cs.map((x) => x.imageId))].filter((x) => id && x !== id);
  if (ids.length) out.push(`image ${c.image}: ID ${ids.map((x) => x.slice(7, 19)).join(', ')} → ${id!.slice(7, 19)}`);
  if (rev && cs.some((x) => x.revision !== rev)) out.push('definition: differs from what runs');
  const up = cs.filter((x) => x.state === 'running').length;
  if (up !== c.replicas) out.push(`replicas running: ${up} → ${c.replicas}`);
  if (cs.length > up) out.push(`replicas stopped: ${cs.length - up} → 0`);
  return out;
}

/** Side by side: the action follows the deploy decision up acts on. */
function sideBySide(input: PlanInput, decision: DeployDecision, want: Desired, c: Component, reasons: string[]): Change {
  const cs = input.containers.filter((x) => x.service === c.name);
  const live = reasons.length ? reasons : liveReasons(c, cs, want);
  const why = input.applied?.services[c.name]?.rolledBack ? [rolledBack, ...live] : live;
  const change = (action: Action, downtime = false, r = why): Change => ({ service: c.name, action, downtime, reasons: r });
  if (decision.roll.includes(c.name)) return change('update');
  if (decision.deploy.includes(c.name)) {
    if (!cs.length) return change('create', false, reasons.length ? reasons : ['not running yet']);
    const stale = cs.some((x) => !upToDate({ ...x, state: 'running' }, c.name, want));
    return stale ? change('recreate', true) : change('update');
  }
  const reload = input.reloads?.[c.name];
  if (reload?.length)
    return change(
      'reload',
      false,
      reload.map((f) => `${f}: changed`),
    );
  return change('none', false, []);
}

/** Orchestrated: the scheduler updates a service whose rendered definition changed, or that drifted from it. */
function orchestrated(input: PlanInput, c: Component, reasons: string[], drifted: boolean): Change {
  const a = input.applied?.services[c.name];
  const cs = input.containers.filter((x) => x.service === c.name);
  const change = (action: Action, downtime: boolean, r = reasons): Change => ({ service: c.name, action, downtime, reasons: r });
  if (!a && !cs.length) return change('create', false, ['not running yet']);
  if (!a) return change('update', false, ['no earlier apply recorded: up deploys it as rendered']);
  if (a.rolledBack) return change('update', false, [rolledBack, ...reasons]);
  const defined = input.desired.services[c.name]?.definition !== a.definition;
  if (!defined && !reasons.length && !drifted) return change('none', false, []);
  const scaleOnly = reasons.length > 0 && reasons.every((r) => r.startsWith('replicas:'));
  const stopFirst = c.update?.order !== 'start-first';
  if (scaleOnly || (!defined && !reasons.length)) return change('update', false, reasons.length ? reasons : ['drift: reset to the spec']);
  return change(stopFirst ? 'recreate' : 'update', stopFirst, reasons.length ? reasons : ['definition: rendered differently']);
}

const fixFor = (ch: Change | undefined): string =>
  !ch || ch.action === 'none'
    ? 'up leaves it as it is'
    : ch.action === 'recreate'
      ? 'up recreates it from the spec (stop-first)'
      : ch.action === 'create'
        ? 'up creates it again'
        : ch.action === 'reload'
          ? 'up reloads it'
          : 'up brings it back to the spec';

export function planChanges(input: PlanInput): PlanReport {
  const { plan, applied } = input;
  const decision = input.strategy === 'side-by-side' && input.want ? decideDeploy(plan, input.containers, input.want) : undefined;
  const changes: Change[] = [];
  const drift: Drift[] = [];
  for (const c of plan.components) {
    const a = applied?.services[c.name];
    const d = input.desired.services[c.name];
    const reasons = a && d ? specReasons(a.spec, d.spec, c, applied?.secrets ?? {}, input.desired.secrets) : [];
    const drifted = driftOf(input, c);
    const ch =
      decision && input.want ? sideBySide(input, decision, input.want, c, reasons) : orchestrated(input, c, reasons, drifted.length > 0);
    changes.push(ch);
    for (const what of drifted) drift.push({ service: c.name, what, fix: fixFor(ch) });
  }
  const planned = new Set(plan.components.map((c) => c.name));
  const gone = new Set(
    [...input.containers.map((x) => x.service), ...Object.keys(applied?.services ?? {})].filter((s) => s && !planned.has(s)),
  );
  // a removed service refuses requests from then on if it serves any now
  for (const s of [...gone].sort(byCodeUnit)) {
    const serving = input.containers.some((x) => x.service === s && x.state === 'running');
    changes.push({ service: s, action: 'remove', downtime: serving, reasons: ['not in the spec any more'] });
  }
  for (const [f, h] of Object.entries(applied?.files ?? {}).sort(([x], [y]) => byCodeUnit(x, y))) {
    const now = input.files?.[f];
    if (!input.files || now === h) continue;
    const owner = ownerOf(plan, f);
    drift.push({
      service: owner,
      what: `${f} ${now ? 'edited in place' : 'removed'} since the last apply`,
      fix: `up writes it again as rendered${owner === '*' ? '' : `; ${fixFor(changes.find((x) => x.service === owner))}`}`,
    });
  }
  for (const x of input.foreign ?? [])
    drift.push({
      service: x.container,
      what: `container ${x.container}, not created by wharf, is attached to network ${x.network}`,
      fix: `up leaves it alone: remove it by hand (docker rm -f ${x.container}) or detach it`,
    });
  return { changes, drift, ...(decision ? { decision } : {}) };
}

/** "2 to update, 3 unchanged" */
export function summary(r: PlanReport): string {
  const n = r.changes.filter((c) => c.action !== 'none').length;
  const m = r.changes.length - n;
  return `${n} to update, ${m} unchanged${r.drift.length ? `, ${r.drift.length} drifted` : ''}`;
}

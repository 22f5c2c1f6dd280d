// The rollout of one service as a pure state machine: no I/O, no clock. ops/rollout-side-by-side.ts
// performs each state's action (start containers, poll health, ask the edge, drain, stop)
// and feeds the outcome back as an event.
//
//   start -> health -> admit -> drain -> stop -> (next wave: start) -> record -> done
//      \________\________\_______ failure or deadline: abort (remove this wave) -> failed
//
// New replicas start beside the old ones in waves no larger than the edge has room for
// (HAProxy fills a fixed number of server slots from DNS): each wave is gated on health,
// then on the edge sending it traffic, before as many old replicas are drained and stopped.

export type Phase = 'start' | 'health' | 'admit' | 'drain' | 'stop' | 'record' | 'done' | 'abort' | 'failed';

export interface RolloutState {
  service: string;
  phase: Phase;
  /** replicas wanted at the end */
  target: number;
  /** how many containers may run side by side (the edge's server slots; Infinity without a limit) */
  slots: number;
  /** containers still to be replaced (outdated, or beyond the target) */
  old: string[];
  /** new containers admitted by the edge in earlier waves, or up-to-date ones kept */
  fresh: string[];
  /** this wave's new containers, started and not yet admitted */
  wave: string[];
  /** old containers being drained and stopped in this wave */
  retiring: string[];
  /** when the current gate (health, admission, drain) gives up, in ms */
  deadline?: number;
  /** which gate failed and why */
  error?: string;
  waves: number;
}

export interface Deadlines {
  /** new replicas healthy within this long */
  healthMs: number;
  /** then taking traffic at the edge within this long */
  admitMs: number;
  /** old replicas' sessions finished within this long (after it they are stopped anyway) */
  drainMs: number;
}

export type RolloutEvent =
  | { kind: 'started'; ids: string[]; at: number }
  | { kind: 'healthy'; at: number }
  | { kind: 'admitted'; at: number }
  | { kind: 'drained'; at: number }
  | { kind: 'stopped' }
  | { kind: 'recorded' }
  | { kind: 'removed' }
  /** a poll found the gate still closed */
  | { kind: 'waiting'; at: number }
  | { kind: 'failed'; reason: string };

export type RolloutAction =
  | { kind: 'start'; total: number; count: number }
  | { kind: 'await-health'; ids: string[] }
  | { kind: 'await-admission'; ids: string[] }
  | { kind: 'drain'; ids: string[] }
  | { kind: 'stop'; ids: string[] }
  | { kind: 'record' }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'none' };

/** How many new containers the next wave starts: what is missing, as far as the slots allow. */
export function waveSize(s: Pick<RolloutState, 'target' | 'slots' | 'old' | 'fresh'>): number {
  return Math.max(0, Math.min(s.target - s.fresh.length, s.slots - s.old.length - s.fresh.length));
}

/** The first state: start a wave, or (a pure scale-down) go straight to draining the extra ones. */
export function begin(o: { service: string; target: number; slots: number; old: string[]; fresh: string[] }): RolloutState {
  const s: RolloutState = {
    service: o.service,
    phase: 'start',
    target: o.target,
    slots: o.slots,
    old: [...o.old],
    fresh: [...o.fresh],
    wave: [],
    retiring: [],
    waves: 0,
  };
  return afterWave(s);
}

/** Between waves: start more, make room, or finish. */
function afterWave(s: RolloutState): RolloutState {
  if (s.fresh.length < s.target) {
    if (waveSize(s) > 0) return { ...s, phase: 'start', deadline: undefined };
    // No slot free: retire one old replica first (a 1-replica service behind a full edge).
    if (s.old.length) return { ...s, phase: 'drain', retiring: [s.old[0]!], deadline: undefined };
    return { ...s, phase: 'failed', error: `no room to start a replica (${s.slots} slots)` };
  }
  if (s.old.length) return { ...s, phase: 'drain', retiring: [...s.old], deadline: undefined };
  return { ...s, phase: 'record', deadline: undefined };
}

export function action(s: RolloutState): RolloutAction {
  switch (s.phase) {
    case 'start': {
      const count = waveSize(s);
      return { kind: 'start', count, total: s.old.length + s.fresh.length + count };
    }
    case 'health':
      return { kind: 'await-health', ids: s.wave };
    case 'admit':
      return { kind: 'await-admission', ids: s.wave };
    case 'drain':
      return { kind: 'drain', ids: s.retiring };
    case 'stop':
      return { kind: 'stop', ids: s.retiring };
    case 'record':
      return { kind: 'record' };
    case 'abort':
      return { kind: 'remove', ids: s.wave };
    default:
      return { kind: 'none' };
  }
}

const abort = (s: RolloutState, error: string): RolloutState => ({ ...s, phase: 'abort', error, deadline: undefined });

export function transition(s: RolloutState, e: RolloutEvent, d: Deadlines): RolloutState {
  // A failure while new replicas are not yet serving removes them; later, the new ones
  // already take traffic and the old ones may be gone: stop where it is and say so.
  if (e.kind === 'failed') {
    if (s.phase === 'start' || s.phase === 'health' || s.phase === 'admit') return abort(s, e.reason);
    if (s.phase === 'abort') return { ...s, phase: 'failed', error: `${s.error}; removing the new replicas failed too: ${e.reason}` };
    return { ...s, phase: 'failed', error: e.reason };
  }
  switch (s.phase) {
    case 'start':
      if (e.kind !== 'started') break;
      if (!e.ids.length) return abort(s, 'no new container was created');
      return { ...s, phase: 'health', wave: e.ids, waves: s.waves + 1, deadline: e.at + d.healthMs };
    case 'health':
      if (e.kind === 'healthy') return { ...s, phase: 'admit', deadline: e.at + d.admitMs };
      if (e.kind === 'waiting') return e.at >= s.deadline! ? abort(s, `not healthy within ${Math.round(d.healthMs / 1000)}s`) : s;
      break;
    case 'admit':
      if (e.kind === 'admitted') {
        const fresh = [...s.fresh, ...s.wave];
        const done = fresh.length >= s.target;
        // One old replica out for each new one in; all of them once the new ones suffice.
        const retiring = done ? [...s.old] : s.old.slice(0, s.wave.length);
        const next: RolloutState = { ...s, fresh, wave: [], retiring, deadline: undefined };
        return retiring.length ? { ...next, phase: 'drain', deadline: e.at + d.drainMs } : afterWave(next);
      }
      if (e.kind === 'waiting')
        return e.at >= s.deadline! ? abort(s, `the edge sent no traffic to the new replicas within ${Math.round(d.admitMs / 1000)}s`) : s;
      break;
    case 'drain':
      if (e.kind === 'drained') return { ...s, phase: 'stop', deadline: undefined };
      // A session that outlives the drain window is cut by the stop's grace period, not waited for forever.
      if (e.kind === 'waiting')
        return s.deadline === undefined
          ? { ...s, deadline: e.at + d.drainMs }
          : e.at >= s.deadline
            ? { ...s, phase: 'stop', deadline: undefined }
            : s;
      break;
    case 'stop':
      if (e.kind !== 'stopped') break;
      return afterWave({ ...s, old: s.old.filter((id) => !s.retiring.includes(id)), retiring: [] });
    case 'record':
      if (e.kind === 'recorded') return { ...s, phase: 'done' };
      break;
    case 'abort':
      if (e.kind === 'removed') return { ...s, phase: 'failed', wave: [] };
      break;
    default:
      break;
  }
  throw new Error(`bug: rollout of ${s.service}: event ${e.kind} in phase ${s.phase}`);
}

export const terminal = (s: RolloutState): boolean => s.phase === 'done' || s.phase === 'failed';

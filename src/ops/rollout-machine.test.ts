import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { action, begin, terminal, transition, waveSize, type Deadlines, type RolloutEvent, type RolloutState } from './rollout-machine.js';

const d: Deadlines = { healthMs: 60_000, admitMs: 20_000, drainMs: 10_000 };

/** Drive the machine with an answer per action, the way ops/rollout-side-by-side.ts does, and log the actions. */
function drive(
  s: RolloutState,
  answer: (a: ReturnType<typeof action>, s: RolloutState) => RolloutEvent,
): { s: RolloutState; log: string[] } {
  const log: string[] = [];
  let n = 0;
  while (!terminal(s)) {
    const a = action(s);
    log.push(a.kind === 'start' ? `start ${a.count} (total ${a.total})` : 'ids' in a ? `${a.kind} ${a.ids.join(',')}` : a.kind);
    s = transition(s, answer(a, s), d);
    if (++n > 100) throw new Error('no end');
  }
  return { s, log };
}

let seq = 0;
const happy = (a: ReturnType<typeof action>): RolloutEvent => {
  switch (a.kind) {
    case 'start':
      return { kind: 'started', ids: Array.from({ length: a.count }, () => `n${++seq}`), at: 0 };
    case 'await-health':
      return { kind: 'healthy', at: 1 };
    case 'await-admission':
      return { kind: 'admitted', at: 2 };
    case 'drain':
      return { kind: 'drained', at: 3 };
    case 'stop':
      return { kind: 'stopped' };
    case 'record':
      return { kind: 'recorded' };
    case 'remove':
      return { kind: 'removed' };
    default:
      throw new Error(a.kind);
  }
};

describe('rollout state machine', () => {
  test('3 -> 3 with room for 6: one wave, then all old replicas drained and stopped', () => {
    seq = 0;
    const { s, log } = drive(begin({ service: 'api', target: 3, slots: 6, old: ['o1', 'o2', 'o3'], fresh: [] }), happy);
    assert.deepEqual(log, [
      'start 3 (total 6)',
      'await-health n1,n2,n3',
      'await-admission n1,n2,n3',
      'drain o1,o2,o3',
      'stop o1,o2,o3',
      'record',
    ]);
    assert.equal(s.phase, 'done');
    assert.deepEqual(s.fresh, ['n1', 'n2', 'n3']);
    assert.deepEqual(s.old, []);
    assert.equal(s.waves, 1);
  });

  test('3 -> 5 behind an edge with 6 slots: two waves, never more than 6 side by side', () => {
    seq = 0;
    const { s, log } = drive(begin({ service: 'api', target: 5, slots: 6, old: ['o1', 'o2', 'o3'], fresh: [] }), happy);
    assert.deepEqual(log, [
      'start 3 (total 6)',
      'await-health n1,n2,n3',
      'await-admission n1,n2,n3',
      'drain o1,o2,o3',
      'stop o1,o2,o3',
      'start 2 (total 5)',
      'await-health n4,n5',
      'await-admission n4,n5',
      'record',
    ]);
    assert.equal(s.fresh.length, 5);
    assert.equal(s.waves, 2);
  });

  test('5 -> 2 behind an edge with 4 slots: make room one by one', () => {
    seq = 0;
    const { s, log } = drive(begin({ service: 'api', target: 2, slots: 4, old: ['o1', 'o2', 'o3', 'o4', 'o5'], fresh: [] }), happy);
    assert.deepEqual(log, [
      'drain o1',
      'stop o1',
      'drain o2',
      'stop o2',
      'start 1 (total 4)',
      'await-health n1',
      'await-admission n1',
      'drain o3',
      'stop o3',
      'start 1 (total 4)',
      'await-health n2',
      'await-admission n2',
      'drain o4,o5',
      'stop o4,o5',
      'record',
    ]);
    assert.deepEqual(s.fresh, ['n1', 'n2']);
  });

  test('a pure scale-down keeps the up-to-date replicas and drains the extra ones', () => {
    const s = begin({ service: 'api', target: 2, slots: 10, old: ['x3'], fresh: ['k1', 'k2'] });
    assert.deepEqual(action(s), { kind: 'drain', ids: ['x3'] });
    const { log } = drive(s, happy);
    assert.deepEqual(log, ['drain x3', 'stop x3', 'record']);
  });

  test('a pure scale-up starts only what is missing and stops nothing', () => {
    seq = 0;
    const { log } = drive(begin({ service: 'api', target: 3, slots: 6, old: [], fresh: ['k1'] }), happy);
    assert.deepEqual(log, ['start 2 (total 3)', 'await-health n1,n2', 'await-admission n1,n2', 'record']);
  });

  test('nothing to do: straight to record', () => {
    assert.equal(begin({ service: 'api', target: 2, slots: 4, old: [], fresh: ['a', 'b'] }).phase, 'record');
  });

  test('waveSize: what is missing, bounded by free slots', () => {
    assert.equal(waveSize({ target: 3, slots: 6, old: ['a', 'b', 'c'], fresh: [] }), 3);
    assert.equal(waveSize({ target: 5, slots: 6, old: ['a', 'b', 'c'], fresh: [] }), 3);
    assert.equal(waveSize({ target: 2, slots: 4, old: ['a', 'b', 'c', 'd'], fresh: [] }), 0);
    assert.equal(waveSize({ target: 3, slots: Infinity, old: ['a', 'b', 'c'], fresh: [] }), 3);
  });

  test('no slot and nothing old to retire: failed, with the reason', () => {
    const s = begin({ service: 'api', target: 3, slots: 2, old: [], fresh: ['a', 'b'] });
    assert.equal(s.phase, 'failed');
    assert.match(s.error!, /no room/);
  });

  describe('failures before the new replicas serve: remove them, keep the old ones', () => {
    const started = () =>
      transition(
        begin({ service: 'api', target: 3, slots: 6, old: ['o1', 'o2', 'o3'], fresh: [] }),
        { kind: 'started', ids: ['n1', 'n2', 'n3'], at: 1000 },
        d,
      );

    test('start creates nothing', () => {
      const s = transition(begin({ service: 'api', target: 3, slots: 6, old: ['o1'], fresh: [] }), { kind: 'started', ids: [], at: 0 }, d);
      assert.equal(s.phase, 'abort');
      assert.deepEqual(action(s), { kind: 'remove', ids: [] });
    });
    test('start command fails', () => {
      const s = transition(
        begin({ service: 'api', target: 3, slots: 6, old: ['o1'], fresh: [] }),
        { kind: 'failed', reason: 'compose exit 1' },
        d,
      );
      assert.equal(s.phase, 'abort');
      assert.equal(s.error, 'compose exit 1');
    });
    test('health deadline: waiting before it stays, at it aborts', () => {
      const s = started();
      assert.equal(s.deadline, 61_000);
      assert.equal(transition(s, { kind: 'waiting', at: 60_999 }, d), s);
      const a = transition(s, { kind: 'waiting', at: 61_000 }, d);
      assert.equal(a.phase, 'abort');
      assert.match(a.error!, /not healthy within 60s/);
      assert.deepEqual(action(a), { kind: 'remove', ids: ['n1', 'n2', 'n3'] });
      const f = transition(a, { kind: 'removed' }, d);
      assert.equal(f.phase, 'failed');
      assert.deepEqual(f.old, ['o1', 'o2', 'o3'], 'the old replicas are untouched');
      assert.ok(terminal(f));
    });
    test('a replica turns unhealthy or crashes', () => {
      const a = transition(started(), { kind: 'failed', reason: 'api-4 unhealthy' }, d);
      assert.equal(a.phase, 'abort');
      assert.deepEqual(action(a), { kind: 'remove', ids: ['n1', 'n2', 'n3'] });
    });
    test('admission deadline', () => {
      const h = transition(started(), { kind: 'healthy', at: 5000 }, d);
      assert.equal(h.deadline, 25_000);
      assert.equal(transition(h, { kind: 'waiting', at: 24_000 }, d).phase, 'admit');
      const a = transition(h, { kind: 'waiting', at: 25_000 }, d);
      assert.equal(a.phase, 'abort');
      assert.match(a.error!, /no traffic/);
    });
    test('removing the new replicas fails too: failed, both reasons kept', () => {
      const a = transition(started(), { kind: 'failed', reason: 'unhealthy' }, d);
      const f = transition(a, { kind: 'failed', reason: 'docker rm: exit 1' }, d);
      assert.equal(f.phase, 'failed');
      assert.match(f.error!, /unhealthy; removing the new replicas failed too: docker rm/);
    });
  });

  describe('after the new replicas serve', () => {
    const draining = () => {
      let s = begin({ service: 'api', target: 1, slots: 3, old: ['o1'], fresh: [] });
      s = transition(s, { kind: 'started', ids: ['n1'], at: 0 }, d);
      s = transition(s, { kind: 'healthy', at: 1 }, d);
      return transition(s, { kind: 'admitted', at: 100 }, d);
    };
    test('drain deadline: the old replica is stopped anyway (its grace period cuts what is left)', () => {
      const s = draining();
      assert.equal(s.phase, 'drain');
      assert.equal(s.deadline, 10_100);
      assert.equal(transition(s, { kind: 'waiting', at: 5000 }, d).phase, 'drain');
      assert.equal(transition(s, { kind: 'waiting', at: 10_100 }, d).phase, 'stop');
    });
    test('a drain entered without a deadline (make room) starts its clock on the first poll', () => {
      const s = begin({ service: 'api', target: 2, slots: 4, old: ['a', 'b', 'c', 'd'], fresh: [] });
      assert.equal(s.deadline, undefined);
      const w = transition(s, { kind: 'waiting', at: 50 }, d);
      assert.equal(w.deadline, 10_050);
    });
    test('a failed drain or stop does not remove the new replicas (they serve): failed', () => {
      const f = transition(draining(), { kind: 'failed', reason: 'runtime API unreachable' }, d);
      assert.equal(f.phase, 'failed');
      assert.deepEqual(f.fresh, ['n1']);
      const st = transition(transition(draining(), { kind: 'drained', at: 1 }, d), { kind: 'failed', reason: 'docker stop timed out' }, d);
      assert.equal(st.phase, 'failed');
    });
    test('recording fails: failed, rollout itself done', () => {
      const r = transition(
        transition(transition(draining(), { kind: 'drained', at: 1 }, d), { kind: 'stopped' }, d),
        { kind: 'failed', reason: 'disk full' },
        d,
      );
      assert.equal(r.phase, 'failed');
      assert.deepEqual(r.old, []);
    });
  });

  test('an event the phase does not expect is a bug, not a silent no-op', () => {
    assert.throws(
      () => transition(begin({ service: 'api', target: 1, slots: 3, old: ['o'], fresh: [] }), { kind: 'drained', at: 0 }, d),
      /bug: rollout of api: event drained in phase start/,
    );
  });
});

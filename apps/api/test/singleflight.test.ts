// SingleFlight: concurrent loads of a key share one promise; a write marks an in-flight load stale
// so that its result is not cached, and the next load starts afresh.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight } from '../src/app.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('one load per key while in flight; invalidate marks it stale and starts a new flight', async () => {
  const sf = new SingleFlight<string>();
  let calls = 0;
  const d1 = deferred<string>();
  const a = sf.load('k', () => {
    calls++;
    return d1.promise;
  });
  const b = sf.load('k', () => {
    calls++;
    return Promise.resolve('other');
  });
  assert.equal(a.leader, true);
  assert.equal(b.leader, false);
  assert.equal(a.flight, b.flight);
  sf.invalidate('k');
  assert.equal(a.flight.stale, true);
  const d2 = deferred<string>();
  const c = sf.load('k', () => {
    calls++;
    return d2.promise;
  });
  assert.equal(c.leader, true);
  assert.notEqual(c.flight, a.flight);
  d1.resolve('old');
  d2.resolve('new');
  assert.deepEqual(await Promise.all([a.flight.promise, b.flight.promise, c.flight.promise]), ['old', 'old', 'new']);
  assert.equal(c.flight.stale, false);
  assert.equal(calls, 2);
  // Settled flights are forgotten: the next load is a new one.
  assert.equal(
    sf.load('k', () => {
      calls++;
      return Promise.resolve('again');
    }).leader,
    true,
  );
  assert.equal(calls, 3);
});

test('a failed load fails every waiter and is forgotten', async () => {
  const sf = new SingleFlight<string>();
  const d = deferred<string>();
  const a = sf.load('k', () => d.promise);
  const b = sf.load('k', () => Promise.resolve('x'));
  d.reject(new Error('db down'));
  await assert.rejects(a.flight.promise, /db down/);
  await assert.rejects(b.flight.promise, /db down/);
  assert.equal(sf.load('k', () => Promise.resolve('ok')).leader, true);
});

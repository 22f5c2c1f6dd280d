// wharf restore DB --to TIME, against a recording runner: the moment is checked before anything
// stops (malformed, future, before the window, after the archive), the database and its users
// stop and start in order around pitr.sh, and a repository that cannot be read changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingRunner } from '../engine/run.js';
import type { Cmd } from '../engine/command.js';
import { InputError, OperationError } from '../errors.js';
import { buildPlan } from '../plan/build.js';
import { parseSpecText } from '../spec/load.js';
import type { BackupExecutor } from './backup-executor.js';
import { parseRecoveryTarget, recoveryTargetTime, restoreToTime } from './pitr.js';

const spec = `name: pt
domain: pt.localhost
services:
  api: { image: example/api:1, port: 3000, uses: [db] }
databases:
  db: { engine: postgres, backup: { pointInTime: true } }
monitoring: { enabled: false }
`;
const plan = buildPlan(parseSpecText(spec, 'wharf.yaml').stack!);
const now = new Date('2026-12-07T17:00:00Z');
const sec = (iso: string) => Date.parse(iso) / 1000;

function fake(window: { exitCode?: number; earliest: string; latest: string }, flushLatest?: string) {
  const events: string[] = [];
  const { runner, calls } = recordingRunner((c) => {
    const [, cmd] = c.argv;
    if (cmd === 'window')
      return window.exitCode
        ? { exitCode: window.exitCode, stderr: 'cannot read the pgBackRest repository of db (wrong repository password, or unreachable)' }
        : { stdout: JSON.stringify({ earliest: sec(window.earliest), latest: sec(window.latest), pending: 0 }) };
    if (cmd === 'flush')
      return { stdout: JSON.stringify({ earliest: sec(window.earliest), latest: sec(flushLatest ?? window.latest), pending: 0 }) };
    if (cmd === 'restore') {
      events.push(`restore ${c.argv[2]}`);
      return {
        stdout: JSON.stringify({
          reachedTarget: true,
          tables: 3,
          phases: [
            { phase: 'restore', ms: 5 },
            { phase: 'replay', ms: 7 },
          ],
        }),
        stderr: 'progress restore r\nprogress replay w\n',
      };
    }
    return {};
  });
  const ex: BackupExecutor = {
    plan,
    runner,
    script: () => {
      throw new Error('the backup service is not used by --to');
    },
    pitr: (db, args, describe): Cmd => ({ argv: [`${db}-pitr`, ...args], describe }),
    services: {
      stop: async (names) => void events.push(`stop ${names.join(',')}`),
      start: async (names) => void events.push(`start ${names.join(',')}`),
      waitHealthy: async (names) => void events.push(`healthy ${names.join(',')}`),
      notRunning: async () => [],
    },
  };
  return { ex, events, calls };
}

test('--to takes RFC 3339 times with a zone; malformed, impossible and future ones are input errors', () => {
  assert.equal(parseRecoveryTarget('2026-12-07T16:05:00.250Z', now).toISOString(), '2026-12-07T16:05:00.250Z');
  assert.equal(parseRecoveryTarget('2026-12-07T17:05:00+01:00', now).toISOString(), '2026-12-07T16:05:00.000Z');
  for (const bad of [
    'yesterday',
    '2026-12-07 16:05',
    '2026-12-07T16:05:00',
    '2026-02-30T10:00:00Z',
    '2026-12-07T24:00:00Z',
    "2026-12-07T16:05:00Z'; drop",
  ])
    assert.throws(
      () => parseRecoveryTarget(bad, now),
      (e: Error) => e instanceof InputError && /is not an RFC 3339 time/.test(e.message),
      bad,
    );
  assert.throws(
    () => parseRecoveryTarget('2026-12-07T17:00:01Z', now),
    (e: Error) => e instanceof InputError && /in the future/.test(e.message),
  );
  assert.equal(recoveryTargetTime(new Date('2026-12-07T16:05:00.250Z')), '2026-12-07 16:05:00.250+00');
});

test('a moment before the window: input error, nothing stopped or restored', async () => {
  const { ex, events } = fake({ earliest: '2026-12-07T12:00:00Z', latest: '2026-12-07T16:59:00Z' });
  await assert.rejects(
    restoreToTime(ex, { target: 'db', to: new Date('2026-12-07T11:00:00Z'), confirm: () => true }),
    (e: Error) => e instanceof InputError && /before the recoverable window of db \(2026-12-07T12:00:00.000Z to/.test(e.message),
  );
  assert.deepEqual(events, []);
});

test('a moment after the archive: the current segment is shipped first, and when still short, input error, nothing stopped', async () => {
  const { ex, events, calls } = fake({ earliest: '2026-12-07T12:00:00Z', latest: '2026-12-07T16:00:00Z' }, '2026-12-07T16:30:00Z');
  await assert.rejects(
    restoreToTime(ex, { target: 'db', to: new Date('2026-12-07T16:45:00Z'), confirm: () => true }),
    (e: Error) => e instanceof InputError && /after the latest recoverable moment of db \(2026-12-07T16:30:00.000Z\)/.test(e.message),
  );
  assert.deepEqual(
    calls.map((c) => c.argv.join(' ')),
    ['db-pitr window', 'db-pitr flush'],
  );
  assert.deepEqual(events, []);
});

test('a repository that cannot be read (wrong key): operation error, nothing stopped', async () => {
  const { ex, events } = fake({ exitCode: 1, earliest: '2026-12-07T12:00:00Z', latest: '2026-12-07T16:00:00Z' });
  await assert.rejects(
    restoreToTime(ex, { target: 'db', to: new Date('2026-12-07T13:00:00Z'), confirm: () => true }),
    (e: Error) => e instanceof OperationError && /wrong repository password/.test(e.message) && /nothing was changed/.test(e.message),
  );
  assert.deepEqual(events, []);
});

test('in the window: api then db stop, pitr.sh recovers to the moment, db then api start, phases timed', async () => {
  const { ex, events } = fake({ earliest: '2026-12-07T12:00:00Z', latest: '2026-12-07T16:59:00Z' });
  const r = await restoreToTime(ex, { target: 'db', to: new Date('2026-12-07T16:05:00.250Z'), confirm: () => true });
  assert.equal(r.ok, true, r.error);
  assert.equal(r.verified, true);
  assert.deepEqual(events, [
    'stop api',
    'stop db',
    'restore 2026-12-07 16:05:00.250+00',
    'start db',
    'healthy db',
    'start api',
    'healthy api',
  ]);
  assert.deepEqual(
    r.phases!.map((p) => `${p.phase}${p.service ? ` ${p.service}` : ''}`),
    ['find', 'stop api', 'stop db', 'restore', 'replay', 'back db', 'back api'],
  );
});

test('not confirmed: nothing stopped', async () => {
  const { ex, events } = fake({ earliest: '2026-12-07T12:00:00Z', latest: '2026-12-07T16:59:00Z' });
  const r = await restoreToTime(ex, { target: 'db', to: new Date('2026-12-07T16:05:00Z'), confirm: () => false });
  assert.equal(r.cancelled, true);
  assert.deepEqual(events, []);
});

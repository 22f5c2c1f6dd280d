// Notification receivers in the spec (credentials only in secrets, with their path on error) and
// the operational event alert wharf posts to Alertmanager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { backupEvents, deployWithEvent, eventAlert, notifyTest, type EventAlert } from '../../src/ops/events.js';
import { InputError } from '../../src/errors.js';
import type { OpsContext } from '../../src/engine/context.js';
import { buildPlan } from '../../src/plan/build.js';
import { RolloutFailedError } from '../../src/ops/up-wait.js';
import { templateText } from '../support/templates.js';

function issuesOf(alerts: Record<string, unknown>, secrets: Record<string, unknown> = {}) {
  const d = parse(templateText('api'));
  d.monitoring = { ...(d.monitoring ?? {}), alerts };
  d.secrets = { ...(d.secrets ?? {}), ...secrets };
  return parseSpecText(stringify(d)).issues.filter((i) => i.severity === 'error');
}

test('a receiver or heartbeat URL with credentials is refused with its path: it must be a secret', () => {
  const hook = issuesOf({ receivers: [{ type: 'webhook', name: 'hk', url: 'https://ops:pw@hooks.example.com/x' }] });
  assert.ok(
    hook.some((i) => i.path === 'monitoring.alerts.receivers[0].url' && /urlSecret/.test(i.message)),
    JSON.stringify(hook),
  );
  assert.ok(!JSON.stringify(hook).includes('ops:pw'), 'the error does not repeat the credentials');
  const hb = issuesOf({ heartbeat: { url: 'https://u:p@hc.example.com/ping' } });
  assert.ok(
    hb.some((i) => i.path === 'monitoring.alerts.heartbeat.url'),
    JSON.stringify(hb),
  );
  const scheme = issuesOf({ receivers: [{ type: 'webhook', name: 'hk', url: 'file:///etc/passwd' }] });
  assert.ok(
    scheme.some((i) => i.path === 'monitoring.alerts.receivers[0].url'),
    JSON.stringify(scheme),
  );
});

test('a webhook or heartbeat takes exactly one of url and urlSecret; secrets it names must be declared', () => {
  assert.ok(issuesOf({ receivers: [{ type: 'webhook', name: 'hk' }] }).some((i) => i.path === 'monitoring.alerts.receivers[0].url'));
  const both = issuesOf({ receivers: [{ type: 'webhook', name: 'hk', url: 'http://hook:1/x', urlSecret: 'u' }] }, { u: { file: './u' } });
  assert.ok(both.some((i) => i.path === 'monitoring.alerts.receivers[0].url'));
  const missing = issuesOf({
    heartbeat: { urlSecret: 'hb' },
    receivers: [{ type: 'pushover', name: 'po', userKeySecret: 'po-user', tokenSecret: 'po-token' }],
  });
  assert.deepEqual(missing.map((i) => i.path).sort(), [
    'monitoring.alerts.heartbeat.urlSecret',
    'monitoring.alerts.receivers[0]',
    'monitoring.alerts.receivers[0]',
  ]);
  const ok = issuesOf(
    {
      heartbeat: { urlSecret: 'hb' },
      receivers: [
        { type: 'discord', name: 'dc', webhookSecret: 'hb' },
        { type: 'msteams', name: 'tm', webhookSecret: 'hb' },
        { type: 'telegram', name: 'tg', botTokenSecret: 'hb', chatId: -100 },
        { type: 'webhook', name: 'wh', urlSecret: 'hb' },
      ],
    },
    { hb: { file: './hb' } },
  );
  assert.deepEqual(ok, []);
});

test('an event is a short-lived alert of its own (event_id), labelled wharf_event, naming a receiver only when asked', () => {
  const now = new Date('2026-12-07T10:00:00Z');
  const a = eventAlert('shop', { kind: 'backup-failed', summary: 'backup db failed' }, now, 'id-1');
  assert.deepEqual(a, {
    labels: {
      alertname: 'WharfBackupFailed',
      wharf_event: 'backup-failed',
      severity: 'critical',
      component: 'wharf',
      stack: 'shop',
      event_id: 'id-1',
    },
    annotations: { summary: 'backup db failed', description: 'backup db failed' },
    startsAt: '2026-12-07T10:00:00.000Z',
    endsAt: '2026-12-07T10:05:00.000Z',
  });
  const t = eventAlert('shop', { kind: 'test', summary: 'test', receiver: 'team-slack' }, now, 'id-2');
  assert.equal(t.labels.wharf_to, 'team-slack');
  assert.equal(t.labels.severity, 'info');
});

function ctxWithReceivers(receivers: boolean): { ctx: OpsContext; posted: EventAlert[]; sink: (a: EventAlert[]) => Promise<void> } {
  const d = parse(templateText('api'));
  if (receivers)
    d.monitoring = { ...(d.monitoring ?? {}), alerts: { receivers: [{ type: 'webhook', name: 'hk', url: 'http://hook:1/x' }] } };
  const r = parseSpecText(stringify(d));
  assert.ok(r.stack, JSON.stringify(r.issues));
  const posted: EventAlert[] = [];
  const ctx = { plan: buildPlan(r.stack), engine: { project: 'shop' } } as unknown as OpsContext;
  return { ctx, posted, sink: async (a) => void posted.push(...a) };
}

test('a deploy gives exactly one event: finished when it changed something, rolled back, or failed', async () => {
  const { ctx, posted, sink } = ctxWithReceivers(true);
  await deployWithEvent(ctx, async () => ({ changed: ['api'], reloaded: ['proxy'] }), sink);
  assert.deepEqual(
    posted.map((a) => [a.labels.wharf_event, a.annotations.summary]),
    [['deploy-finished', 'deploy of shop finished: api, proxy']],
  );
  posted.length = 0;
  await deployWithEvent(ctx, async () => ({ changed: [], reloaded: [] }), sink);
  assert.equal(posted.length, 0, 'nothing changed: no message');
  await assert.rejects(
    deployWithEvent(ctx, () => Promise.reject(new RolloutFailedError([{ service: 'api', state: 'rollback_completed' }])), sink),
    RolloutFailedError,
  );
  await assert.rejects(
    deployWithEvent(ctx, () => Promise.reject(new Error('build failed')), sink),
    /build failed/,
  );
  assert.deepEqual(
    posted.map((a) => a.labels.wharf_event),
    ['deploy-rolled-back', 'deploy-failed'],
  );
  const quiet = ctxWithReceivers(false);
  await deployWithEvent(quiet.ctx, async () => ({ changed: ['api'], reloaded: [] }), quiet.sink);
  assert.equal(quiet.posted.length, 0, 'no receiver: nothing posted');
});

test('a failed backup gives one event per failed job, a good one none; a sink error never throws', async () => {
  const { ctx, posted, sink } = ctxWithReceivers(true);
  const out = await backupEvents(
    ctx,
    [
      { job: 'db', ok: false, error: 'restic exited 1' },
      { job: 'uploads', ok: true },
    ],
    sink,
  );
  assert.deepEqual(out, [{ posted: true }]);
  assert.deepEqual(
    posted.map((a) => [a.labels.wharf_event, a.annotations.summary, a.annotations.description]),
    [['backup-failed', 'backup db failed', 'restic exited 1']],
  );
  const broken = await backupEvents(ctx, [{ job: 'db', ok: false }], () => Promise.reject(new Error('Alertmanager is not running')));
  assert.deepEqual(broken, [{ posted: false, error: 'Alertmanager is not running' }]);
});

test('wharf notify test: one message to the named receiver; an unknown receiver or none at all is bad input', async () => {
  const { ctx, posted, sink } = ctxWithReceivers(true);
  assert.deepEqual(await notifyTest(ctx, 'hk', sink), { receivers: ['hk'] });
  assert.deepEqual(
    posted.map((a) => [a.labels.wharf_event, a.labels.wharf_to]),
    [['test', 'hk']],
  );
  await assert.rejects(notifyTest(ctx, 'nosuch', sink), (e: Error) => e instanceof InputError && /"nosuch"/.test(e.message));
  const quiet = ctxWithReceivers(false);
  await assert.rejects(notifyTest(quiet.ctx, undefined, quiet.sink), InputError);
  assert.equal(posted.length + quiet.posted.length, 1);
});

// Notification receivers in the spec (credentials only in secrets, with their path on error) and
// the operational event alert wharf posts to Alertmanager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { eventAlert } from '../../src/ops/events.js';
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

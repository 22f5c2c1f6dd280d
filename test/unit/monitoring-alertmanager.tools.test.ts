// Alertmanager renderer: every template and a spec with all receiver kinds pass the real
// `amtool check-config`, and `amtool config routes test` routes each severity where the spec says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/model.js';
import { renderAlertmanager, NULL_RECEIVER, HEARTBEAT_RECEIVER } from '../../src/render/alertmanager/index.js';
import { toolPath } from '../support/tools.js';
import { templatePlan } from '../support/templates.js';

const amtool = toolPath('amtool');
const skip = amtool ? false : 'amtool not installed';

function withReceivers(): Plan {
  const text = readFileSync(join(process.cwd(), 'templates', 'api.yaml'), 'utf8');
  const spec = `${text}
  alerts:
    groupWait: 10s
    groupInterval: 1m
    repeatInterval: 2h
    heartbeat: { url: "https://hc-ping.example.com/0f3e", interval: 2m }
    receivers:
      - { type: webhook, name: ops-hook, url: "http://hooks.internal:9000/alerts" }
      - { type: email, name: oncall-mail, to: oncall@example.com, from: alerts@example.com, smarthost: "smtp.example.com:587", username: alerts, passwordSecret: smtp-password, severity: [critical] }
      - { type: slack, name: team-slack, channel: "#ops", webhookSecret: slack-webhook, severity: [warning, info] }
secrets:
  smtp-password: { generate: true }
  slack-webhook: { file: ./slack-url.txt }
`;
  const r = parseSpecText(spec);
  assert.ok(r.stack, JSON.stringify(r.issues));
  return buildPlan(r.stack);
}

function check(contents: string): { code: number | null; out: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), contents);
  const r = spawnSync(amtool!, ['check-config', join(dir, 'alertmanager.yml')], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, dir };
}

function routeOf(dir: string, labels: string[]): string {
  const r = spawnSync(amtool!, ['config', 'routes', 'test', `--config.file=${join(dir, 'alertmanager.yml')}`, ...labels], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

for (const t of ['api', 'lab', 'haproxy-mysql']) {
  test(`alertmanager: ${t} passes amtool check-config; with no receivers alerts go to the null receiver`, { skip }, async () => {
    const files = renderAlertmanager(templatePlan(t));
    assert.deepEqual(
      files.map((f) => f.path),
      ['alertmanager/alertmanager.yml'],
    );
    const c = check(files[0]!.contents);
    try {
      assert.equal(c.code, 0, c.out);
      assert.match(c.out, /SUCCESS/);
      assert.equal(routeOf(c.dir, ['alertname=APIDown', 'severity=critical', 'component=api']), NULL_RECEIVER);
      assert.equal(routeOf(c.dir, ['alertname=Watchdog', 'severity=none']), NULL_RECEIVER);
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
}

test('alertmanager: webhook, email and Slack receivers, routed by severity, secrets only as file paths', { skip }, () => {
  const plan = withReceivers();
  const contents = renderAlertmanager(plan)[0]!.contents;
  const c = check(contents);
  try {
    assert.equal(c.code, 0, c.out);
    const r = (sev: string) => routeOf(c.dir, ['alertname=X', `severity=${sev}`, 'component=api']);
    assert.equal(r('critical'), 'oncall-mail,ops-hook');
    assert.equal(r('warning'), 'ops-hook,team-slack');
    assert.equal(r('info'), 'team-slack');
    assert.equal(r('none'), NULL_RECEIVER);
    // the dead man's switch: the Watchdog reaches the heartbeat only, whatever its labels say;
    // no other alert ever reaches the heartbeat
    for (const sev of ['none', 'critical', 'warning', 'info']) {
      assert.equal(routeOf(c.dir, ['alertname=Watchdog', `severity=${sev}`, 'component=prometheus']), HEARTBEAT_RECEIVER, sev);
      assert.doesNotMatch(r(sev), /heartbeat/, sev);
    }
    assert.doesNotMatch(routeOf(c.dir, ['alertname=WatchdogX', 'severity=critical']), /heartbeat/);
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
  const doc = parse(contents) as Record<string, any>;
  const rec = Object.fromEntries((doc.receivers as any[]).map((x) => [x.name, x]));
  assert.deepEqual(Object.keys(rec).sort(), [
    'heartbeat',
    'null',
    'oncall-mail',
    'oncall-mail/events',
    'ops-hook',
    'ops-hook/events',
    'team-slack',
    'team-slack/events',
  ]);
  assert.deepEqual(rec.heartbeat.webhook_configs, [{ url: 'https://hc-ping.example.com/0f3e', send_resolved: false, max_alerts: 1 }]);
  // resent every interval: ticks at a quarter of it, so a ping comes 2 to 2.5 minutes after the last
  assert.deepEqual(doc.route.routes[0], {
    receiver: 'heartbeat',
    matchers: ['alertname="Watchdog"'],
    group_wait: '0s',
    group_interval: '30s',
    repeat_interval: '2m',
  });
  assert.equal(rec['team-slack'].slack_configs[0].api_url_file, '/run/secrets/slack-webhook');
  assert.equal(rec['oncall-mail'].email_configs[0].auth_password_file, '/run/secrets/smtp-password');
  assert.equal(rec['oncall-mail'].email_configs[0].auth_password, undefined);
  assert.equal(rec['ops-hook'].webhook_configs[0].url, 'http://hooks.internal:9000/alerts');
  // the heartbeat and the event copies alone send no resolved notification: the Watchdog never
  // resolves, and an event is one message
  assert.ok(
    Object.values(rec)
      .filter((x: any) => x.name !== 'heartbeat' && !x.name.endsWith('/events'))
      .every((x: any) =>
        Object.values(x)
          .flat()
          .every((cfg: any) => typeof cfg !== 'object' || cfg.send_resolved === true),
      ),
  );
  assert.deepEqual(doc.route.group_by, ['alertname', 'component']);
  assert.equal(doc.route.group_wait, '10s');
  assert.equal(doc.route.group_interval, '1m');
  assert.equal(doc.route.repeat_interval, '2h');
});

test('alertmanager: a down alert inhibits the other alerts of its component; critical inhibits warning', async () => {
  const doc = parse(renderAlertmanager(templatePlan('api'))[0]!.contents) as Record<string, any>;
  const [down, crit] = doc.inhibit_rules as any[];
  const names = 'APIDown|JobDown|PostgresDown|RedisDown|TargetDown';
  assert.deepEqual(down, {
    source_matchers: [`alertname=~"${names}"`],
    target_matchers: [`alertname!~"${names}"`, 'alertname!="Watchdog"'],
    equal: ['component'],
  });
  assert.deepEqual(crit, {
    source_matchers: ['severity="critical"'],
    target_matchers: ['severity="warning"'],
    equal: ['alertname', 'component'],
  });
  const hm = parse(renderAlertmanager(templatePlan('haproxy-mysql'))[0]!.contents) as Record<string, any>;
  assert.match(hm.inhibit_rules[0].source_matchers[0], /MysqlDown/);
});

test('alertmanager: nothing rendered when monitoring is off; output is stable', async () => {
  const plan = templatePlan('api');
  assert.deepEqual(renderAlertmanager({ ...plan, monitoring: { ...plan.monitoring, enabled: false } }), []);
  assert.deepEqual(renderAlertmanager(plan), renderAlertmanager(plan));
});

test('alertmanager: a heartbeat outside the stack gives Alertmanager a route out; one inside it does not', () => {
  const text = readFileSync(join(process.cwd(), 'templates', 'api.yaml'), 'utf8');
  const nets = (url: string) => {
    const r = parseSpecText(`${text}\n  alerts:\n    heartbeat: { url: "${url}" }\n`);
    assert.ok(r.stack, JSON.stringify(r.issues));
    const plan = buildPlan(r.stack);
    assert.equal(plan.monitoring.heartbeat?.interval.toString(), '5m');
    return plan.components.find((c) => c.name === 'alertmanager')!.networks;
  };
  assert.deepEqual(nets('https://hc-ping.com/0f3e'), ['edge', 'monitoring']);
  assert.deepEqual(nets('http://hook:8080/heartbeat'), ['monitoring']);
});

// The one cron implementation (src/spec/cron.ts, cron-parser): what the schema accepts,
// the expansion the scheduler reads, and the longest gap BackupStale is computed from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify, parse } from 'yaml';
import { cronMaxIntervalSeconds, cronProblem, cronRuns, normalizeCron } from '../../src/spec/cron.js';
import { validateSpec } from '../../src/spec/load.js';
import { backupStaleSeconds } from '../../src/render/prometheus/catalogue.js';
import { templateText } from '../support/templates.js';

test('the library refuses what the old regex let through, with its reason', () => {
  assert.match(cronProblem('*/0 * * * *')!, /0/);
  assert.match(cronProblem('99 * * * *')!, /range 0-59/);
  assert.match(cronProblem('0 0 31 2 *')!, /day of month/i);
  assert.match(cronProblem('* * * * * *')!, /5 fields/);
  assert.match(cronProblem('0 0 * * *\ntouch /tmp/x')!, /5 fields/);
  for (const ext of ['0 0 L * *', '0 0 * * 5#3', 'H * * * *', '0 0 ? * *', '0 0 15W * *']) assert.ok(cronProblem(ext), ext);
  for (const ok of ['@hourly', '@daily', '@weekly', '@monthly', '*/5 * * * *', '0 3 * * 1-5', '0 0 1,15 * sun', '5-20/5 * * jan-mar *'])
    assert.equal(cronProblem(ok), undefined, ok);
});

test('the schema validates schedules with the library: a path-named issue', () => {
  const doc = parse(templateText('api')) as Record<string, any>;
  const name = Object.keys(doc.databases)[0]!;
  doc.databases[name].backup.schedule = '*/0 * * * *';
  const res = validateSpec(parse(stringify(doc)));
  const issue = res.issues.find((i) => i.path === `databases.${name}.backup.schedule`);
  assert.ok(issue, JSON.stringify(res.issues));
  assert.match(issue.message, /5-field cron expression.*cannot repeat at every 0/);
  assert.equal(res.stack, undefined);
});

test('expansion: explicit lists, * only where the library sees a wildcard', () => {
  assert.equal(normalizeCron('@daily'), '0 0 * * *');
  assert.equal(normalizeCron('*/15 * * * *'), '0,15,30,45 * * * *');
  assert.equal(normalizeCron('0 */6 * * 7'), '0 0,6,12,18 * * 0');
  assert.equal(normalizeCron('0 0 * * 5-7'), '0 0 * * 0,5,6');
  assert.equal(normalizeCron('0 0 */10 * *'), '0 0 1,11,21,31 * *');
  assert.throws(() => normalizeCron('99 * * * *'), /bug: invalid cron/);
});

test('longest gap between runs, and the BackupStale threshold from it', () => {
  const table: Array<[string, number]> = [
    ['* * * * *', 60],
    ['*/5 * * * *', 300],
    ['@hourly', 3600],
    ['0 */6 * * *', 21600],
    ['@daily', 86400],
    ['0 3 * * 1-5', 3 * 86400],
    ['@weekly', 7 * 86400],
    ['@monthly', 31 * 86400],
    ['0 0 1 */3 *', 92 * 86400],
    ['0 0 29 2 *', 4 * 366 * 86400 - 3 * 86400],
  ];
  for (const [expr, gap] of table) assert.equal(cronMaxIntervalSeconds(expr), gap, expr);
  assert.equal(backupStaleSeconds('*/5 * * * *'), 2 * 300 + 900);
});

test("the longest gap agrees with the gaps between the library's own next() runs", () => {
  for (const expr of [
    '*/7 */5 * * *',
    '0 0 1 * 1-5',
    '30 2 * 1-3 *',
    '0 0 */2 * *',
    '0 0 * * */2',
    '15 4 1,15 * 5',
    '0 3 * * 1-5',
    '59 23 31 * *',
  ]) {
    const runs = cronRuns(expr, new Date(Date.UTC(2024, 0, 1) - 1000), 3000).map((d) => d.getTime());
    let max = 0;
    for (let i = 1; i < runs.length; i++) max = Math.max(max, (runs[i]! - runs[i - 1]!) / 1000);
    assert.equal(max, cronMaxIntervalSeconds(expr), expr);
  }
});

// StackDrift against the real promtool: the rule loads with the rendered rule files, fires on its
// example (a service with differences made by hand) and stays quiet at zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { templatePlan } from '../../../../test/support/templates.js';
import { toolPath } from '../../../../test/support/tools.js';
import { ruleTests } from '../../../../test/support/rule-tests.js';
import { alertCatalogue } from '../catalogue.js';
import { renderPrometheus } from '../index.js';

const promtool = toolPath('promtool');

test('StackDrift loads in promtool, fires on drift and stays quiet without', { skip: !promtool && 'promtool missing' }, () => {
  const plan = templatePlan('api');
  const rules = alertCatalogue(plan).filter((r) => r.alert === 'StackDrift');
  assert.equal(rules.length, 1, 'the api template (backups: textfiles, node-exporter) has StackDrift');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-drift-rules-'));
  try {
    for (const f of renderPrometheus(plan)) {
      const p = join(dir, f.path.replace(/^prometheus\//, ''));
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.contents);
    }
    ruleTests(rules).forEach((t, i) => {
      writeFileSync(join(dir, `tests-${i}.yml`), JSON.stringify(t));
      assert.match(execFileSync(promtool!, ['test', 'rules', `tests-${i}.yml`], { cwd: dir, encoding: 'utf8' }), /SUCCESS/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no StackDrift without a textfile volume: nothing would write wharf_drift', () => {
  const plan = templatePlan('api');
  plan.monitoring.textfiles = undefined;
  assert.equal(
    alertCatalogue(plan).some((r) => r.alert === 'StackDrift'),
    false,
  );
});

// The point-in-time recovery alerts of a stack with pointInTime: the rendered rules pass promtool,
// each fires on its example series and stays quiet on the healthy one (promtool test rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPlan } from '../../../plan/build.js';
import { parseSpecText } from '../../../spec/load.js';
import { alertCatalogue } from '../catalogue.js';
import { renderPrometheus } from '../index.js';
import { toolPath } from '../../../../test/support/tools.js';
import { ruleTests } from '../../../../test/support/rule-tests.js';

const promtool = toolPath('promtool');
const spec = `name: pt
domain: pt.localhost
databases:
  db: { engine: postgres, backup: { pointInTime: true } }
  other: { engine: postgres, backup: {} }
`;

test(
  'PitrArchiveFailing, PitrArchiveBehind and PitrArchiverDown fire on their examples and stay quiet otherwise',
  { skip: !promtool && 'promtool not installed' },
  () => {
    const plan = buildPlan(parseSpecText(spec, 'wharf.yaml').stack!);
    const rules = alertCatalogue(plan).filter((a) => a.alert.startsWith('Pitr'));
    assert.deepEqual(rules.map((a) => a.alert).sort(), ['PitrArchiveBehind', 'PitrArchiveFailing', 'PitrArchiverDown']);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-pitr-rules-'));
    try {
      for (const f of renderPrometheus(plan)) {
        const path = join(dir, f.path.replace(/^prometheus\//, ''));
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, f.contents);
      }
      ruleTests(rules).forEach((s, i) => writeFileSync(join(dir, `tests-${i}.yml`), JSON.stringify(s)));
      for (const f of ruleTests(rules).map((_, i) => `tests-${i}.yml`)) {
        const r = spawnSync(promtool!, ['test', 'rules', f], { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /SUCCESS/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

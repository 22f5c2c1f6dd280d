// The ACME alerts against the real promtool: the rules load, each fires on its example and stays
// quiet otherwise; the client's metrics reach node-exporter through the stack's textfile volume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadVariant } from '../../../../test/support/templates.js';
import { toolPath } from '../../../../test/support/tools.js';
import { ruleTests } from '../../../../test/support/rule-tests.js';
import { alertCatalogue } from '../catalogue.js';
import { renderPrometheus } from '../index.js';

const promtool = toolPath('promtool');

const { plan } = loadVariant({
  template: 'haproxy-mysql',
  change: (d) => {
    d.domain = 'shop.example.com';
    d.tls = { mode: 'acme', email: 'ops@example.com' };
  },
});

test('the ACME client writes its metrics into the textfile volume node-exporter reads', () => {
  const acme = plan.components.find((c) => c.name === 'acme')!;
  const t = plan.monitoring.textfiles!;
  assert.ok(acme.mounts.some((m) => m.type === 'volume' && m.source === t.volume && m.target === '/metrics'));
  assert.equal(acme.env.ACME_METRICS_DIR, '/metrics');
});

test(
  'CertificateExpiringSoon and CertificateRenewalFailing load in promtool, fire on their examples, stay quiet otherwise',
  { skip: !promtool },
  () => {
    const rules = alertCatalogue(plan).filter((r) => r.alert.startsWith('Certificate'));
    assert.deepEqual(rules.map((r) => r.alert).sort(), ['CertificateExpiringSoon', 'CertificateRenewalFailing']);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-acme-rules-'));
    try {
      for (const f of renderPrometheus(plan)) {
        const p = join(dir, f.path.replace(/^prometheus\//, ''));
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, f.contents);
      }
      ruleTests(rules).forEach((s, i) => writeFileSync(join(dir, `tests-${i}.yml`), JSON.stringify(s)));
      for (let i = 0; i < ruleTests(rules).length; i++) {
        const out = execFileSync(promtool!, ['test', 'rules', `tests-${i}.yml`], { cwd: dir, encoding: 'utf8' });
        assert.match(out, /SUCCESS/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

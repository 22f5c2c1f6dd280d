// Service and secret names are a namespace the platform shares with the user: what the plan
// generates for a stack is refused as a user name, with the path and another name to use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { parseSpecText, describeString } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { checkPlan, namesFreeOfPlatform } from '../../src/check/plan-rules.js';
import { templateText } from '../support/templates.js';

function reserved(change: (d: any) => void) {
  const d = parse(templateText('api'));
  change(d);
  const { stack, issues } = parseSpecText(stringify(d));
  assert.ok(stack, JSON.stringify(issues));
  return checkPlan(stack, buildPlan(stack), [namesFreeOfPlatform]);
}

test('a service named like a generated exporter (db-exporter, cache-exporter) is refused with its path and a free name', () => {
  const i = reserved((d) => {
    d.services['db-exporter'] = { image: 'nginx:1.27', port: 80 };
    d.services['cache-exporter'] = { image: 'nginx:1.27', port: 80 };
  });
  assert.deepEqual(i.map((x) => x.path).sort(), ['services.cache-exporter', 'services.db-exporter']);
  assert.ok(i.every((x) => x.severity === 'error' && /platform's/.test(x.message) && /rename it \(e\.g\. "my-/.test(x.hint ?? '')));
});

test('user secrets named like generated ones (db-password, backup-restic-password, grafana-admin-password, edge-tls-key) are refused', () => {
  const i = reserved((d) => {
    d.tls = { mode: 'files', cert: './cert.pem', key: './key.pem' };
    d.secrets ??= {};
    for (const n of ['db-password', 'backup-restic-password', 'grafana-admin-password', 'edge-tls-key']) d.secrets[n] = { generate: true };
  });
  assert.deepEqual(
    i.map((x) => x.path),
    ['secrets.db-password', 'secrets.backup-restic-password', 'secrets.grafana-admin-password', 'secrets.edge-tls-key'],
  );
  assert.match(i[0]!.message, /secret wharf generates/);
});

test('the reserved set follows the stack: without monitoring, db-exporter is a free name; the template itself is clean', () => {
  assert.deepEqual(
    reserved(() => {}),
    [],
  );
  const i = reserved((d) => {
    d.monitoring = { enabled: false };
    d.services['db-exporter'] = { image: 'nginx:1.27', port: 80 };
  });
  assert.deepEqual(i, []);
});

test('a spec that is really another file is described, never echoed: /etc/passwd-like text, a dotenv line, a URL with credentials', () => {
  for (const v of [
    'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin',
    'SECRET_TOKEN=ghp_abc123',
    'https://u:p@h.example',
  ]) {
    const shown = describeString(v);
    assert.doesNotMatch(shown, /ghp_|root:x|u:p@/);
    assert.match(shown, /a string of \d+ characters/);
  }
  assert.equal(describeString('two'), 'string "two"');
  const { issues } = parseSpecText('SECRET_TOKEN=ghp_abcdefghijklmnop\nOTHER=1\n');
  assert.equal(issues.length, 1);
  assert.doesNotMatch(JSON.stringify(issues), /ghp_/);
});

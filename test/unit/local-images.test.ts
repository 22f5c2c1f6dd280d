// scripts/docker/local-images.mjs: the quick start's variant for a machine without a registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
// @ts-expect-error plain ESM script without types
import { localSpecText } from '../../scripts/docker/local-images.mjs';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';

const template = readFileSync(join(import.meta.dirname, '..', '..', 'templates', 'api.yaml'), 'utf8');
const images = {
  postgres: 'wharf-test/postgres:0123456789ab',
  haproxy: 'wharf-test/haproxy:0123456789ab',
  node: 'wharf-test/node:0123456789ab',
};

test('the api template points at the local images, swaps Traefik for HAProxy, turns Grafana and cAdvisor off, keeps its comments', () => {
  const { text, changed } = localSpecText(template, images) as { text: string; changed: string[] };
  const spec = parse(text);
  assert.deepEqual(spec.images, images);
  assert.equal(spec.proxy.kind, 'haproxy');
  assert.equal(spec.monitoring.grafana, false);
  assert.equal(spec.monitoring.cadvisor, false);
  assert.ok(text.startsWith('# wharf template "api"'), 'comments kept');
  assert.ok(changed.some((c) => c.startsWith('proxy.kind: haproxy (Traefik has no Debian package')));
  const res = parseSpecText(text);
  assert.deepEqual(
    res.issues.filter((i) => i.severity === 'error'),
    [],
  );
  const plan = buildPlan(res.stack!, { secretsDir: '../secrets', projectDir: '../..' });
  const byName = new Map(plan.components.map((c) => [c.name, c.image]));
  assert.equal(byName.get('db'), images.postgres);
  assert.equal(byName.get('proxy'), images.haproxy);
  assert.ok(!byName.has('grafana') && !byName.has('cadvisor'));
});

test('a second run changes nothing', () => {
  const once = localSpecText(template, images) as { text: string };
  const twice = localSpecText(once.text, images) as { text: string; changed: string[] };
  assert.equal(twice.text, once.text);
  assert.deepEqual(twice.changed, []);
});

// Plans share no mutable objects: not with each other, not with the spec they come from,
// not through module-level defaults. A label set on one component must not leak into the
// next plan (it did: every component spread one shared `labels: {}`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecText } from '../spec/load.js';
import { buildPlan } from './build.js';
import { deepCopy } from './copy.js';
import type { Plan } from './model.js';
import { renderAll } from '../render/index.js';

const root = join(import.meta.dirname, '..', '..');
const templates = ['api', 'lab', 'haproxy-mysql'];
const stackOf = (t: string) => {
  const r = parseSpecText(readFileSync(join(root, 'templates', `${t}.yaml`), 'utf8'), `${t}.yaml`);
  if (!r.stack) throw new Error(JSON.stringify(r.issues));
  return r.stack;
};

/** path of every object and array reachable from a value */
function objects(v: unknown, path = '$', out = new Map<object, string>()): Map<object, string> {
  // frozen values (Duration, Size) are immutable: sharing them is safe
  if (v === null || typeof v !== 'object' || out.has(v) || Object.isFrozen(v)) return out;
  out.set(v, path);
  for (const [k, x] of Object.entries(v)) objects(x, `${path}.${k}`, out);
  return out;
}

/** objects of `b` that are also reachable from `a` (by identity) */
function shared(a: unknown, b: unknown): string[] {
  const inA = objects(a);
  return [...objects(b)].filter(([o]) => inA.has(o)).map(([o, p]) => `${p} is ${inA.get(o)}`);
}

/** scribble on every object and array of a plan */
function vandalise(v: unknown): void {
  for (const o of objects(v).keys()) {
    if (Array.isArray(o)) o.push('LEAKED');
    else (o as Record<string, unknown>).LEAKED = 'yes';
  }
}

// everything a spec can hand the plan by reference: commands, allow-lists, severities, retention
const rich = `name: rich
domain: rich.localhost
proxy: { kind: traefik, dashboard: { allow: [10.0.0.0/8] } }
services:
  api:
    image: example/api:1
    port: 3000
    command: [node, server.js]
    env: { MODE: x }
    routes: [{ host: api.rich.localhost, allow: [192.168.0.0/16] }]
    volumes: [{ name: files, target: /data, backup: { schedule: "@daily", retention: { keepLast: 3 } } }]
    uses: [db]
databases:
  db: { engine: postgres, backup: { schedule: "0 3 * * *" } }
monitoring:
  grafana: { allow: [10.1.0.0/16] }
  alerts:
    receivers: [{ type: webhook, name: ops, url: "https://hooks.example.com/x", severity: [critical] }]
    overrides: { APIDown: { for: 5m } }
`;

test("a rich spec: the plan holds copies of the spec's arrays and maps, never the spec's own", () => {
  const r = parseSpecText(rich, 'wharf.yaml');
  assert.ok(r.stack, JSON.stringify(r.issues));
  const a = buildPlan(r.stack);
  assert.deepEqual(shared(r.stack, a), []);
  assert.deepEqual(shared(a, buildPlan(r.stack)), []);
  const before = deepCopy(buildPlan(r.stack));
  vandalise(a);
  assert.deepEqual(buildPlan(r.stack), before);
});

for (const t of templates) {
  test(`plans of ${t} share no object with each other or with their spec`, () => {
    const stack = stackOf(t);
    const a = buildPlan(stack);
    const b = buildPlan(stack);
    assert.deepEqual(shared(a, b), [], 'objects shared between two plans');
    assert.deepEqual(shared(stack, a), [], 'objects shared between the spec and its plan');
    // two parses of the same text share no defaults either (schema .default({}) / ([]))
    assert.deepEqual(shared(stack, stackOf(t)), [], 'objects shared between two parses');
  });

  test(`mutating one plan of ${t} changes neither the next plan nor its rendered files`, () => {
    const before = deepCopy(buildPlan(stackOf(t)));
    const files = renderAll(buildPlan(stackOf(t)));
    const first: Plan = buildPlan(stackOf(t));
    first.components[0]!.labels.leak = 'yes';
    first.components[0]!.env.LEAK = 'yes';
    vandalise(first);
    const second = buildPlan(stackOf(t));
    assert.deepEqual(second, before);
    assert.deepEqual(renderAll(second), files);
  });
}

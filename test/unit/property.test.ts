// Random and malformed specs never crash wharf: they either render, or come back
// as issues that each name a path and say what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyParams } from '../support/property.js';
import { parse, stringify } from 'yaml';
import { buildPlan } from '../../src/plan/build.js';
import { renderAll } from '../../src/render/index.js';
import { parseSpecText, validateSpec } from '../../src/spec/load.js';
import { planPaths } from '../../src/ops/prepare.js';
import { templateNames, templateText } from '../support/templates.js';

const params = propertyParams(300);
const rendered = new Set<string>();

function checkOutcome(res: { stack?: unknown; issues: Array<{ path: string; message: string; severity: string }> }): void {
  for (const i of res.issues) {
    assert.equal(typeof i.path, 'string');
    assert.ok(i.message.length > 0);
  }
  if (res.stack) {
    // plan and render are pure: a stack already rendered (a mutation the schema normalises
    // away, or the same mutation read back from YAML) renders the same files again
    const key = JSON.stringify(res.stack);
    if (rendered.has(key)) return;
    const files = renderAll(buildPlan(res.stack as never, planPaths));
    assert.ok(files.some((f) => f.path === 'compose.yaml'));
    rendered.add(key);
  } else {
    assert.ok(
      res.issues.some((i) => i.severity === 'error'),
      'a rejected spec has at least one error',
    );
  }
}

test('arbitrary JSON values', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      checkOutcome(validateSpec(v));
    }),
    params,
  );
});

test('arbitrary text as YAML', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (t) => {
      checkOutcome(parseSpecText(t));
    }),
    params,
  );
});

// Mutations of real templates reach deep into the schema: replace, delete or retype one node.
const leafValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
);

function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return [prefix, ...v.flatMap((x, i) => paths(x, [...prefix, i]))];
  if (v && typeof v === 'object') return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))];
  return [prefix];
}

function mutate(doc: any, path: Array<string | number>, op: number, value: unknown): any {
  if (path.length === 0) return op === 0 ? value : doc;
  const copy = structuredClone(doc);
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k];
  const last = path[path.length - 1]!;
  if (op === 1 && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

for (const name of templateNames) {
  test(`one-node mutations of template ${name}`, () => {
    const doc = parse(templateText(name));
    const all = paths(doc);
    fc.assert(
      fc.property(fc.nat({ max: all.length - 1 }), fc.nat({ max: 2 }), leafValue, (i, op, value) => {
        const changed = mutate(doc, all[i]!, op, value);
        checkOutcome(validateSpec(changed));
        checkOutcome(parseSpecText(stringify(changed)));
      }),
      params,
    );
  });
}

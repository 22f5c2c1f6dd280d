// The k8s hostile-string sweep, one test per variant; each variant's test is a file of its own
// (src/render/k8s/k8s-hostile-*.test.ts) so the two CPU-heavy sweeps run in parallel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { renderAll } from '../../src/render/index.js';
import type { Plan } from '../../src/plan/model.js';
import { deepCopy } from '../../src/plan/copy.js';
import { propertyParams } from './property.js';
import { render } from './k8s-tree.js';
import { kubeLiteral } from '../../src/escape/kube.js';

// Hostile strings in any plan field: the tree has the same files and YAML structure as for a
// plain twin value, and where the twin is a whole scalar the hostile value is too, intact.
const nasty = [
  '\n',
  '\r',
  '\x7f',
  '\u0085',
  '\u2029',
  '\x01',
  '"',
  "'",
  '`',
  '$',
  '${HOME}',
  ';',
  '\\',
  '#',
  ' ',
  '&',
  '|',
  '{{',
  '}}',
  'ü',
  '😀',
  '\t',
  ',',
  ':',
  '- ',
  '%',
  '---',
  '...',
  '\u2028',
];
const hostile = fc.oneof(
  fc.array(fc.constantFrom(...nasty, 'a', '/', 'x.y'), { minLength: 1, maxLength: 8 }).map((xs) => xs.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
);
const benign = (s: string) => Array.from(s, (c) => (/[A-Za-z0-9]/.test(c) ? c : 'x')).join('');

function stringLeaves(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...at, i]));
  // Duration and Size are parsed values (frozen), not strings a renderer receives
  if (v && typeof v === 'object' && !Object.isFrozen(v)) return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...at, k]));
  return [];
}
function setAt<T>(obj: T, path: Array<string | number>, value: string): T {
  const copy = deepCopy(obj) as any;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]!] = value;
  return copy;
}
function shape(text: string) {
  const docs = parseAllDocuments(text);
  for (const d of docs) assert.equal(d.errors.length, 0, String(d.errors[0]));
  const out = { docs: docs.length, maps: 0, seqs: 0, scalars: 0, strings: new Set<string>() };
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      out.seqs++;
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      out.maps++;
      Object.values(v).forEach(walk);
    } else {
      out.scalars++;
      if (typeof v === 'string') out.strings.add(v);
    }
  };
  docs.forEach((d) => walk(d.toJS()));
  return out;
}

export function hostileStringSweep(id: string) {
  test(`k8s: hostile strings in any plan field keep the tree's structure and arrive intact (${id})`, () => {
    const { plan } = render(id);
    const leaves = stringLeaves(plan);
    const tryRender = (p: Plan) => {
      try {
        return renderAll(p, 'k8s');
      } catch (e) {
        assert.ok(e instanceof Error);
        return undefined;
      }
    };
    let checked = 0;
    const params = propertyParams(120);
    fc.assert(
      fc.property(fc.nat(), hostile, (i, s) => {
        const path = leaves[i % leaves.length]!;
        const evil = `wq7${s}`,
          good = `wq7${benign(s)}`;
        const a = tryRender(setAt(plan, path, evil)),
          b = tryRender(setAt(plan, path, good));
        if (!a || !b) return;
        checked++;
        // A value that names files (the stack's name: clusters/<name>/) is in both twins' paths:
        // the same files means the same paths once it is read as its twin.
        assert.deepEqual(
          a.map((f) => f.path.split(evil).join(good)),
          b.map((f) => f.path),
          `${path.join('.')}: same files`,
        );
        a.forEach((fa, k) => {
          const fb = b[k]!;
          // a file the field does not reach is the same in both twins: nothing to compare
          if (fa.contents === fb.contents) return;
          const sa = shape(fa.contents),
            sb = shape(fb.contents);
          const where = `${path.join('.')} = ${JSON.stringify(evil)} in ${fa.path}`;
          assert.deepEqual([sa.docs, sa.maps, sa.seqs, sa.scalars], [sb.docs, sb.maps, sb.seqs, sb.scalars], `${where}: structure`);
          // a mount target is split into a directory and a file name (subPath): only its structure is compared
          if (sb.strings.has(good) && !/\.(secrets|mounts)\.\d+\.target$/.test(path.join('.')))
            // in a container's command, args or env the value is written kubelet-escaped (src/escape/kube.ts)
            assert.ok(sa.strings.has(evil) || sa.strings.has(kubeLiteral(evil)), `${where}: value intact`);
        });
      }),
      params,
    );
    assert.ok(checked > params.numRuns / 4, `most injections render (${checked}/${params.numRuns})`);
  });
}

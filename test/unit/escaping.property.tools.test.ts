// Renderers are safe for ANY string, whatever the schema lets through: a hostile string put
// into any one string field of a valid plan (the schema bypassed) either makes the renderer
// refuse (throw) or comes out escaped. Each hostile render is compared with a benign twin
// (the same field set to a plain string of the same shape): same files, same YAML shape,
// same haproxy.cfg line count, and the value found back intact (YAML scalars; variables
// after the real /bin/sh sources the job env files). No command ever runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { propertyParams } from '../support/property.js';
import { parseAllDocuments } from 'yaml';
import { renderAll } from '../../src/render/index.js';
import type { RenderedFile } from '../../src/render/files.js';
import type { Plan } from '../../src/plan/model.js';
import { loadVariant, variants } from '../support/templates.js';
import { deepCopy } from '../../src/plan/copy.js';

const params = propertyParams(150);
const runs = params.numRuns;
const mark = 'wq7'; // both twins start with it: no enum or '/' check can tell them apart

type Path = Array<string | number>;
function stringLeaves(v: unknown, at: Path = []): Path[] {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...at, i]));
  // Duration and Size are parsed values (frozen), not strings a renderer receives
  if (v && typeof v === 'object' && !Object.isFrozen(v)) return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...at, k]));
  return [];
}
function setAt<T>(obj: T, path: Path, value: string): T {
  const copy = deepCopy(obj) as any;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]!] = value;
  return copy;
}

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
  '$$',
  ';',
  '\\',
  '#',
  ' ',
  '&',
  '|',
  '$(touch PWNED)',
  '`touch PWNED`',
  '{{',
  '}}',
  'ü',
  '😀',
  '\t',
  ',',
  ':',
  '- ',
  '%',
  '\u2028',
];
const hostile = fc.oneof(
  fc.array(fc.constantFrom(...nasty, 'a', '/', 'x.y'), { minLength: 1, maxLength: 8 }).map((xs) => xs.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
);
const benign = (s: string) => Array.from(s, (c) => (/[A-Za-z0-9/*.]/.test(c) ? c : 'x')).join('');

function render(plan: Plan): RenderedFile[] | undefined {
  try {
    return renderAll(plan);
  } catch (e) {
    assert.ok(e instanceof Error, 'renderers refuse with an Error');
    return undefined; // refused: nothing is written
  }
}

function yamlShape(text: string): { maps: number; seqs: number; scalars: number; strings: Set<string>; keys: Set<string> } {
  const docs = parseAllDocuments(text);
  assert.equal(Array.isArray(docs) ? docs.length : 1, 1, 'one YAML document');
  const doc = (docs as any)[0];
  assert.equal(doc.errors.length, 0, String(doc.errors[0]));
  const out = { maps: 0, seqs: 0, scalars: 0, strings: new Set<string>(), keys: new Set<string>() };
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      out.seqs++;
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      out.maps++;
      for (const [k, x] of Object.entries(v)) {
        out.keys.add(k);
        walk(x);
      }
    } else {
      out.scalars++;
      if (typeof v === 'string') out.strings.add(v);
    }
  };
  walk(doc.toJS());
  return out;
}

/** Every variable the env file sets, as the real /bin/sh sees it after sourcing it. */
function sourced(dir: string, text: string): Record<string, string> {
  const f = join(dir, 'job.env');
  writeFileSync(f, text);
  assert.equal(spawnSync('sh', ['-n', f]).status, 0, 'sh -n passes');
  const names = [...text.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  const r = spawnSync('sh', ['-c', `. ./job.env; for v in ${names.join(' ')}; do eval "printf '%s\\\\0' \\"\\$$v\\""; done`], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, WHARF_REPO_DIR: '/repo' },
  });
  assert.equal(r.status, 0, r.stderr);
  const values = r.stdout.split('\0');
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

for (const v of variants) {
  test(`hostile strings in any plan field: ${v.id}`, () => {
    const { plan } = loadVariant(v);
    const leaves = stringLeaves(plan);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-escape-'));
    let checked = 0;
    try {
      fc.assert(
        fc.property(fc.nat(), hostile, (i, s) => {
          const path = leaves[i % leaves.length]!;
          const evil = `${mark}${s}`;
          const good = `${mark}${benign(s)}`;
          const a = render(setAt(plan, path, evil));
          const b = render(setAt(plan, path, good));
          if (!a || !b) return;
          checked++;
          assert.deepEqual(
            a.map((f) => f.path),
            b.map((f) => f.path),
            `${path.join('.')}: same files`,
          );
          for (let k = 0; k < a.length; k++) {
            const fa: { path: string; contents: string } = a[k]!,
              fb: { path: string; contents: string } = b[k]!;
            // A file the field does not reach is the same in both twins: nothing to compare
            // (both values carry the mark, so neither can be in it). Most files, most runs.
            if (fa.contents === fb.contents) continue;
            const where: string = `${path.join('.')} = ${JSON.stringify(evil)} in ${fa.path}`;
            if (/\.ya?ml$/.test(fa.path)) {
              const sa = yamlShape(fa.contents),
                sb = yamlShape(fb.contents);
              assert.deepEqual([sa.maps, sa.seqs, sa.scalars], [sb.maps, sb.seqs, sb.scalars], `${where}: YAML structure unchanged`);
              // where the twin's value is a whole scalar, the hostile value is too (Compose: $ as $$)
              const want = fa.path === 'compose.yaml' ? evil.replaceAll('$', '$$$$') : evil;
              // (service names are map keys, which Compose does not interpolate; mem_limit is lower-cased)
              if (sb.strings.has(fb.path === 'compose.yaml' ? good.replaceAll('$', '$$$$') : good) || sb.keys.has(good)) {
                assert.ok(sa.strings.has(want) || sa.keys.has(evil) || sa.strings.has(want.toLowerCase()), `${where}: value intact`);
              }
            } else if (fa.path.endsWith('haproxy.cfg')) {
              assert.equal(fa.contents.split('\n').length, fb.contents.split('\n').length, `${where}: line count`);
            } else if (fa.path.endsWith('.env') && fa.path.startsWith('backup/jobs/')) {
              const va = sourced(dir, fa.contents),
                vb = sourced(dir, fb.contents);
              assert.deepEqual(Object.keys(va), Object.keys(vb), `${where}: same variables`);
              for (const [n, x] of Object.entries(vb)) assert.equal(va[n], x.split(good).join(evil), `${where}: ${n} intact`);
            } else if (fa.path === 'backup/schedule') {
              assert.equal(fa.contents.split('\n').length, fb.contents.split('\n').length, `${where}: schedule lines`);
            }
          }
          assert.deepEqual(
            readdirSync(dir).filter((n) => n !== 'job.env'),
            [],
            'no command ran',
          );
        }),
        params,
      );
      assert.ok(checked > runs / 4, `most injections render (${checked}/${runs}); the rest were refused`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

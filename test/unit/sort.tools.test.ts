// Rendered output must not depend on the machine's locale: every sort is by code unit.
// The spec below has names where collation and code-unit order disagree (dash vs digit vs
// letter, env keys differing by case and underscore); it is rendered in child processes under
// several locales and every file must be byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { byCodeUnit } from '../../src/plan/sort.js';
import { repoRoot } from '../support/templates.js';

const names = ['ab', 'a-b', 'a1b', 'aab'];
// 'Iz'/'ia': Turkish collates I as dotless ı, before i; English puts 'ia' first
const envKeys = ['a_b', 'A_b', 'aB', 'Ab', '_x', 'Iz', 'ia'];

const renderScript = `
import { createHash } from 'node:crypto';
import { parseSpecText } from './src/spec/load.ts';
import { buildPlan } from './src/plan/build.ts';
import { renderAll } from './src/render/index.ts';
const names = ${JSON.stringify(names)};
const env = Object.fromEntries(${JSON.stringify(envKeys)}.map((k) => [k, 'v']));
const services = Object.fromEntries(names.map((n, i) => [n, { image: 'example/' + n + ':1', port: 3000 + i, env, routes: [{ host: n + '.tt.localhost' }] }]));
const spec = JSON.stringify({ name: 'tt', domain: 'tt.localhost', services, databases: { 'db-x': { engine: 'postgres' }, dbx: { engine: 'postgres' } } });
const r = parseSpecText(spec, 'wharf.json');
if (!r.stack) throw new Error(JSON.stringify(r.issues));
const files = renderAll(buildPlan(r.stack));
const h = createHash('sha256');
for (const f of files) h.update(f.path + '\\0' + f.contents + '\\0');
console.log(JSON.stringify({
  locale: Intl.DateTimeFormat().resolvedOptions().locale,
  digest: h.digest('hex'),
  files: files.length,
  localeOrder: [...names, ...${JSON.stringify(envKeys)}].sort((a, b) => a.localeCompare(b)),
  compose: files.find((f) => f.path === 'compose.yaml').contents,
}));
`;

function renderUnder(lc: string): { locale: string; digest: string; files: number; localeOrder: string[]; compose: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', renderScript], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: lc, LANG: lc },
    timeout: 120_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test('byCodeUnit is plain code-unit order, and differs from locale collation on these names', () => {
  const all = [...names, ...envKeys];
  assert.deepEqual([...all].sort(byCodeUnit), [...all].sort());
  assert.deepEqual([...all].sort(byCodeUnit), ['A_b', 'Ab', 'Iz', '_x', 'a-b', 'a1b', 'aB', 'a_b', 'aab', 'ab', 'ia']);
  assert.notDeepEqual(
    ['Iz', 'ia'].sort((a, b) => a.localeCompare(b, 'tr-TR')),
    ['Iz', 'ia'].sort((a, b) => a.localeCompare(b, 'en-US')),
  );
  const en = [...all].sort((a, b) => a.localeCompare(b, 'en-US'));
  assert.notDeepEqual(en, [...all].sort(byCodeUnit), 'the test names must be ones where collation differs');
  assert.equal(byCodeUnit('x', 'x'), 0);
});

test('rendered files are identical under C, en_US, tr_TR and sv_SE locales', () => {
  const runs = ['C.UTF-8', 'en_US.UTF-8', 'tr_TR.UTF-8', 'sv_SE.UTF-8'].map(renderUnder);
  // the child processes really ran with different collations...
  assert.ok(new Set(runs.map((r) => r.locale)).size >= 3, `locales seen: ${runs.map((r) => r.locale).join(', ')}`);
  assert.ok(
    runs.some((r) => JSON.stringify(r.localeOrder) !== JSON.stringify([...r.localeOrder].sort(byCodeUnit))),
    'localeCompare order differs from code-unit order',
  );
  // ...and rendered the same bytes
  assert.ok(runs[0]!.files > 5);
  for (const r of runs) assert.equal(r.digest, runs[0]!.digest, `output under ${r.locale} differs from ${runs[0]!.locale}`);
  // and the order is code-unit order: services, and each service's environment keys
  const compose = runs[0]!.compose;
  const at = (s: string) => {
    const i = compose.indexOf(s);
    assert.ok(i >= 0, `${s} not in compose.yaml`);
    return i;
  };
  const svc = names
    .map((n) => `\n  ${n}:\n`)
    .sort((a, b) => at(a) - at(b))
    .map((s) => s.trim().replace(/:$/, ''));
  assert.deepEqual(svc, [...names].sort(byCodeUnit));
  const block = compose.slice(at('\n  ab:\n'));
  const env = envKeys
    .map((k) => ({ k, i: block.indexOf(`      ${k}: `) }))
    .filter((x) => x.i >= 0)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.k);
  assert.deepEqual(env, [...envKeys].sort(byCodeUnit));
});

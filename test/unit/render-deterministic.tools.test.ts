// Rendering is deterministic across processes, not only within one: two separate Node processes
// render every template variant, and every file of every variant must be byte-identical. A
// second render in the same process would share module state (caches, counters, a seeded
// random) and could hide what differs between two runs of `wharf render`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot, variants } from '../support/templates.js';

const renderScript = `
import { renderAll } from './src/render/index.ts';
import { loadVariant, variants } from './test/support/templates.ts';
const out = {};
for (const v of variants) out[v.id] = Object.fromEntries(renderAll(loadVariant(v).plan).map((f) => [f.path, f.contents]));
process.stdout.write(JSON.stringify({ pid: process.pid, out }));
`;

async function renderInProcess(): Promise<{ pid: number; out: Record<string, Record<string, string>> }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', renderScript], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

test('render is deterministic: two separate processes render every variant byte for byte alike', async () => {
  const [a, b] = await Promise.all([renderInProcess(), renderInProcess()]);
  assert.notEqual(a.pid, b.pid);
  assert.deepEqual(Object.keys(a.out).sort(), variants.map((v) => v.id).sort());
  for (const v of variants) {
    assert.ok(Object.keys(a.out[v.id]!).length > 5, `${v.id} rendered files`);
    assert.deepEqual(Object.keys(b.out[v.id]!).sort(), Object.keys(a.out[v.id]!).sort(), `${v.id}: the same files`);
    for (const [path, contents] of Object.entries(a.out[v.id]!))
      assert.equal(b.out[v.id]![path], contents, `${v.id}/${path} differs between two processes`);
  }
});

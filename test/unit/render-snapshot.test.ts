// Every template's rendered files are pinned: a change to any renderer shows up
// here as a reviewable diff. Refresh with UPDATE_SNAPSHOTS=1. That two processes render the
// same bytes is render-deterministic.tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { renderAll } from '../../src/render/index.js';
import { loadVariant, repoRoot, variants } from '../support/templates.js';

const snapRoot = join(repoRoot, 'test', 'snapshots');
const update = process.env.UPDATE_SNAPSHOTS === '1';

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]);
}

for (const v of variants) {
  test(`snapshot: ${v.id}`, () => {
    const files = renderAll(loadVariant(v).plan);
    const dir = join(snapRoot, v.id);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const f of files) { mkdirSync(dirname(join(dir, f.path)), { recursive: true }); writeFileSync(join(dir, f.path), f.contents); }
    }
    const onDisk = listFiles(dir).map((p) => relative(dir, p)).sort();
    assert.deepEqual(files.map((f) => f.path).sort(), onDisk, `rendered file list of ${v.id} differs from test/snapshots/${v.id} (UPDATE_SNAPSHOTS=1 to accept)`);
    for (const f of files) assert.equal(f.contents, readFileSync(join(dir, f.path), 'utf8'), `${v.id}/${f.path} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept)`);
  });
}

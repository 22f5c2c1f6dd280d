// Every template's rendered files are pinned: a change to any renderer shows up
// here as a reviewable diff. Refresh with UPDATE_SNAPSHOTS=1. That two processes render the
// same bytes is render-deterministic.tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { renderAll } from '../../src/render/index.js';
import { scripts } from '../../src/render/backup/scripts.js';
import { loadVariant, repoRoot, variants } from '../support/templates.js';

const snapRoot = join(repoRoot, 'test', 'snapshots');
const update = process.env.UPDATE_SNAPSHOTS === '1';

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

// The backup scripts are text assets (src/render/backup/sh/), the same in every template: each
// tree must ship them unchanged, and a snapshot of them would only be a second copy of the
// sources. Each template's snapshot holds everything else.
const shared = (path: string) => /(^|\/)backup\/bin\/[^/]+\.sh$/.test(path);

for (const v of variants) {
  test(`snapshot: ${v.id}`, () => {
    const all = renderAll(loadVariant(v).plan);
    for (const f of all.filter((x) => shared(x.path))) {
      const name = f.path.split('/').pop()!;
      assert.equal(f.contents, scripts[name], `${v.id}/${f.path} is not the shipped script ${name}`);
    }
    const files = all.filter((f) => !shared(f.path));
    const dir = join(snapRoot, v.id);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.contents);
      }
    }
    const onDisk = listFiles(dir)
      .map((p) => relative(dir, p))
      .sort();
    assert.deepEqual(
      files.map((f) => f.path).sort(),
      onDisk,
      `rendered file list of ${v.id} differs from test/snapshots/${v.id} (UPDATE_SNAPSHOTS=1 to accept)`,
    );
    for (const f of files)
      assert.equal(
        f.contents,
        readFileSync(join(dir, f.path), 'utf8'),
        `${v.id}/${f.path} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept)`,
      );
  });
}

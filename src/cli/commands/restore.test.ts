// wharf restore --all through the CLI's boundary, in-process with a recording runner: a target
// beside --all, neither, a snapshot or scratch with --all, or a malformed --to is exit 2 with
// nothing run and the project unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirSnapshot, tempProject } from '../../../test/support/project.js';
import { templateText } from '../../../test/support/templates.js';
import { wharfInProcess } from '../../../test/support/cli-in-process.js';

const wharf = wharfInProcess;

test('wharf restore: --all with a target, no target without --all, --all with --snapshot/--to-scratch, a bad --to: exit 2, nothing run', async () => {
  const p = tempProject(templateText('api'));
  try {
    const before = dirSnapshot(p.dir);
    const cases: Array<[string[], RegExp]> = [
      [['restore', 'db', '--all'], /--all restores every backup: it takes no target \("db"\)/],
      [['restore'], /name what to restore, or pass --all/],
      [['restore', '--all', '--snapshot', 'abcdef12'], /--all restores each backup in place from its own snapshot/],
      [['restore', '--all', '--to-scratch'], /--all restores each backup in place from its own snapshot/],
      [['restore', '--all', '--to', 'yesterday'], /yesterday/],
    ];
    for (const [args, message] of cases) {
      const r = await wharf(p.spec, ...args, '--yes');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.text}`);
      assert.match(r.text, message);
      assert.deepEqual(r.calls, []);
    }
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

// A corrupt .wharf/state/revisions.json is an input error naming the file, never a raw
// JavaScript error and never the file's content. Temporary directories only: pure tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRevisions, recordRevision } from './revisions.js';
import { UserInputError } from '../spec/issues.js';

test('revisions.json that is not JSON, or not a map of lists: exit-2 error naming the file, content not shown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-revisions-'));
  try {
    mkdirSync(join(dir, '.wharf', 'state'), { recursive: true });
    for (const text of ['SECRET_TOKEN=ghp_0123456789', '{"api": 3}', '[]']) {
      writeFileSync(join(dir, '.wharf', 'state', 'revisions.json'), text);
      assert.throws(
        () => readRevisions(dir),
        (e: unknown) => e instanceof UserInputError && e.issues[0]!.path === '.wharf/state/revisions.json' && !/ghp_/.test(e.message),
        text,
      );
    }
    rmSync(join(dir, '.wharf', 'state', 'revisions.json'));
    const r = recordRevision(dir, 'api', { definition: { image: 'x' }, imageId: 'sha256:1', at: '2026-01-01T00:00:00Z' } as never);
    assert.equal(r.added, true);
    assert.deepEqual(Object.keys(readRevisions(dir)), ['api']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

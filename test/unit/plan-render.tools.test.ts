// wharf plan renders in memory exactly what up writes: the same files, byte for byte, on
// Compose and on Swarm (whose secret names carry the secrets' hashes), so a plan right after
// up compares equal definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepare } from '../../src/ops/prepare.js';
import { renderInMemory } from '../../src/ops/plan.js';
import { tempProject } from '../support/project.js';
import { loadVariant, variants } from '../support/templates.js';

for (const target of ['compose', 'swarm'] as const) {
  test(`the api template on ${target}: the plan's render in memory equals the files prepare writes`, async () => {
    const p = tempProject(loadVariant(variants.find((v) => v.id === 'api-haproxy')!).text);
    try {
      const render = target === 'compose' ? { composeKind: 'v2' as const } : undefined;
      const written = await prepare({ specPath: p.spec, target, render });
      const planned = await renderInMemory(written.plan, target, written.secretsDir, render);
      assert.deepEqual(
        planned.map((f) => [f.path, f.contents]),
        written.files.map((f) => [f.path, f.contents]),
      );
    } finally {
      p.cleanup();
    }
  });
}

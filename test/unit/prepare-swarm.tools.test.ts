// `wharf render --target swarm`: the stack file and configs in .wharf/swarm, secrets shared
// with the compose target, Swarm secret names carrying the hash of what is in the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { prepare } from '../../src/ops/prepare.js';
import { tempProject } from '../support/project.js';
import { loadVariant, repoRoot, variants } from '../support/templates.js';

test('GIVEN the api template WHEN prepared for swarm THEN .wharf/swarm holds a stack whose secrets are named by their content', async () => {
  const p = tempProject(loadVariant(variants.find((v) => v.id === 'api-haproxy')!).text);
  try {
    const a = await prepare({ specPath: p.spec, target: 'swarm' });
    assert.equal(a.outDir, join(p.dir, '.wharf', 'swarm'));
    assert.ok(!existsSync(join(p.dir, '.wharf', 'compose', 'compose.yaml')), 'the compose target is not written');
    const stack = parse(readFileSync(join(a.outDir, 'stack.yaml'), 'utf8')) as { secrets: Record<string, { file: string; name: string }> };
    for (const [key, s] of Object.entries(stack.secrets)) {
      const body = readFileSync(join(a.outDir, s.file));
      assert.equal(s.name, `shop_${key}_${createHash('sha256').update(body).digest('hex').slice(0, 8)}`);
    }
    // no secret value in any rendered file
    const values = readdirSync(a.secretsDir)
      .map((n) => readFileSync(join(a.secretsDir, n), 'utf8').trim())
      .filter((v) => v.length >= 16 && !v.includes('\n'));
    assert.ok(values.length >= 3);
    for (const f of a.files) for (const v of values) assert.ok(!f.contents.includes(v), `a secret value in ${f.path}`);
    // idempotent: same secrets, same names, nothing rewritten
    const b = await prepare({ specPath: p.spec, target: 'swarm' });
    assert.deepEqual(b.write.written, []);
    const cli = await execa(
      process.execPath,
      [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, 'src', 'cli', 'run.ts'), 'render', '--target', 'swarm'],
      { cwd: p.dir, reject: false, env: { NO_COLOR: '1' } },
    );
    assert.equal(cli.exitCode, 0, cli.stderr);
    assert.match(cli.stdout, /stack\.yaml\W+unchanged/);
    const bad = await execa(
      process.execPath,
      [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, 'src', 'cli', 'run.ts'), 'render', '--target', 'nomad'],
      { cwd: p.dir, reject: false, env: { NO_COLOR: '1' } },
    );
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /compose, swarm, k8s/);
  } finally {
    p.cleanup();
  }
});

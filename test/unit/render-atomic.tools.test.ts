// Nothing is written when a later step fails: the secrets are worked out in memory and written
// together, only after every input is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../support/templates.js';
import { dirSnapshot, tempProject } from '../support/project.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

const spec = parse(readFileSync(join(repoRoot, 'templates', 'api.yaml'), 'utf8'));

test('a user secret file that does not exist: exit 2, path named, and no secret generated or file written', async () => {
  const s = structuredClone(spec);
  s.secrets = { 'api-key': { file: './secrets/api-key.txt' } };
  s.services.api.secrets = ['api-key'];
  const p = tempProject(stringify(s));
  try {
    const before = dirSnapshot(p.dir);
    const r = await wharf(p.dir, 'render');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr + r.stdout, /secrets\.api-key\.file/);
    assert.match(r.stderr + r.stdout, /does not exist/);
    assert.deepEqual(dirSnapshot(p.dir), before);
    assert.ok(!existsSync(join(p.dir, '.wharf')), 'no .wharf directory');
  } finally {
    p.cleanup();
  }
});

test('after a good render, a later failing one leaves secrets and rendered files byte-identical', async () => {
  const p = tempProject(stringify(spec));
  try {
    assert.equal((await wharf(p.dir, 'render')).exitCode, 0);
    const before = dirSnapshot(p.dir);
    const s = structuredClone(spec);
    s.secrets = { 'api-key': { file: './nowhere.txt' } };
    s.services.api.secrets = ['api-key'];
    s.caches.cache2 = { engine: 'redis' }; // would generate a new password if secrets were written early
    s.services.api.uses = ['db', 'cache', 'cache2'];
    const specText = stringify(s);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p.spec, specText);
    before['wharf.yaml'] = dirSnapshot(p.dir)['wharf.yaml']!;
    const r = await wharf(p.dir, 'render');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

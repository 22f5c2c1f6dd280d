// Nothing is written when a later step fails: the secrets are worked out in memory and written
// together, only after every input is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../support/templates.js';
import { tempProject } from '../support/project.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

/** path -> sha256 of every file under dir (symlinked apps/ not followed). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) continue;
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${(statSync(p).mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

const spec = parse(readFileSync(join(repoRoot, 'templates', 'api.yaml'), 'utf8'));

test('a user secret file that does not exist: exit 2, path named, and no secret generated or file written', async () => {
  const s = structuredClone(spec);
  s.secrets = { 'api-key': { file: './secrets/api-key.txt' } };
  s.services.api.secrets = ['api-key'];
  const p = tempProject(stringify(s));
  try {
    const before = snapshot(p.dir);
    const r = await wharf(p.dir, 'render');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr + r.stdout, /secrets\.api-key\.file/);
    assert.match(r.stderr + r.stdout, /does not exist/);
    assert.deepEqual(snapshot(p.dir), before);
    assert.ok(!existsSync(join(p.dir, '.wharf')), 'no .wharf directory');
  } finally { p.cleanup(); }
});

test('after a good render, a later failing one leaves secrets and rendered files byte-identical', async () => {
  const p = tempProject(stringify(spec));
  try {
    assert.equal((await wharf(p.dir, 'render')).exitCode, 0);
    const before = snapshot(p.dir);
    const s = structuredClone(spec);
    s.secrets = { 'api-key': { file: './nowhere.txt' } };
    s.services.api.secrets = ['api-key'];
    s.caches.cache2 = { engine: 'redis' }; // would generate a new password if secrets were written early
    s.services.api.uses = ['db', 'cache', 'cache2'];
    const specText = stringify(s);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p.spec, specText);
    before['wharf.yaml'] = snapshot(p.dir)['wharf.yaml']!;
    const r = await wharf(p.dir, 'render');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.deepEqual(snapshot(p.dir), before);
  } finally { p.cleanup(); }
});

// wharf secrets export / import (issue 27) through the CLI: one age file round-trips every file of
// .wharf/secrets with its mode, holds no secret in plain text, opens with Debian's age binary
// (recipient mode), and an import never silently replaces different secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot, templateText } from '../../test/support/templates.js';
import { dirSnapshot, tempProject } from '../../test/support/project.js';
import { have, requireTool } from '../../test/support/tools.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1', ...env }, stdin: 'ignore' });
const pass = { WHARF_EXPORT_PASSPHRASE: 'correct horse battery staple' };

/** Every secret value, plain and as base64 (the bundle's encoding inside the encryption). */
function secretValues(dir: string): string[] {
  const snap = dirSnapshot(join(dir, '.wharf', 'secrets'));
  return Object.keys(snap)
    .filter((f) => !f.endsWith('/') && f !== '.gitignore')
    .flatMap((f) => {
      const b = readFileSync(join(dir, '.wharf', 'secrets', f));
      return [b.toString('utf8').trim(), b.toString('base64')].filter((v) => v.length >= 8);
    });
}

test('export with a passphrase, then import into an emptied project: every file and mode back, no secret in the file or any output', async () => {
  const p = tempProject(templateText('api'), 'wharf-export-');
  try {
    assert.equal((await wharf(p.dir, ['render'])).exitCode, 0);
    const secrets = join(p.dir, '.wharf', 'secrets');
    const before = dirSnapshot(secrets);
    const values = secretValues(p.dir);
    assert.ok(values.length > 10);
    const out = join(p.dir, 'stack.age');
    const e = await wharf(p.dir, ['secrets', 'export', '--out', out], pass);
    assert.equal(e.exitCode, 0, e.stderr);
    const file = readFileSync(out, 'utf8');
    assert.match(file, /^-----BEGIN AGE ENCRYPTED FILE-----/);
    for (const v of values) assert.ok(!`${file}${e.stdout}${e.stderr}`.includes(v), 'a secret value in the export or its output');
    assert.equal((await wharf(p.dir, ['secrets', 'export', '--out', out], pass)).exitCode, 2, 'an existing file is never overwritten');
    rmSync(secrets, { recursive: true });
    const wrong = await wharf(p.dir, ['secrets', 'import', out], { WHARF_EXPORT_PASSPHRASE: 'not the passphrase' });
    assert.equal(wrong.exitCode, 2);
    assert.match(wrong.stderr, /cannot be decrypted/);
    const i = await wharf(p.dir, ['secrets', 'import', out], pass);
    assert.equal(i.exitCode, 0, i.stderr);
    for (const v of values) assert.ok(!`${i.stdout}${i.stderr}`.includes(v), 'a secret value in the import output');
    assert.deepEqual(dirSnapshot(secrets), before);
  } finally {
    p.cleanup();
  }
});

test(
  'export to an age recipient opens with the age binary; import with the identity refuses different secrets unless --force',
  { skip: requireTool(have('age', ['--version']) && have('age-keygen', ['--version']), 'age') },
  async () => {
    const p = tempProject(templateText('api'), 'wharf-export-');
    try {
      assert.equal((await wharf(p.dir, ['render'])).exitCode, 0);
      const key = join(p.dir, 'key.txt');
      execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
      const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
      const out = join(p.dir, 'stack.age');
      assert.equal((await wharf(p.dir, ['secrets', 'export', '--out', out, '--recipient', recipient])).exitCode, 0);
      const bundle = JSON.parse(execFileSync('age', ['-d', '-i', key, out], { encoding: 'utf8' }));
      const restic = readFileSync(join(p.dir, '.wharf', 'secrets', 'backup-restic-password'));
      assert.equal(bundle.files['backup-restic-password'].base64, restic.toString('base64'), 'the restic password is in the bundle');
      assert.match(bundle.specHash, /^[0-9a-f]{64}$/);
      // the stack here got other secrets meanwhile: refused, nothing changed; --force replaces them
      const secrets = join(p.dir, '.wharf', 'secrets');
      renameSync(secrets, join(p.dir, 'old'));
      assert.equal((await wharf(p.dir, ['render'])).exitCode, 0);
      const fresh = dirSnapshot(secrets);
      const refused = await wharf(p.dir, ['secrets', 'import', out, '--identity', key]);
      assert.equal(refused.exitCode, 2, refused.stderr);
      assert.match(refused.stderr, /differ from the export: .*db-password.*nothing imported/);
      assert.deepEqual(dirSnapshot(secrets), fresh);
      assert.equal((await wharf(p.dir, ['secrets', 'import', out, '--identity', key, '--force'])).exitCode, 0);
      assert.deepEqual(dirSnapshot(secrets), dirSnapshot(join(p.dir, 'old')));
      writeFileSync(out, 'not an age file\n');
      assert.equal((await wharf(p.dir, ['secrets', 'import', out, '--identity', key])).exitCode, 2);
    } finally {
      p.cleanup();
    }
  },
);

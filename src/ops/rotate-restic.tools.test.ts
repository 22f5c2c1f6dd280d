// The restic steps of a password rotation (rotate-commands.ts), run by the real restic against a
// repository in a temp directory, as the backup container runs them: the old password from
// RESTIC_PASSWORD_FILE, the new one only on stdin. Afterwards the old password is refused and a
// backup made before the rotation restores with the new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmd } from '../engine/command.js';
import { run } from '../engine/run.js';
import { randomSecret } from '../secrets/generate.js';
import { currentKey, noRepository, resticSteps } from './rotate-commands.js';

const missing = (await run(cmd(['restic', 'version'], 'restic version'), { reject: false }).catch(() => undefined))?.exitCode !== 0;
if (missing && process.env.CI === 'true') throw new Error('CI=true and restic is not installed (scripts/requirements-test.txt)');

test(
  'restic rotation: a new key opens the repository, the old key is removed, the old backup restores with the new password',
  { skip: missing && 'restic not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-rotate-restic-'));
    try {
      const repo = join(dir, 'repo');
      const old = randomSecret(48);
      const next = randomSecret(48);
      writeFileSync(join(dir, 'old'), old);
      writeFileSync(join(dir, 'data.txt'), 'before the rotation\n');
      const env = { RESTIC_PASSWORD_FILE: join(dir, 'old'), RESTIC_CACHE_DIR: join(dir, 'cache') };
      const ok = (r: { exitCode: number; stderr: string }) => assert.equal(r.exitCode, 0, r.stderr);
      const restic = (argv: string[], input?: string) =>
        run(cmd(argv, argv.slice(3).join(' '), { env, input, cwd: dir, redact: [old, next] }), { reject: false });
      assert.ok(noRepository((await restic(resticSteps.list(repo), old)).stderr), 'a repository never initialised is told apart');
      ok(await restic(['restic', '-r', repo, 'init']));
      ok(await restic(['restic', '-r', repo, 'backup', 'data.txt']));

      const listed = await restic(resticSteps.list(repo), old);
      const oldId = currentKey(listed.stdout);
      assert.ok(oldId);
      ok(await restic(resticSteps.add(repo, join(dir, 'old')), next));
      const opened = await restic(resticSteps.open(repo), next);
      const newId = currentKey(opened.stdout);
      assert.ok(newId && newId !== oldId, opened.stderr);
      ok(await restic(resticSteps.remove(repo, oldId), next));

      assert.notEqual((await restic(['restic', '-r', repo, 'cat', 'config'])).exitCode, 0, 'the old password is refused');
      const keys = JSON.parse((await restic(resticSteps.open(repo), next)).stdout) as Array<{ id: string }>;
      assert.deepEqual(
        keys.map((k) => k.id),
        [newId],
      );
      const restored = await restic(
        [
          'sh',
          '-c',
          'cat | "$@"',
          'x',
          'restic',
          '-r',
          repo,
          '--password-file',
          '/dev/stdin',
          'restore',
          'latest',
          '--target',
          join(dir, 'out'),
        ],
        next,
      );
      assert.equal(restored.exitCode, 0, restored.stderr);
      assert.equal(readFileSync(join(dir, 'out', 'data.txt'), 'utf8'), 'before the rotation\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

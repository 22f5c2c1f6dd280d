// Why .wharf/secrets files are 0644 inside a 0700 directory (issue 22), checked against the
// Compose installed here: outside Swarm, Compose bind-mounts a file secret with its host owner
// and mode and ignores the long syntax's uid/gid/mode (it warns), so a 0600 file is unreadable to
// a non-root service. The day Compose honours them, the first test fails: tighten FILE_MODE then.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { BASE_IMAGE, requireDocker } from '../engine/testing/tiny-stack.js';

const skip = await requireDocker();
const dir = mkdtempSync(join(tmpdir(), 'wharf-secret-modes-'));
const project = `wharf-secret-modes-${process.pid}`;
after(async () => {
  await execa('docker', ['compose', '-p', project, 'down', '-t', '0'], { cwd: dir, reject: false });
  rmSync(dir, { recursive: true, force: true });
});

/** A one-shot service, as a non-root user, reading its secret; the exit code and what it printed. */
async function readAs(secret: { file: string; mode: number }, long: boolean) {
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  chmodSync(secrets, 0o700);
  writeFileSync(join(secrets, secret.file), 'not-a-real-secret\n');
  chmodSync(join(secrets, secret.file), secret.mode);
  const source = secret.file;
  const doc = {
    services: {
      reader: {
        image: BASE_IMAGE,
        user: '65534:65534',
        command: ['sh', '-c', `stat -c '%a %u' /run/secrets/${source}; cat /run/secrets/${source}`],
        secrets: [long ? { source, uid: '65534', gid: '65534', mode: 0o400 } : source],
      },
    },
    secrets: { [source]: { file: `./secrets/${source}` } },
  };
  writeFileSync(join(dir, 'compose.yaml'), stringify(doc));
  return execa('docker', ['compose', '-p', project, 'run', '--rm', '--no-deps', 'reader'], { cwd: dir, reject: false });
}

test(
  'Compose ignores uid/gid/mode on a file secret: a 0600 file stays 0600 owned by its host user, unreadable to uid 65534',
  { skip, timeout: 120_000 },
  async () => {
    const r = await readAs({ file: 'private', mode: 0o600 }, true);
    assert.match(r.stderr, /secrets `uid`, `gid` and `mode` are not supported, they will be ignored/);
    assert.match(r.stdout, new RegExp(`^600 ${process.getuid!()}$`, 'm'));
    assert.match(r.stderr, /Permission denied/);
    assert.notEqual(r.exitCode, 0);
  },
);

test(
  'what wharf writes: a 0644 file in the 0700 secrets directory is readable by a non-root service',
  { skip, timeout: 120_000 },
  async () => {
    const r = await readAs({ file: 'shared', mode: 0o644 }, false);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^644 /m);
    assert.match(r.stdout, /not-a-real-secret/);
  },
);

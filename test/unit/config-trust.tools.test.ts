// A wharf.config.ts is a program run with the user's rights (issue 22): one that another user
// could have changed is not run, and what it starts in its process group ends with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pWaitFor from 'p-wait-for';
import { evaluateConfig } from '../../src/spec/config-file.js';

function project(source: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-config-trust-'));
  const file = join(dir, 'wharf.config.ts');
  writeFileSync(file, source(dir), { mode: 0o644 });
  chmodSync(file, 0o644);
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie waiting for its reaper has ended already
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
};

test('a config that its group or every user can change is not run: refused with the reason and the fix', async () => {
  const p = project(
    (dir) => `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(join(dir, 'MARK'))}, 'ran');\nexport default {};\n`,
  );
  try {
    const refused = async (mode: number, who: string) => {
      chmodSync(p.file, mode);
      const r = await evaluateConfig(p.file);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.message, new RegExp(`can be changed by ${who} \\(mode ${mode.toString(8)}\\): not run`));
      assert.match(r.ok ? '' : (r.hint ?? ''), /chmod go-w wharf\.config\.ts/);
      assert.equal(existsSync(join(p.dir, 'MARK')), false);
    };
    await refused(0o666, 'every user');
    // Group-writable in a group with others in it (nogroup stands for one); only root can hand a file to it.
    if (process.getuid?.() === 0) {
      chownSync(p.file, 0, 65534);
      await refused(0o664, 'its group');
      chownSync(p.file, 0, 0);
    }
    chmodSync(p.file, 0o644);
    assert.deepEqual(await evaluateConfig(p.file), { ok: true, value: {} });
  } finally {
    p.cleanup();
  }
});

test('what a config starts in its process group ends with it: a child left running is killed once the config exits, and on timeout', async () => {
  for (const hang of [false, true]) {
    const p = project((dir) =>
      [
        "import { spawn } from 'node:child_process';",
        "import { writeFileSync } from 'node:fs';",
        "const c = spawn('sleep', ['300'], { stdio: 'ignore' });",
        `writeFileSync(${JSON.stringify(join(dir, 'PID'))}, String(c.pid));`,
        hang ? 'while (true) {}' : '',
        'export default {};',
      ].join('\n'),
    );
    try {
      const r = await evaluateConfig(p.file, { timeoutMs: 3000 });
      assert.equal(r.ok, !hang, JSON.stringify(r));
      const pid = Number(readFileSync(join(p.dir, 'PID'), 'utf8'));
      // SIGKILL is sent at once; on a loaded machine the kernel may take a moment to end it
      const gone = await pWaitFor(() => !alive(pid), { interval: 100, timeout: 5000 }).then(
        () => true,
        () => false,
      );
      assert.equal(gone, true, `sleep ${pid} outlived the config (hang: ${hang})`);
    } finally {
      p.cleanup();
    }
  }
});

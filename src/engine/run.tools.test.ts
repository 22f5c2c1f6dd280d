import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd } from './command.js';
import { CommandError, recordingRunner, run } from './run.js';
import { detectCompose, ComposeNotFoundError, parseComposeVersion } from './detect.js';

const node = process.execPath;

test('run captures stdout/stderr, streams lines, and passes env and input', async () => {
  const lines: string[] = [];
  const r = await run(
    cmd(
      [
        node,
        '-e',
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log("a");console.error("b");console.log(process.env.W_X+":"+s)})',
      ],
      'echo',
      { env: { W_X: 'x1' }, input: 'in' },
    ),
    { onLine: (l, s) => lines.push(`${s}:${l}`) },
  );
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'a\nx1:in');
  assert.equal(r.stderr, 'b');
  assert.deepEqual(lines.sort(), ['stderr:b', 'stdout:a', 'stdout:x1:in']);
});

test('run masks secret values in captured output, streamed lines and errors', async () => {
  const secret = 'pa55-w0rd-xyz';
  const lines: string[] = [];
  const c = cmd([node, '-e', `console.log("pw=${secret}");console.error("bad ${secret}");process.exit(3)`], 'leaky tool', {
    redact: [secret],
  });
  const r = await run(c, { reject: false, onLine: (l) => lines.push(l) });
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout, 'pw=***');
  assert.ok(lines.every((l) => !l.includes(secret)));
  await assert.rejects(run(c), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.match(e.message, /leaky tool failed \(exit 3\)/);
    assert.ok(!e.message.includes(secret));
    return true;
  });
});

test('a missing program is exit 127 with a clear message; a slow one times out', async () => {
  const r = await run(cmd(['wharf-no-such-program-x'], 'missing'), { reject: false });
  assert.equal(r.exitCode, 127);
  assert.match(r.stderr, /command not found|ENOENT/);
  const gone = await run(cmd([node, '-e', '0'], 'in a missing dir', { cwd: '/nonexistent/wharf-dir' }), { reject: false });
  assert.equal(gone.stderr, 'working directory /nonexistent/wharf-dir does not exist');
  const t = await run(cmd([node, '-e', 'setTimeout(()=>{},10000)'], 'slow', { timeoutMs: 200 }), { reject: false });
  assert.equal(t.timedOut, true);
  assert.notEqual(t.exitCode, 0);
});

test('detectCompose prefers v2 and falls back to v1, recorded without running anything', async () => {
  const onlyV1 = recordingRunner((c) =>
    c.argv[0] === 'docker'
      ? { exitCode: 1, stderr: "docker: 'compose' is not a docker command." }
      : { stdout: 'docker-compose version 1.29.2, build unknown' },
  );
  assert.deepEqual(await detectCompose(onlyV1.runner), { kind: 'v1', argv: ['docker-compose'], version: '1.29.2' });
  assert.deepEqual(
    onlyV1.calls.map((c) => c.argv.join(' ')),
    ['docker compose version', 'docker-compose version'],
  );
  const both = recordingRunner(() => ({ stdout: 'Docker Compose version v2.26.1' }));
  assert.equal((await detectCompose(both.runner)).kind, 'v2');
  assert.equal((await detectCompose(both.runner, 'v1')).kind, 'v1');
  const none = recordingRunner(() => ({ exitCode: 127 }));
  await assert.rejects(detectCompose(none.runner), ComposeNotFoundError);
  assert.equal(parseComposeVersion('Docker Compose version 2.26.1-4'), '2.26.1-4');
});

test('detectCompose finds a real Compose on this machine', async (t) => {
  const c = await detectCompose().catch((e: Error) => e);
  if (c instanceof Error) {
    if (process.env.CI === 'true') throw c;
    t.skip(c.message);
    return;
  }
  assert.match(c.version, /^\d+\.\d+\.\d+/);
});

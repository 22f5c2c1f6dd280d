// The in-container probes run under a real sh here: hostile values arrive as data, never as script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGetScript, httpPostJsonScript, resolveScript, tcpConnectScript } from './docker.js';

const runArgv = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });

test('hostile values reach the probe as arguments: nothing they contain runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-probe-'));
  const marker = join(dir, 'pwned');
  try {
    const evil = [
      `x;touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `x'; touch ${marker}; '`,
      `x"; touch ${marker}; "`,
      `x\ntouch ${marker}`,
    ];
    for (const v of evil) {
      runArgv(resolveScript(v));
      runArgv(tcpConnectScript(v, 1));
      runArgv(httpGetScript(`http://127.0.0.1:1/${v}`));
      runArgv(httpPostJsonScript(`http://127.0.0.1:1/${v}`, v));
      assert.ok(!existsSync(marker), `ran a command from ${JSON.stringify(v)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the probes still work: GET with a query string, TCP connect, and resolving localhost', async () => {
  const srv = createServer((req, res) => {
    res.end(`got ${req.url}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const { execa } = await import('execa');
    const argv = httpGetScript(`http://127.0.0.1:${port}/health?a=1&b=2`);
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: 20_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'got /health?a=1&b=2');
    const t = tcpConnectScript('127.0.0.1', port);
    assert.equal((await execa(t[0]!, t.slice(1), { reject: false, timeout: 20_000 })).exitCode, 0);
    const closed = tcpConnectScript('127.0.0.1', 1);
    assert.notEqual((await execa(closed[0]!, closed.slice(1), { reject: false, timeout: 20_000 })).exitCode, 0);
    const n = resolveScript('localhost');
    const res = await execa(n[0]!, n.slice(1), { reject: false, timeout: 20_000 });
    assert.equal(res.exitCode, 0, res.stderr);
    assert.match(res.stdout, /127\.0\.0\.1|::1/);
  } finally {
    srv.close();
  }
});

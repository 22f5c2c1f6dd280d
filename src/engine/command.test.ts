import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, formatCmd, redact } from './command.js';

test('formatCmd shows env keys but never their values, and quotes argv for a shell', () => {
  const c = cmd(['docker', 'exec', 'x', 'sh', '-c', "echo 'hi' && true"], 'demo', {
    env: { DB_PASSWORD: 's3cr3t-value', A: '1' },
    cwd: '/tmp/a b',
  });
  const s = formatCmd(c);
  assert.equal(s, `(cd '/tmp/a b' && A=*** DB_PASSWORD=*** docker exec x sh -c 'echo '\\''hi'\\'' && true')`);
  assert.ok(!s.includes('s3cr3t-value'));
});

test('redact masks every occurrence of each secret, and ignores values too short to be secrets', () => {
  assert.equal(redact('pw=hunter22 again hunter22', ['hunter22']), 'pw=*** again ***');
  assert.equal(redact('port 5432', ['5432']), 'port 5432');
  assert.equal(redact('x', undefined), 'x');
});

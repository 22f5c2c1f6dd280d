// Generated secrets: CSPRNG values, derived files that the real consumers accept
// (Redis ACL, openssl-readable certificate, bcrypt htpasswd), idempotent runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { execa } from 'execa';
import { ensureSecrets, randomSecret } from '../../src/secrets/generate.js';
import { loadVariant } from '../support/templates.js';
import { have, requireTool } from '../support/tools.js';

test('randomSecret: requested length, URL-safe alphabet, no repeats', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = randomSecret(32);
    assert.match(s, /^[A-Za-z0-9]{32}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 200);
});

test('ensureSecrets: modes, idempotence, derived files rebuilt only when their inputs change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-secrets-'));
  try {
    const { plan } = loadVariant({ template: 'api' });
    const first = await ensureSecrets(plan, join(dir, 's'), dir);
    assert.equal(statSync(join(dir, 's')).mode & 0o777, 0o700);
    assert.deepEqual(first.created.sort(), plan.secrets.map((s) => s.name).sort());
    const before = Object.fromEntries(plan.secrets.map((s) => [s.name, readFileSync(join(dir, 's', s.name), 'utf8')]));
    const second = await ensureSecrets(plan, join(dir, 's'), dir);
    assert.deepEqual(second.created, []);
    for (const s of plan.secrets) assert.equal(readFileSync(join(dir, 's', s.name), 'utf8'), before[s.name]);

    const pw = readFileSync(join(dir, 's', 'edge-admin-password'), 'utf8');
    const [user, hash] = readFileSync(join(dir, 's', 'edge-htpasswd'), 'utf8')
      .trim()
      .split(':');
    assert.equal(user, 'admin');
    assert.ok(bcrypt.compareSync(pw, hash!));
    assert.ok(
      !readFileSync(join(dir, 's', 'cache-acl'), 'utf8').includes(readFileSync(join(dir, 's', 'cache-password'), 'utf8')),
      'the ACL file stores a hash',
    );

    // Rotating a password rebuilds what derives from it.
    writeFileSync(join(dir, 's', 'cache-password'), randomSecret(32));
    const third = await ensureSecrets(plan, join(dir, 's'), dir);
    assert.deepEqual(third.created.sort(), ['cache-acl', 'cache-exporter-passwords', 'cache-url']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'self-signed certificate covers every routed host and matches its key',
  { skip: requireTool(have('openssl', ['version']), 'openssl') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-secrets-'));
    try {
      const { plan } = loadVariant({ template: 'api' });
      await ensureSecrets(plan, dir, dir);
      const text = (await execa('openssl', ['x509', '-in', join(dir, 'edge-tls-cert'), '-noout', '-text'])).stdout;
      for (const r of plan.routes) assert.ok(text.includes(`DNS:${r.host}`), `certificate lacks ${r.host}`);
      const certPub = (await execa('openssl', ['x509', '-in', join(dir, 'edge-tls-cert'), '-noout', '-pubkey'])).stdout;
      const keyPub = (await execa('openssl', ['pkey', '-in', join(dir, 'edge-tls-key'), '-pubout'])).stdout;
      assert.equal(certPub, keyPub);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test(
  'the generated Redis ACL file is accepted by redis-server and only the generated password works',
  { skip: requireTool(have('redis-server', ['--version']), 'redis-server') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-secrets-'));
    const port = await freePort();
    const { plan } = loadVariant({ template: 'api' });
    await ensureSecrets(plan, dir, dir);
    const server = execa(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--aclfile', join(dir, 'cache-acl')],
      { reject: false },
    );
    try {
      const cli = (auth: string | undefined) =>
        execa('redis-cli', ['-p', String(port), 'ping'], { reject: false, env: auth ? { REDISCLI_AUTH: auth } : {} });
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        ok = (await cli(readFileSync(join(dir, 'cache-password'), 'utf8'))).stdout.includes('PONG');
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, 'generated password authenticates');
      assert.match((await cli(undefined)).stdout, /NOAUTH/);
      assert.match((await cli('wrong-password')).stdout + (await cli('wrong-password')).stderr, /WRONGPASS|invalid/i);
    } finally {
      server.kill('SIGTERM');
      await server;
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

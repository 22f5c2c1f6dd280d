// The haproxy tests' harness: the real HAProxy and openssl, a temp directory, the test
// certificate and userlist, and the test copy of a rendered config (secret paths, ports, DNS).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../src/plan/model.js';
import { userlistName } from '../../src/render/haproxy/index.js';

export const haproxyOk = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
export const opensslOk = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
export function skipReason(): string | undefined {
  const missing = [!haproxyOk && 'haproxy', !opensslOk && 'openssl'].filter(Boolean).join(', ');
  if (!missing) return undefined;
  if (process.env.CI === 'true') throw new Error(`${missing} required in CI`);
  return `${missing} not installed`;
}

export const work = mkdtempSync(join(tmpdir(), 'wharf-haproxy-'));
export const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

export const testPassword = 'edge-test-only';
let material: { pem: string; userlist: (list: string) => string } | undefined;
export function testMaterial() {
  if (material) return material;
  const key = join(work, 'key.pem');
  const cert = join(work, 'cert.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=wharf-test',
      '-addext',
      'subjectAltName=DNS:*.localhost',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const pem = join(work, 'edge-tls-pem');
  const cat = spawnSync('sh', ['-c', `cat "${cert}" "${key}" > "${pem}"`]);
  assert.equal(cat.status, 0);
  const hash = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: testPassword, encoding: 'utf8' });
  assert.equal(hash.status, 0, hash.stderr);
  material = {
    pem,
    userlist: (list) => {
      const f = join(work, `userlist-${list}`);
      writeFileSync(f, `userlist ${list}\n  user admin password ${hash.stdout.trim()}\n`);
      return f;
    },
  };
  return material;
}

/** The test copy: secret paths to the temp files, optionally ports and DNS rewritten. */
export function testCopy(cfg: string, plan: Plan, ports?: Map<number, number>, dns?: string): string {
  let out = cfg.replaceAll(`/run/secrets/${plan.tls.pemSecret}`, testMaterial().pem);
  if (ports)
    out = out.replace(
      /^(\s+bind) :(\d+)/gm,
      (_, b: string, p: string) => `${b} 127.0.0.1:${ports.get(Number(p)) ?? assert.fail(`no port for ${p}`)}`,
    );
  if (dns) out = out.replace('nameserver docker 127.0.0.11:53', `nameserver docker ${dns}`);
  return out;
}

/** The plan with the proxy's scrape port changed (the exporter follows the plan). */
export function withMetricsPort(plan: Plan, port: number): Plan {
  return {
    ...plan,
    components: plan.components.map((c) => (c.name === plan.proxy.component && c.metrics ? { ...c, metrics: { ...c.metrics, port } } : c)),
  };
}

export function check(cfg: string, plan: Plan, name: string) {
  const f = join(work, `${name.replace(/\W/g, '_')}.cfg`);
  writeFileSync(f, testCopy(cfg, plan));
  return spawnSync('haproxy', ['-c', '-f', f, '-f', testMaterial().userlist(userlistName(plan))], { encoding: 'utf8' });
}

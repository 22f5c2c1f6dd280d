// storage.minio: MinIO as the stack's S3 store for backups. Rendered for Compose and Swarm and
// checked by the real `docker compose config` / `docker stack config` (no MinIO image can be
// obtained here, so it never runs; the S3 contract is exercised live by backup-s3.e2e).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { buildPlan } from '../../src/plan/build.js';
import { renderAll } from '../../src/render/index.js';
import { renderJobEnv } from '../../src/render/backup/index.js';
import { parseSpecText } from '../../src/spec/load.js';

const spec = `name: mn
domain: mn.localhost
databases:
  db:
    engine: postgres
    backup: { destination: { type: minio } }
storage:
  minio: { bucket: shop-backups }
monitoring: { enabled: false }
`;

function plan(text = spec) {
  const r = parseSpecText(text);
  assert.ok(r.stack, JSON.stringify(r.issues));
  return buildPlan(r.stack, { secretsDir: '../secrets', projectDir: '../..' });
}

test('GIVEN storage.minio WHEN planned THEN a pinned MinIO on the backend network, keys from files, and the backup pointed at it', () => {
  const p = plan();
  const m = p.components.find((c) => c.name === 'minio')!;
  assert.match(m.image, /^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
  assert.deepEqual(m.networks, ['backend']);
  assert.deepEqual(m.ports, []);
  assert.deepEqual(m.env, {
    MINIO_BROWSER: 'off',
    MINIO_ROOT_PASSWORD_FILE: 'minio-root-password',
    MINIO_ROOT_USER_FILE: 'minio-root-user',
  });
  assert.deepEqual(m.healthcheck?.probe, { kind: 'exec', command: ['mc', 'ready', 'local'] });
  assert.deepEqual(m.placement, { kind: 'node-label', label: 'wharf.db' });
  const job = p.backups.find((j) => j.name === 'db')!;
  assert.deepEqual(job.destination, {
    type: 's3',
    endpoint: 'http://minio:9000',
    bucket: 'shop-backups',
    accessKeySecret: 'minio-root-user',
    secretKeySecret: 'minio-root-password',
  });
  assert.match(renderJobEnv(p, job), /^REPOSITORY='s3:http:\/\/minio:9000\/shop-backups\/db'$/m);
  const b = p.components.find((c) => c.name === 'backup')!;
  assert.deepEqual(b.networks, ['backend'], 'no way out needed for the in-stack store');
  assert.ok(b.dependsOn.some((d) => d.name === 'minio' && d.on === 'ready'));
  assert.ok(b.secrets.some((s) => s.secret === 'minio-root-password'));
  assert.ok(!Object.keys(b.env).some((k) => k.startsWith('AWS_')));
});

test('GIVEN destination minio without storage.minio THEN a path-named error', () => {
  const r = parseSpecText(spec.replace(/storage:\n {2}minio: \{ bucket: shop-backups \}\n/, ''));
  assert.equal(r.stack, undefined);
  assert.ok(
    r.issues.some((i) => i.path === 'databases.db.backup.destination.type' && /no MinIO/.test(i.message)),
    JSON.stringify(r.issues),
  );
});

test('GIVEN an S3 endpoint with credentials or a path THEN refused by path', () => {
  for (const endpoint of ['http://AK:SK@s3.example.com', 'https://s3.example.com/bucket', 'ftp://s3.example.com']) {
    const r = parseSpecText(
      spec
        .replace('{ type: minio }', `{ type: s3, endpoint: "${endpoint}", bucket: b1b, accessKeySecret: ak, secretKeySecret: sk }`)
        .replace('storage:', 'secrets: { ak: { generate: true }, sk: { generate: true } }\nstorage:'),
    );
    assert.ok(
      r.issues.some((i) => i.path === 'databases.db.backup.destination.endpoint'),
      `${endpoint}: ${JSON.stringify(r.issues)}`,
    );
  }
});

test('GIVEN an S3 destination timeout THEN the job env gives the probe that many whole seconds; none THEN the script default', () => {
  const s3 = (extra: string) =>
    spec
      .replace(
        '{ type: minio }',
        `{ type: s3, endpoint: "https://s3.example.com", bucket: b1b, accessKeySecret: ak, secretKeySecret: sk${extra} }`,
      )
      .replace('storage:', 'secrets: { ak: { generate: true }, sk: { generate: true } }\nstorage:');
  const env = (text: string) => {
    const p = plan(text);
    return renderJobEnv(
      p,
      p.backups.find((j) => j.name === 'db')!,
    );
  };
  assert.match(env(s3(', timeout: 10s')), /^WHARF_REPO_TIMEOUT=10$/m);
  assert.match(env(s3(', timeout: 1500ms')), /^WHARF_REPO_TIMEOUT=2$/m);
  assert.doesNotMatch(env(s3('')), /WHARF_REPO_TIMEOUT/);
  assert.doesNotMatch(env(spec), /WHARF_REPO_TIMEOUT/);
  for (const bad of ['0s', '500ms', 'soon']) {
    const r = parseSpecText(s3(`, timeout: ${bad}`));
    assert.ok(
      r.issues.some((i) => i.path === 'databases.db.backup.destination.timeout'),
      `${bad}: ${JSON.stringify(r.issues)}`,
    );
  }
});

for (const target of ['compose', 'swarm'] as const) {
  test(`docker ${target === 'compose' ? 'compose' : 'stack'} config accepts the MinIO stack (${target})`, async () => {
    const p = plan();
    const files = renderAll(
      p,
      target,
      target === 'swarm' ? { secretHashes: Object.fromEntries(p.secrets.map((s) => [s.name, `h${s.name.length}`])) } : undefined,
    );
    const root = mkdtempSync(join(tmpdir(), 'wharf-minio-'));
    try {
      const out = join(root, '.wharf', target);
      for (const f of files) {
        mkdirSync(dirname(join(out, f.path)), { recursive: true });
        writeFileSync(join(out, f.path), f.contents);
      }
      mkdirSync(join(out, p.paths.secretsDir), { recursive: true });
      for (const s of p.secrets) writeFileSync(join(out, p.paths.secretsDir, s.name), `test-secret:${s.name}`);
      const file =
        target === 'compose' ? 'compose.yaml' : files.find((f) => f.path.endsWith('.yaml') && /services:/.test(f.contents))!.path;
      const args = target === 'compose' ? ['compose', '-p', 'mn', '-f', file, 'config'] : ['stack', 'config', '-c', file];
      const r = await execa('docker', args, { cwd: out, reject: false, env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
      assert.equal(r.exitCode, 0, r.stderr);
      const m = (parse(r.stdout) as { services: Record<string, any> }).services.minio;
      assert.ok(m, 'minio service rendered');
      assert.equal(m.ports, undefined, 'not published');
      assert.deepEqual(m.secrets.map((s: { source: string }) => s.source).sort(), ['minio-root-password', 'minio-root-user']);
      if (target === 'swarm') assert.deepEqual(m.deploy.placement.constraints, ['node.labels.wharf.db == true']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

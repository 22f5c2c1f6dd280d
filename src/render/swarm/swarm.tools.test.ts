// The Swarm target: a snapshot of what it renders differently from Compose, the
// compose-spec JSON Schema, and the real `docker stack config` on every template.
// Refresh snapshots with UPDATE_SNAPSHOTS=1.
import { testMaterial } from '../../../test/support/haproxy.js';
import { userlistName } from '../haproxy/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { parse } from 'yaml';
import { renderAll } from '../index.js';
import type { Plan } from '../../plan/model.js';
import { objectName, STACK_FILE } from './index.js';
import { healthWindow, safeOrder as updateOrder, seconds } from '../../plan/placement.js';
import { loadVariant, repoRoot, variants } from '../../../test/support/templates.js';
import { deepCopy } from '../../plan/copy.js';

const snapRoot = join(repoRoot, 'test', 'snapshots', 'swarm');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Stand-in secret contents: the renderer only sees their hashes. */
function secretHashes(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.secrets.map((s) => [s.name, createHash('sha256').update(`test-secret:${s.name}`).digest('hex')]));
}

function renderSwarmVariant(id: string) {
  const v = variants.find((x) => x.id === id)!;
  const { plan } = loadVariant(v);
  return { plan, files: renderAll(plan, 'swarm', { secretHashes: secretHashes(plan) }), compose: renderAll(plan, 'compose') };
}

type StackDoc = {
  services: Record<string, any>;
  networks: Record<string, any>;
  secrets: Record<string, any>;
  configs: Record<string, any>;
  volumes: Record<string, any>;
};
const stackOf = (files: { path: string; contents: string }[]) => parse(files.find((f) => f.path === STACK_FILE)!.contents) as StackDoc;

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

for (const v of variants) {
  test(`swarm snapshot (files that differ from compose): ${v.id}`, () => {
    const { files, compose } = renderSwarmVariant(v.id);
    const same = new Map(compose.map((f) => [f.path, f.contents]));
    const differing = files.filter((f) => same.get(f.path) !== f.contents);
    const dir = join(snapRoot, v.id);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const f of differing) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.contents);
      }
    }
    assert.deepEqual(
      differing.map((f) => f.path).sort(),
      listFiles(dir)
        .map((p) => relative(dir, p))
        .sort(),
      `swarm/${v.id} file list differs (UPDATE_SNAPSHOTS=1 to accept)`,
    );
    for (const f of differing)
      assert.equal(f.contents, readFileSync(join(dir, f.path), 'utf8'), `swarm/${v.id}/${f.path} differs from its snapshot`);
  });

  test(`compose-spec schema and docker stack config accept the swarm stack: ${v.id}`, async () => {
    const { plan, files } = renderSwarmVariant(v.id);
    const doc = stackOf(files);
    assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
    // `docker stack config` reads the files and secrets the stack names: write them all.
    const root = mkdtempSync(join(tmpdir(), 'wharf-swarm-render-'));
    try {
      const out = join(root, '.wharf', 'swarm');
      for (const f of files) {
        mkdirSync(dirname(join(out, f.path)), { recursive: true });
        writeFileSync(join(out, f.path), f.contents);
      }
      const secrets = join(out, plan.paths.secretsDir);
      mkdirSync(secrets, { recursive: true });
      for (const s of plan.secrets) writeFileSync(join(secrets, s.name), `test-secret:${s.name}`);
      const r = await execa('docker', ['stack', 'config', '-c', STACK_FILE], {
        cwd: out,
        reject: false,
        env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
      });
      assert.equal(r.exitCode, 0, r.stderr);
      const resolved = parse(r.stdout) as StackDoc;
      assert.deepEqual(Object.keys(resolved.services).sort(), plan.components.map((c) => c.name).sort());
      // Swarm would ignore these silently: they must not be there at all.
      for (const [n, s] of Object.entries(doc.services)) {
        for (const k of ['depends_on', 'build', 'restart', 'scale', 'container_name', 'security_opt', 'cpus', 'mem_limit'])
          assert.ok(!(k in s), `${n} has ${k}`);
      }
      assert.doesNotMatch(r.stderr, /Ignoring unsupported options/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('GIVEN the api template behind HAProxy WHEN rendered for swarm THEN replicas, rollouts, placement and networks follow the plan', () => {
  const { plan, files } = renderSwarmVariant('api-haproxy');
  const doc = stackOf(files);
  const s = doc.services;
  // every service dnsrr: no VIPs (no IPVS here) and the edge sees each task
  for (const [n, x] of Object.entries(s)) assert.equal(x.deploy.endpoint_mode, 'dnsrr', n);
  assert.equal(s.api.deploy.replicas, 3);
  assert.deepEqual(s.api.deploy.update_config, {
    parallelism: 1,
    delay: '0s',
    order: 'start-first',
    failure_action: 'rollback',
    monitor: '53s',
    max_failure_ratio: 0,
  });
  assert.equal(s.api.deploy.rollback_config.order, 'start-first');
  assert.ok(seconds(s.api.deploy.update_config.monitor) > healthWindow(plan.components.find((c) => c.name === 'api')!.healthcheck!));
  // volumes and host ports: stop-first
  assert.equal(s.db.deploy.update_config.order, 'stop-first');
  assert.equal(s.proxy.deploy.update_config.order, 'stop-first');
  assert.deepEqual(s.proxy.ports, [
    { target: 80, published: 80, protocol: 'tcp', mode: 'host' },
    { target: 443, published: 443, protocol: 'tcp', mode: 'host' },
  ]);
  assert.equal(s.proxy.deploy.mode, 'global');
  assert.equal(s['node-exporter'].deploy.mode, 'global');
  assert.deepEqual(s.db.deploy.placement, { constraints: ['node.labels.wharf.db == true'] });
  assert.deepEqual(s.cache.deploy.placement, { constraints: ['node.labels.wharf.db == true'] });
  assert.deepEqual(s.backup.deploy.placement, { constraints: ['node.labels.wharf.db == true'] });
  assert.deepEqual(s.prometheus.deploy.placement, { constraints: ['node.role == manager'] });
  assert.deepEqual(s.alertmanager.deploy.placement, { constraints: ['node.role == manager'] });
  assert.deepEqual(s.api.deploy.resources, { limits: { cpus: '0.5', memory: '256M' }, reservations: { cpus: '0.125', memory: '128M' } });
  assert.deepEqual(doc.networks.backend, { driver: 'overlay', internal: true, driver_opts: { encrypted: '' } });
  assert.deepEqual(doc.networks.edge, { driver: 'overlay' });
  // HAProxy and Prometheus address replicas through tasks.<svc>
  const cfg = files.find((f) => f.path === 'haproxy/haproxy.cfg')!.contents;
  assert.match(cfg, /server-template api 6 tasks\.api:3000 check/);
  assert.match(files.find((f) => f.path === 'prometheus/prometheus.yml')!.contents, /- tasks\.api\n/);
});

test('configs and secrets are Swarm objects named by content; a changed file gets a new name', () => {
  const { plan, files } = renderSwarmVariant('api-haproxy');
  const doc = stackOf(files);
  const cfg = files.find((f) => f.path === 'haproxy/haproxy.cfg')!;
  const hash = createHash('sha256').update(cfg.contents).digest('hex');
  assert.deepEqual(doc.configs['haproxy-haproxy.cfg'], {
    file: './haproxy/haproxy.cfg',
    name: `shop_haproxy-haproxy.cfg_${hash.slice(0, 8)}`,
  });
  assert.deepEqual(doc.services.proxy.configs, [
    { source: 'haproxy-haproxy.cfg', target: '/usr/local/etc/haproxy/haproxy.cfg', mode: 0o444 },
  ]);
  // a directory mount becomes one config per file, executables stay executable
  const backupTargets = doc.services.backup.configs.map((c: any) => `${c.target} ${c.mode.toString(8)}`);
  assert.ok(backupTargets.includes('/backup/bin/backup.sh 555'), backupTargets.join('\n'));
  assert.ok(backupTargets.includes('/backup/jobs/db.env 444'));
  assert.equal(doc.secrets['db-password'].name, `shop_db-password_${secretHashes(plan)['db-password']!.slice(0, 8)}`);
  assert.equal(doc.secrets['db-password'].file, '../secrets/db-password');
  // the project-relative backup repository is a volume on the pinned node, not a bind mount
  assert.ok(doc.services.backup.volumes.some((m: any) => m.type === 'volume' && m.source === 'backup-repo' && m.target === '/repo'));
  assert.ok('backup-repo' in doc.volumes);
  const { files: changed } = (() => {
    const p = deepCopy(plan);
    p.routes[0]!.host = 'other.shop.localhost';
    return { files: renderAll(p, 'swarm', { secretHashes: secretHashes(p) }) };
  })();
  assert.notEqual(stackOf(changed).configs['haproxy-haproxy.cfg'].name, doc.configs['haproxy-haproxy.cfg'].name);
});

test('object names stay within 64 characters; update order follows volumes and host ports', () => {
  assert.equal(objectName('s', 'k', 'abcdef0123456789'), 's_k_abcdef01');
  assert.equal(objectName('x'.repeat(20), 'y'.repeat(60), '0123456789').length, 64);
  const { plan } = renderSwarmVariant('api-haproxy');
  const byName = new Map(plan.components.map((c) => [c.name, c]));
  assert.equal(updateOrder(byName.get('api')!), 'start-first');
  assert.equal(updateOrder(byName.get('db-exporter')!), 'start-first');
  assert.equal(updateOrder(byName.get('prometheus')!), 'stop-first');
});

test('encrypted overlays follow the plan (cluster.encryptNetworks: false where the kernel has no ESP)', () => {
  const v = variants.find((x) => x.id === 'api-haproxy')!;
  const { plan } = loadVariant({
    template: v.template,
    change: (d) => {
      v.change!(d);
      d.cluster = { encryptNetworks: false };
    },
  });
  assert.ok(plan.networks.every((n) => !n.encrypted));
  const doc = stackOf(renderAll(plan, 'swarm', { secretHashes: secretHashes(plan) }));
  assert.deepEqual(doc.networks.backend, { driver: 'overlay', internal: true });
  assert.deepEqual(doc.networks.monitoring, { driver: 'overlay', internal: true });
});

test('a swarm render without secret hashes is a bug, not a guess', () => {
  const { plan } = loadVariant(variants[0]!);
  assert.throws(() => renderAll(plan, 'swarm'), /no content hash for secret/);
});

const haproxyOk =
  spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0 && spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
test(
  'haproxy -c accepts the swarm edge config (tasks.<svc> servers, fast failover defaults)',
  { skip: haproxyOk ? undefined : 'haproxy or openssl not installed' },
  () => {
    const { plan, files } = renderSwarmVariant('api-haproxy');
    const cfg = files.find((f) => f.path === 'haproxy/haproxy.cfg')!.contents;
    assert.match(cfg, /timeout connect 1s/);
    assert.match(cfg, /default-server inter 2s fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down/);
    const work = mkdtempSync(join(tmpdir(), 'wharf-swarm-haproxy-'));
    try {
      const material = testMaterial();
      const pem = material.pem;
      writeFileSync(join(work, 'haproxy.cfg'), cfg.replaceAll(`/run/secrets/${plan.tls.pemSecret}`, pem));
      const users = material.userlist(userlistName(plan));
      const c = spawnSync('haproxy', ['-c', '-f', join(work, 'haproxy.cfg'), '-f', users], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stdout + c.stderr);
      assert.doesNotMatch(c.stdout + c.stderr, /\[WARNING\]/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);

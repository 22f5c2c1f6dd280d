import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeEngine } from './compose.js';

const v2 = new ComposeEngine({
  compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' },
  project: 'shop',
  dir: '/p/.wharf/compose',
});
const v1 = new ComposeEngine({
  compose: { kind: 'v1', argv: ['docker-compose'], version: '1.29.2' },
  project: 'shop',
  dir: '/p/.wharf/compose',
});

test('compose v2 commands: exact argv, run in the output dir, project name always explicit', () => {
  assert.deepEqual(v2.validate().argv, ['docker', 'compose', '-p', 'shop', '-f', 'compose.yaml', 'config', '--quiet']);
  assert.deepEqual(v2.build(['api']).argv, ['docker', 'compose', '-p', 'shop', '-f', 'compose.yaml', 'build', 'api']);
  assert.deepEqual(v2.apply().argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'up',
    '-d',
    '--remove-orphans',
    '--no-build',
  ]);
  assert.deepEqual(v2.remove({ volumes: false, withoutFile: false }).argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'down',
    '--remove-orphans',
  ]);
  assert.deepEqual(v2.remove({ volumes: true, withoutFile: false }).argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'down',
    '--remove-orphans',
    '--volumes',
  ]);
  assert.deepEqual(v2.logs('api', 20).argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'logs',
    '--no-color',
    '--tail',
    '20',
    'api',
  ]);
  assert.deepEqual(v2.ps().argv, ['docker', 'compose', '-p', 'shop', '-f', 'compose.yaml', 'ps', '-a']);
  assert.equal(v2.apply().cwd, '/p/.wharf/compose');
  assert.equal(v2.apply().describe, 'create or update containers');
});

test('compose v1 commands: same verbs through docker-compose', () => {
  assert.deepEqual(v1.apply().argv, ['docker-compose', '-p', 'shop', '-f', 'compose.yaml', 'up', '-d', '--remove-orphans', '--no-build']);
  assert.deepEqual(v1.remove({ volumes: true, withoutFile: false }).argv, [
    'docker-compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'down',
    '--remove-orphans',
    '--volumes',
  ]);
});

test('classic builder only when asked', () => {
  const classic = new ComposeEngine({
    compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' },
    project: 'shop',
    dir: '/d',
    buildkit: false,
  });
  assert.deepEqual(classic.build().env, { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' });
  assert.equal(v2.build().env, undefined);
});

test('containers are found by the compose project label; services by the service label', () => {
  assert.deepEqual(v2.containerFilters(), ['label=com.docker.compose.project=shop']);
  assert.equal(v2.serviceOf({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'api' }), 'api');
  assert.equal(v2.serviceOf({ 'com.docker.compose.project': 'other', 'com.docker.compose.service': 'api' }), undefined);
  assert.equal(v2.networkName('backend'), 'shop_backend');
});

test('down without the rendered file: v2 finds the project by label, v1 still needs the file', () => {
  const c = v2.remove({ volumes: true, withoutFile: true });
  assert.deepEqual(c.argv, ['docker', 'compose', '-p', 'shop', 'down', '--remove-orphans', '--volumes']);
  assert.equal(c.cwd, undefined);
  assert.deepEqual(v1.remove({ volumes: false, withoutFile: true }).argv, [
    'docker-compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'down',
    '--remove-orphans',
  ]);
});

test('rollout commands: scale out keeping the old containers (with depends_on, so the hash matches a later up), only-these-services, hashes', () => {
  assert.deepEqual(v2.scaleOut('api', 6).argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'up',
    '-d',
    '--no-build',
    '--no-recreate',
    '--scale',
    'api=6',
    'api',
  ]);
  assert.deepEqual(v2.scaleOut('api', 4, 'rollback.yaml').argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'rollback.yaml',
    'up',
    '-d',
    '--no-build',
    '--no-recreate',
    '--scale',
    'api=4',
    'api',
  ]);
  assert.equal(v2.scaleOut('api', 6).cwd, '/p/.wharf/compose');
  assert.deepEqual(v2.deployServices(['db', 'proxy']).argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'up',
    '-d',
    '--remove-orphans',
    '--no-build',
    'db',
    'proxy',
  ]);
  assert.deepEqual(v2.converge().argv, [
    'docker',
    'compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'up',
    '-d',
    '--remove-orphans',
    '--no-build',
    '--no-recreate',
  ]);
  assert.deepEqual(v2.serviceHashes().argv, ['docker', 'compose', '-p', 'shop', '-f', 'compose.yaml', 'config', '--hash', '*']);
  assert.equal(v2.configHashLabel, 'com.docker.compose.config-hash');
});

test('reload: a signalled edge is checked in place, then its master gets SIGUSR2; a watching one needs no command', () => {
  const haproxy = {
    name: 'proxy',
    reload: {
      sources: ['haproxy'],
      mode: 'signal' as const,
      signal: 'SIGUSR2' as const,
      check: ['haproxy', '-c', '-q', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
    },
  };
  const cmds = v2.reload(haproxy as never, [{ id: 'c1', name: 'shop-proxy-1' }]);
  assert.deepEqual(
    cmds.map((c) => c.argv),
    [
      ['docker', 'exec', 'c1', 'haproxy', '-c', '-q', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
      ['docker', 'kill', '--signal', 'SIGUSR2', 'c1'],
    ],
  );
  assert.deepEqual(
    cmds.map((c) => c.describe),
    ['check the new configuration of proxy in shop-proxy-1', 'reload proxy in shop-proxy-1 (SIGUSR2)'],
  );
  assert.deepEqual(v2.reload({ name: 'proxy', reload: { sources: ['traefik/dynamic'], mode: 'watch' } } as never, [{ id: 'c1' }]), []);
  assert.deepEqual(v2.reload({ name: 'api' } as never, [{ id: 'c2' }]), []);
});

test('images: one listing finds the tagged ones (Docker Hub prefixes and :latest as listed); a digest or unlisted reference is inspected itself', async () => {
  const { recordingRunner } = await import('./run.js');
  const { runner, calls } = recordingRunner((c) => {
    if (c.argv.slice(1, 3).join(' ') === 'image ls')
      return { stdout: 'postgres:16 sha256:pg\nlocal/debian:latest sha256:deb\n<none>:<none> sha256:dangling' };
    if (c.argv.at(-1) === 'ghcr.io/a/b@sha256:abc') return { stdout: 'sha256:b' };
    return { exitCode: 1, stderr: 'No such image' };
  });
  const found = await v2.findImages(runner, ['docker.io/library/postgres:16', 'local/debian', 'ghcr.io/a/b@sha256:abc', 'missing:1']);
  assert.deepEqual(
    [...found],
    [
      ['docker.io/library/postgres:16', 'sha256:pg'],
      ['local/debian', 'sha256:deb'],
      ['ghcr.io/a/b@sha256:abc', 'sha256:b'],
    ],
  );
  assert.deepEqual(
    calls.map((c) => c.argv.join(' ')),
    [
      'docker image ls --no-trunc --format {{.Repository}}:{{.Tag}} {{.ID}}',
      'docker image inspect --format {{.Id}} ghcr.io/a/b@sha256:abc',
      'docker image inspect --format {{.Id}} missing:1',
    ],
  );
});

test('writeVariant: a committed link named like the rollback file is refused (exit 2), never written through', async () => {
  const { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { UserInputError } = await import('../spec/issues.js');
  const top = mkdtempSync(join(tmpdir(), 'wharf-variant-'));
  try {
    const dir = join(top, 'p', '.wharf', 'compose');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  api: {image: x}\n');
    writeFileSync(join(top, 'bashrc'), 'mine\n');
    symlinkSync(join(top, 'bashrc'), join(dir, 'compose.rollback.yaml'));
    const e = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 'shop', dir });
    assert.throws(() => e.writeVariant('api', { image: 'y' }), UserInputError);
    assert.equal(readFileSync(join(top, 'bashrc'), 'utf8'), 'mine\n');
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwarmEngine } from './swarm.js';

const e = new SwarmEngine({ project: 'shop', dir: '/p/.wharf/swarm', dockerHost: 'tcp://10.0.0.2:2375' });
const local = new SwarmEngine({ project: 'shop', dir: '/d', resolveImage: 'never' });

test('swarm commands: exact argv, stack namespace always explicit, sent to the manager in DOCKER_HOST', () => {
  assert.deepEqual(e.validate().argv, ['docker', 'stack', 'config', '-c', 'stack.yaml']);
  assert.equal(e.validate().cwd, '/p/.wharf/swarm');
  assert.deepEqual(e.apply().argv, [
    'docker',
    'stack',
    'deploy',
    '--with-registry-auth',
    '--prune',
    '--detach=true',
    '--resolve-image',
    'always',
    '-c',
    'stack.yaml',
    'shop',
  ]);
  assert.equal(e.apply().cwd, '/p/.wharf/swarm');
  assert.deepEqual(e.remove({ volumes: true }).argv, ['docker', 'stack', 'rm', 'shop']);
  assert.equal(e.remove({ volumes: false, withoutFile: true }).cwd, undefined);
  assert.deepEqual(e.logs('api', 20).argv, ['docker', 'service', 'logs', '--no-trunc', '--tail', '20', 'shop_api']);
  assert.deepEqual(e.ps().argv, ['docker', 'stack', 'ps', '--no-trunc', 'shop']);
  assert.deepEqual(e.services().argv, ['docker', 'stack', 'services', '--format', '{{json .}}', 'shop']);
  assert.deepEqual(e.tasks('api').argv, ['docker', 'service', 'ps', '--no-trunc', '--format', '{{json .}}', 'shop_api']);
  assert.deepEqual(e.tasks().argv, ['docker', 'stack', 'ps', '--no-trunc', '--format', '{{json .}}', 'shop']);
  assert.deepEqual(e.nodes().argv, ['docker', 'node', 'ls', '--format', '{{json .}}']);
  assert.deepEqual(e.rollout('api').argv, ['docker', 'service', 'update', '--force', '--detach=true', 'shop_api']);
  assert.deepEqual(e.rollback('api').argv, ['docker', 'service', 'rollback', '--detach', '--quiet', 'shop_api']);
  assert.deepEqual(e.rolloutState('api').argv, [
    'docker',
    'service',
    'inspect',
    '--format',
    '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}',
    'shop_api',
  ]);
  assert.deepEqual(e.scale('api', 5).argv, ['docker', 'service', 'scale', '--detach=true', 'shop_api=5']);
  for (const c of [e.validate(), e.apply(), e.remove({ volumes: false }), e.logs('api', 1), e.ps(), e.nodes()])
    assert.deepEqual(c.env, { DOCKER_HOST: 'tcp://10.0.0.2:2375' });
  assert.equal(e.apply().describe, "create or update the stack's services");
});

test("stop and start scale to 0 and back to the plan's replicas, detached (ServiceControl polls the containers)", () => {
  const withReplicas = new SwarmEngine({ project: 'shop', dir: '/d', replicas: { api: 3, db: 1 } });
  assert.deepEqual(withReplicas.stop(['api', 'db']).argv, ['docker', 'service', 'scale', '--detach=true', 'shop_api=0', 'shop_db=0']);
  assert.deepEqual(withReplicas.start(['api', 'db']).argv, ['docker', 'service', 'scale', '--detach=true', 'shop_api=3', 'shop_db=1']);
  assert.deepEqual(e.start(['backup']).argv, ['docker', 'service', 'scale', '--detach=true', 'shop_backup=1']);
});

test('without a docker host the environment decides; resolve-image is an option', () => {
  assert.equal(local.apply().env, undefined);
  assert.deepEqual(local.apply().argv, [
    'docker',
    'stack',
    'deploy',
    '--with-registry-auth',
    '--prune',
    '--detach=true',
    '--resolve-image',
    'never',
    '-c',
    'stack.yaml',
    'shop',
  ]);
});

test('containers are found by the stack namespace label; services by the swarm service name', () => {
  assert.deepEqual(e.containerFilters(), ['label=com.docker.stack.namespace=shop']);
  assert.equal(e.serviceOf({ 'com.docker.stack.namespace': 'shop', 'com.docker.swarm.service.name': 'shop_api' }), 'api');
  assert.equal(e.serviceOf({ 'com.docker.stack.namespace': 'shop', 'com.docker.swarm.service.name': 'shop_db-exporter' }), 'db-exporter');
  assert.equal(e.serviceOf({ 'com.docker.stack.namespace': 'other', 'com.docker.swarm.service.name': 'other_api' }), undefined);
  assert.equal(e.serviceOf({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'api' }), undefined);
  assert.equal(e.networkName('backend'), 'shop_backend');
  assert.equal(e.serviceName('api'), 'shop_api');
});

// wharf logs on each engine that has it: exact argv, the tool merging the replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeEngine } from '../../engine/compose.js';
import { SwarmEngine } from '../../engine/swarm.js';
import { templatePlan } from '../../../test/support/templates.js';
import { logLine, logServices } from './logs.js';

test("swarm: docker service logs of the stack's service, on the manager, --since/--follow as given", () => {
  const e = new SwarmEngine({ project: 'shop', dir: '/p/.wharf/swarm', dockerHost: 'tcp://10.0.0.2:2375' });
  const c = e.logs('api', 'all', { since: '10m', follow: true });
  assert.deepEqual(c.argv, ['docker', 'service', 'logs', '--no-trunc', '--tail', 'all', '--since', '10m', '--follow', 'shop_api']);
  assert.deepEqual(c.env, { DOCKER_HOST: 'tcp://10.0.0.2:2375' });
  assert.equal(c.timeoutMs, undefined);
  assert.equal(e.logs('api', 20).timeoutMs, 30_000);
});

test('compose v1: the same flags', () => {
  const e = new ComposeEngine({ compose: { kind: 'v1', argv: ['docker-compose'], version: '1.29.2' }, project: 'shop', dir: '/d' });
  assert.deepEqual(e.logs('api', 5, { since: '2026-12-07' }).argv, [
    'docker-compose',
    '-p',
    'shop',
    '-f',
    'compose.yaml',
    'logs',
    '--no-color',
    '--tail',
    '5',
    '--since',
    '2026-12-07',
    'api',
  ]);
});

test('default services: every app service; named ones once each', () => {
  const plan = templatePlan('haproxy-mysql');
  assert.deepEqual(
    logServices(plan, []),
    plan.components.filter((c) => c.role === 'app').map((c) => c.name),
  );
  assert.ok(logServices(plan, []).length >= 1);
  assert.deepEqual(logServices(plan, ['db', 'db']), ['db']);
});

test("Compose v2's erase-line prefix is dropped, the line kept", () => {
  assert.equal(logLine('\x1b[2Kapi-1  | GET /health 200'), 'api-1  | GET /health 200');
  assert.equal(logLine('api-1  | \x1b[2K kept inside'), 'api-1  | \x1b[2K kept inside');
});

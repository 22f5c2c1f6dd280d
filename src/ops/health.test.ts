// Encrypted overlays a node's kernel cannot carry: found by asking one task per node, all at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingRunner } from '../engine/run.js';
import { SwarmEngine } from '../engine/swarm.js';
import { runningReplica } from '../engine/testing/container-state.js';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import { OverlayWithoutIpsecError, overlaysWithoutIpsec } from './health.js';

const box = (name: string, node: string, networks: string[]) =>
  runningReplica({ name, service: name.split('.')[0]!.slice(2), node, networks });
const ctx = (encrypted: boolean) => {
  const plan = tinyPlan('t');
  plan.networks = plan.networks.map((n) => (n.name === 'backend' ? { ...n, encrypted } : n));
  return { plan, engine: new SwarmEngine({ project: 't', dir: '/x' }) };
};

test('a node whose kernel lists no rfc4106(gcm(aes)) is named with the encrypted overlays its tasks use; one task per node is asked', async () => {
  const cs = [box('t_api.1', 'n1', ['t_backend', 't_edge']), box('t_db.1', 'n2', ['t_backend']), box('t_db.2', 'n2', ['t_backend'])];
  const { runner, calls } = recordingRunner((c) =>
    c.env?.DOCKER_HOST === 'tcp://n2:2375' ? { exitCode: 1, stdout: '0' } : { stdout: '3' },
  );
  const bad = await overlaysWithoutIpsec(ctx(true), runner, cs);
  assert.deepEqual(bad, [{ node: 'n2', networks: ['t_backend'] }]);
  assert.deepEqual(calls.map((c) => c.argv.slice(0, 3)).sort(), [
    ['docker', 'exec', 't_api.1'],
    ['docker', 'exec', 't_db.1'],
  ]);
  assert.match(
    new OverlayWithoutIpsecError(bad).message,
    /^encrypted overlay without kernel IPsec support on n2: every packet between nodes on t_backend is dropped[\s\S]*cluster\.encryptNetworks: false/,
  );
});

test('nothing to ask: no encrypted overlay, or every task on one node', async () => {
  const { runner, calls } = recordingRunner(() => ({ exitCode: 1, stdout: '0' }));
  assert.deepEqual(
    await overlaysWithoutIpsec(ctx(false), runner, [box('t_api.1', 'n1', ['t_backend']), box('t_db.1', 'n2', ['t_backend'])]),
    [],
  );
  assert.deepEqual(
    await overlaysWithoutIpsec(ctx(true), runner, [box('t_api.1', 'n1', ['t_backend']), box('t_db.1', 'n1', ['t_backend'])]),
    [],
  );
  assert.equal(calls.length, 0);
});

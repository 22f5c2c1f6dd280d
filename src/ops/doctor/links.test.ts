// The cause doctor names when a link between nodes gets no answer over encrypted overlays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingRunner } from '../../engine/run.js';
import { SwarmEngine } from '../../engine/swarm.js';
import { runningReplica } from '../../engine/testing/container-state.js';
import { tinyPlan } from '../../engine/testing/tiny-stack.js';
import { encryptedWithoutIpsec } from './links.js';

const box = (name: string, service: string, node: string, networks: string[]) => runningReplica({ name, service, node, networks });

function ctx(encrypted: boolean) {
  const plan = tinyPlan('t');
  plan.networks = plan.networks.map((n) => (n.name === 'backend' ? { ...n, encrypted } : n));
  return { plan, outDir: '/x', projectDir: '/x', engine: new SwarmEngine({ project: 't', dir: '/x' }) };
}

const api = box('t_api.1', 'api', 'n1', ['t_backend']);
const db = [box('t_db.1', 'db', 'n2', ['t_backend'])];

test("an encrypted overlay across nodes on a kernel without ESP is named as the cause, from the client's own container", async () => {
  const { runner, calls } = recordingRunner((c) => (c.argv.at(-1)!.includes('/proc/crypto') ? { exitCode: 1, stdout: '0' } : undefined));
  const why = await encryptedWithoutIpsec(ctx(true), runner, api, db);
  assert.equal(why, 'the kernel on n1 has no rfc4106(gcm(aes)); t_backend encrypted; n2 on the other side');
  assert.deepEqual(
    calls.map((c) => [c.argv.slice(0, 3), c.env?.DOCKER_HOST]),
    [[['docker', 'exec', 't_api.1'], 'tcp://n1:2375']],
  );
});

test('not the cause: a kernel with the cipher, a plain overlay, or both ends on one node (nothing asked then)', async () => {
  const has = recordingRunner(() => ({ stdout: '2' }));
  assert.equal(await encryptedWithoutIpsec(ctx(true), has.runner, api, db), undefined);
  const none = recordingRunner(() => ({ exitCode: 1, stdout: '0' }));
  assert.equal(await encryptedWithoutIpsec(ctx(false), none.runner, api, db), undefined);
  assert.equal(await encryptedWithoutIpsec(ctx(true), none.runner, api, [box('t_db.1', 'db', 'n1', ['t_backend'])]), undefined);
  assert.equal(none.calls.length, 0);
});

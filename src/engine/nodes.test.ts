// Nodes as a manager reports them (a real `docker node inspect` of the 3-manager test swarm,
// test/fixtures/swarm/node-inspect.json), and how each node's engine is reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultTolerance, nodeDockerHost, parseNodeInspect } from './nodes.js';

const fixture = readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'swarm', 'node-inspect.json'), 'utf8');

test('parseNodeInspect reads role, state, address, leadership and labels of real nodes', () => {
  const nodes = parseNodeInspect(fixture);
  assert.deepEqual(
    nodes.map((n) => n.hostname),
    ['wharf-swarm-1', 'wharf-swarm-2', 'wharf-swarm-3'],
  );
  assert.ok(
    nodes.every((n) => n.role === 'manager' && n.state === 'ready' && n.availability === 'active' && /^\d+\.\d+\.\d+\.\d+$/.test(n.addr)),
  );
  assert.equal(nodes.filter((n) => n.leader).length, 1);
  assert.ok(nodes.every((n) => n.reachability === 'reachable'));
  assert.deepEqual(nodes.find((n) => n.hostname === 'wharf-swarm-3')!.labels, { 'wharf.db': 'true' });
  assert.match(nodes[0]!.engineVersion, /^\d+\.\d+/);
});

test("a node's engine is reached the way the manager is, unless declared", () => {
  assert.equal(nodeDockerHost('10.0.0.7', 'tcp://10.0.0.1:2375'), 'tcp://10.0.0.7:2375');
  assert.equal(nodeDockerHost('10.0.0.7', 'ssh://deploy@m1.example.com'), 'ssh://deploy@10.0.0.7');
  assert.equal(nodeDockerHost('10.0.0.7', 'ssh://deploy@m1:2222'), 'ssh://deploy@10.0.0.7:2222');
  assert.equal(nodeDockerHost('fd00::7', 'tcp://[fd00::1]:2375'), 'tcp://[fd00::7]:2375');
  assert.equal(nodeDockerHost('10.0.0.7', 'unix:///var/run/docker.sock'), undefined, 'a socket reaches only its own node');
  assert.equal(nodeDockerHost('10.0.0.7', undefined), undefined);
  assert.equal(nodeDockerHost('10.0.0.7', 'tcp://10.0.0.1:2375', 'ssh://root@n7'), 'ssh://root@n7');
});

test('fault tolerance of 1..5 managers', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(faultTolerance), [0, 0, 1, 1, 2]);
});

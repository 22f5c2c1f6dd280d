// doctor's cluster checks on the nodes a manager reports (a real `docker node inspect` of the
// 3-manager test swarm, test/fixtures/swarm/node-inspect.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNodeInspect } from '../../engine/nodes.js';
import { checkNodes } from './cluster.js';

const fixture = readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'swarm', 'node-inspect.json'), 'utf8');

test("quorum: doctor's verdict as managers go down", () => {
  const nodes = parseNodeInspect(fixture);
  const verdict = (ns: typeof nodes) => checkNodes(ns).find((c) => c.id === 'cluster:quorum')!.status;
  assert.equal(verdict(nodes), 'ok');
  const oneDown = nodes.map((n) =>
    n.leader ? n : n.hostname === 'wharf-swarm-2' ? { ...n, state: 'down', reachability: 'unreachable' } : n,
  );
  assert.equal(verdict(oneDown), 'warn', 'one down of three: quorum holds, nothing more may be lost');
  const twoDown = nodes.map((n) => (n.leader ? n : { ...n, state: 'down', reachability: 'unreachable' }));
  assert.equal(verdict(twoDown), 'fail');
  assert.equal(verdict(nodes.map((n) => ({ ...n, leader: false }))), 'fail', 'no leader');
  assert.equal(checkNodes(oneDown).find((c) => c.id === 'cluster:nodes')!.status, 'fail');
});

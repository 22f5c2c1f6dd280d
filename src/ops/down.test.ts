import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwarmEngine } from '../engine/swarm.js';
import type { Cmd } from '../engine/command.js';
import type { RunResult } from '../engine/run.js';
import { CommandError } from '../engine/run.js';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import { down } from './down.js';

// A swarm of two nodes as their engines answer: n2 is rejoining when down starts, still holds
// a stopped task container of the stack the scheduler forgot, and releases its volume late.
function world() {
  const hosts = { n1: 'tcp://10.0.0.1:2375', n2: 'tcp://10.0.0.2:2375' };
  const state = { n2Ready: 0, leftover: true, volumeBusy: 1, volumes: { n1: ['t_prom'], n2: ['t_db-data'] } as Record<string, string[]> };
  const calls: string[] = [];
  const node = (name: 'n1' | 'n2', ready: boolean) => ({
    ID: name,
    Description: { Hostname: name, Engine: { EngineVersion: '28.2.2' } },
    Spec: { Role: 'manager', Availability: 'active', Labels: {} },
    Status: { State: ready ? 'ready' : 'down', Addr: hosts[name].slice(6, -5) },
    ManagerStatus: { Leader: name === 'n1', Reachability: 'reachable', Addr: `${hosts[name].slice(6, -5)}:2377` },
  });
  const container = {
    Id: 'c1',
    Name: '/t_db.1.x',
    Config: { Labels: { 'com.docker.stack.namespace': 't', 'com.docker.swarm.service.name': 't_db' }, Env: [], Image: 'db' },
    State: { Status: 'exited', ExitCode: 0, StartedAt: '' },
    Image: 'sha256:db',
    NetworkSettings: {},
  };
  const runner = async (c: Cmd, o: { reject?: boolean } = {}): Promise<RunResult> => {
    const at = c.env?.DOCKER_HOST === hosts.n2 ? 'n2' : 'n1';
    const a = c.argv.slice(1).join(' ');
    calls.push(`${at}: ${a}`);
    let stdout = '';
    let stderr = '';
    let exitCode = 0;
    if (a.startsWith('node ls')) stdout = 'n1\nn2';
    else if (a.startsWith('node inspect')) stdout = JSON.stringify([node('n1', true), node('n2', state.n2Ready++ >= 2)]);
    else if (a.startsWith('ps')) stdout = at === 'n2' && state.leftover ? 'c1' : '';
    else if (a.startsWith('inspect')) stdout = JSON.stringify(at === 'n2' && state.leftover ? [container] : []);
    else if (a.startsWith('rm --force c1')) state.leftover = false;
    else if (a.startsWith('volume ls')) stdout = state.volumes[at]!.join('\n');
    else if (a.startsWith('volume rm')) {
      if (at === 'n2' && state.volumeBusy-- > 0) {
        exitCode = 1;
        stderr = 'Error response from daemon: remove t_db-data: volume is in use - [c1]';
      } else state.volumes[at] = [];
    }
    const r = { cmd: c, exitCode, stdout, stderr, durationMs: 0, timedOut: false };
    if (exitCode && o.reject !== false) throw new CommandError(r);
    return r;
  };
  return { runner, calls, state };
}

test('down on Swarm: a node rejoining is cleaned too, a stopped task the scheduler left is removed, a volume still in use is retried', async () => {
  const w = world();
  const engine = new SwarmEngine({ project: 't', dir: '/x', dockerHost: 'tcp://10.0.0.1:2375' });
  const lines: string[] = [];
  const r = await down(
    { plan: tinyPlan('t'), outDir: '/x', projectDir: '/x', engine, runner: w.runner },
    { volumes: true, leftoverGraceMs: 0, waitMs: 20_000, onLine: (l) => lines.push(l) },
  );
  assert.deepEqual(r.remaining, { containers: 0, networks: 0, volumes: [] });
  assert.deepEqual(r.unreachableNodes, []);
  assert.ok(w.calls.includes('n2: rm --force c1'), 'the leftover is removed on its own node');
  assert.equal(w.calls.filter((c) => c === 'n2: volume rm t_db-data').length, 2, 'retried once after "in use"');
  assert.ok(lines.some((l) => /removing 1 stopped container of the stack the scheduler left on tcp:\/\/10\.0\.0\.2:2375/.test(l)));
});

test('down on Swarm: a node that never comes back is named, its volumes neither removed nor hidden', async () => {
  const w = world();
  w.state.n2Ready = -1e9;
  w.state.leftover = false;
  const engine = new SwarmEngine({ project: 't', dir: '/x', dockerHost: 'tcp://10.0.0.1:2375' });
  const r = await down({ plan: tinyPlan('t'), outDir: '/x', projectDir: '/x', engine, runner: w.runner }, { volumes: true, waitMs: 2000 });
  assert.deepEqual(r.unreachableNodes, ['n2']);
  assert.ok(!w.calls.some((c) => c.startsWith('n2: volume rm')), 'nothing is touched on a node that is not ready');
  assert.deepEqual(w.state.volumes.n2, ['t_db-data']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd } from '../engine/command.js';
import { ComposeEngine } from '../engine/compose.js';
import type { ContainerState } from '../engine/live.js';
import type { RunResult } from '../engine/run.js';
import { SwarmEngine } from '../engine/swarm.js';
import { runningReplica } from '../engine/testing/container-state.js';
import { buildPlan } from '../plan/build.js';
import { parseSpecText } from '../spec/load.js';
import { edgeLag, edgeWhere } from './edge-admission.js';

const spec = JSON.stringify({
  name: 'tt',
  domain: 'tt.localhost',
  proxy: { kind: 'haproxy' },
  services: { api: { image: 'ghcr.io/acme/api:1.0', port: 3000, replicas: 2, routes: [{ host: 'api.tt.localhost' }] } },
});
const plan = (() => {
  const r = parseSpecText(spec);
  assert.ok(r.stack, JSON.stringify(r.issues));
  return buildPlan(r.stack);
})();

const hosts = { n1: 'tcp://10.0.0.1:2375', n2: 'tcp://10.0.0.2:2375' };
const container = (name: string, service: string, node: 'n1' | 'n2', ip: string, network: string) =>
  runningReplica({ name, service, node, networks: [network], ip, host: hosts[node] });

/** `show servers state` as HAProxy 2.6 prints it, one slot per (address, op state); fqdn the name the slot resolves */
const serversState = (fqdn: string, slots: Array<[string, number]>) =>
  [
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …',
    ...slots.map(([ip, op], i) => `5 be_api_3000 ${i + 1} api${i + 1} ${ip} ${op} 0 1 1 6 15 3 4 6 0 0 0 ${fqdn} 3000 - 0 0 - - 0`),
  ].join('\n');

function runnerFor(answers: Record<string, string>) {
  const asked: string[] = [];
  const runner = async (c: Cmd): Promise<RunResult> => {
    const at = Object.entries(hosts).find(([, h]) => h === c.env?.DOCKER_HOST)?.[0] ?? 'local';
    const q = c.argv.at(-1)!;
    asked.push(`${at}: ${q}`);
    const stdout = q === 'show servers state' ? (answers[at] ?? '') : q === 'show stat' ? '# pxname,svname,scur\n' : '';
    return { cmd: c, exitCode: 0, stdout, stderr: '', durationMs: 0, timedOut: false };
  };
  return { runner, asked };
}

test("Swarm: every node's edge is asked, its slots matched by tasks.<service>; the one that lags is named with its node", async () => {
  const engine = new SwarmEngine({ project: 't', dir: '/x', dockerHost: hosts.n1 });
  const cs = [
    container('t_proxy.a', 'proxy', 'n1', '10.0.1.2', 't_edge'),
    container('t_proxy.b', 'proxy', 'n2', '10.0.1.3', 't_edge'),
    container('t_api.1', 'api', 'n1', '10.0.1.10', 't_edge'),
    container('t_api.2', 'api', 'n2', '10.0.1.11', 't_edge'),
  ];
  const { runner, asked } = runnerFor({
    n1: serversState('tasks.api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 2],
    ]),
    n2: serversState('tasks.api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 0],
    ]),
  });
  const ctx = { plan, outDir: '/x', projectDir: '/x', engine, runner };
  const lag = await edgeLag(ctx, runner, cs);
  assert.deepEqual(lag, [{ service: 'api', edge: 't_proxy.b', node: 'n2', healthy: 2, admitted: 1 }]);
  assert.equal(edgeWhere(lag[0]!), 'the edge on n2');
  assert.deepEqual(
    [...new Set(asked.filter((a) => a.endsWith('show servers state')))].sort(),
    ['n1: show servers state', 'n2: show servers state'],
    "each node's own edge",
  );

  // once n2's checks pass, nothing lags
  const ok = runnerFor({
    n1: serversState('tasks.api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 2],
    ]),
    n2: serversState('tasks.api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 2],
    ]),
  });
  assert.deepEqual(await edgeLag({ ...ctx, runner: ok.runner }, ok.runner, cs), []);
  // slots resolving another name are not the service's: a compose-style "api" slot proves nothing on Swarm
  const other = runnerFor({
    n1: serversState('api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 2],
    ]),
    n2: serversState('tasks.api', [
      ['10.0.1.10', 2],
      ['10.0.1.11', 2],
    ]),
  });
  assert.deepEqual(
    (await edgeLag({ ...ctx, runner: other.runner }, other.runner, cs)).map((l) => [l.node, l.admitted]),
    [['n1', 0]],
  );
});

test('one host: the only edge, no node in its name', async () => {
  const engine = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 't', dir: '/out' });
  const local = (c: ContainerState): ContainerState => {
    const { host: _h, node: _n, ...rest } = c;
    return rest;
  };
  const cs = [
    container('t-proxy-1', 'proxy', 'n1', '172.20.0.2', 't_edge'),
    container('t-api-1', 'api', 'n1', '172.20.0.10', 't_edge'),
    container('t-api-2', 'api', 'n1', '172.20.0.11', 't_edge'),
  ].map(local);
  const { runner } = runnerFor({
    local: serversState('api', [
      ['172.20.0.10', 2],
      ['172.20.0.11', 0],
    ]),
  });
  const lag = await edgeLag({ plan, outDir: '/x', projectDir: '/x', engine, runner }, runner, cs);
  assert.deepEqual(lag, [{ service: 'api', edge: 't-proxy-1', healthy: 2, admitted: 1 }]);
  assert.equal(edgeWhere(lag[0]!), 'the edge');
});

test('a runtime query failing once while the edge reloads does not fail the check: it is asked again', async () => {
  const engine = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 't', dir: '/out' });
  const local = (c: ContainerState): ContainerState => {
    const { host: _h, node: _n, ...rest } = c;
    return rest;
  };
  const cs = [
    container('t-proxy-1', 'proxy', 'n1', '172.20.0.2', 't_edge'),
    container('t-api-1', 'api', 'n1', '172.20.0.10', 't_edge'),
  ].map(local);
  const ok = runnerFor({ local: serversState('api', [['172.20.0.10', 2]]) });
  let failed = 0;
  const asked: string[] = [];
  const runner = async (c: Cmd): Promise<RunResult> => {
    asked.push(c.argv.at(-1)!);
    if (c.argv.at(-1) === 'show stat' && failed++ === 0)
      return { cmd: c, exitCode: 1, stdout: '', stderr: 'bash: connect: Connection refused', durationMs: 0, timedOut: false };
    return ok.runner(c);
  };
  assert.deepEqual(await edgeLag({ plan, outDir: '/x', projectDir: '/x', engine, runner }, runner, cs), []);
  const count = (q: string) => asked.filter((a) => a === q).length;
  assert.equal(count('show stat'), count('show servers state') + 1, 'the failed show stat asked again, once');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { askEdge, parseEdgeCert, parseServersState, parseStatSessions, runtime, serversOf } from './haproxy-runtime.js';
import { CommandError, recordingRunner } from './run.js';

// Captured from haproxy 2.6.12 (Debian bookworm) behind Docker DNS, 3 of 6 slots resolved.
const header =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ' +
  'srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id ' +
  'srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
const state = `1
${header}
5 be_api_3000 1 api1 172.19.0.4 2 0 1 1 6 15 3 4 6 0 0 0 api 3000 - 0 0 - - 0
5 be_api_3000 2 api2 172.19.0.5 2 8 1 1 6 15 3 4 6 0 0 0 api 3000 - 0 0 - - 0
5 be_api_3000 4 api4 - 0 32 1 1 6 1 0 0 14 0 0 0 api 3000 - 0 0 - - 0
7 be_web_8080 1 web1 172.19.0.9 2 0 1 1 6 15 3 4 6 0 0 0 web 8080 - 0 0 - - 0
`;
const stat = `# pxname,svname,qcur,qmax,scur,smax,slim,stot
be_api_3000,api1,0,0,3,5,,100
be_api_3000,api2,0,0,1,2,,50
be_api_3000,BACKEND,0,0,4,7,,150
`;

test('show servers state: slot, address, states and the name it resolves', () => {
  const s = parseServersState(state);
  assert.equal(s.length, 4);
  assert.deepEqual(s[1], { backend: 'be_api_3000', server: 'api2', addr: '172.19.0.5', opState: 2, adminState: 8, fqdn: 'api' });
  assert.equal(s[2]!.addr, '');
  assert.equal(s[2]!.adminState, 32);
});

test("show stat: current sessions per server; a service's slots carry them", () => {
  assert.equal(parseStatSessions(stat).get('be_api_3000/api1'), 3);
  const api = serversOf('api', state, stat);
  assert.deepEqual(
    api.map((x) => [x.server, x.sessions]),
    [
      ['api1', 3],
      ['api2', 1],
      ['api4', 0],
    ],
  );
  assert.deepEqual(
    serversOf('web', state, stat).map((x) => x.server),
    ['web1'],
  );
});

test('runtime commands travel as arguments to a fixed script inside the proxy container', () => {
  const c = runtime.setState({ id: 'abc' }, 'be_api_3000', 'api2', 'drain');
  assert.deepEqual(c.argv.slice(0, 4), ['docker', 'exec', 'abc', 'bash']);
  assert.deepEqual(c.argv.slice(-3), ['wharf-runtime', '19999', 'set server be_api_3000/api2 state drain']);
  assert.throws(() => runtime.setState({ id: 'abc' }, 'be;x', 'a', 'drain'), /one runtime API command/);
});

test('a runtime query that fails while the edge reloads is asked again; only the deadline makes it an error', async () => {
  const c = runtime.stat({ id: 'abc' });
  let n = 0;
  const { runner, calls } = recordingRunner(() =>
    ++n === 1 ? { exitCode: 1, stderr: 'bash: connect: Connection refused' } : { stdout: stat },
  );
  const r = await askEdge(runner, c, { intervalMs: 10 });
  assert.equal(r.stdout, stat);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.argv, c.argv, 'the same query again');

  const down = recordingRunner(() => ({ exitCode: 1, stderr: 'bash: connect: Connection refused' }));
  await assert.rejects(
    askEdge(down.runner, c, { intervalMs: 10, deadlineMs: 100 }),
    (e: Error) => e instanceof CommandError && /ask the edge: show stat failed \(exit 1\)[\s\S]*Connection refused/.test(e.message),
  );
  assert.ok(down.calls.length >= 3, `asked ${down.calls.length} times within the deadline`);
});

test('show ssl cert: serial, expiry, issuer and names of the certificate the edge holds; nothing when it holds none', () => {
  const text = [
    'Filename: /certs/edge.pem',
    'Status: Used',
    'Serial: 426DEF3449F5D837',
    'notBefore: Dec  7 14:01:51 2026 GMT',
    'notAfter: Dec  7 14:01:50 2031 GMT',
    'Subject Alternative Name: DNS:site.acme.test, DNS:www.acme.test',
    'Subject: /CN=site.acme.test',
    'Issuer: /CN=Pebble Intermediate CA 2ef6b4',
    '',
  ].join('\n');
  assert.deepEqual(parseEdgeCert(text), {
    serial: '426DEF3449F5D837',
    notAfter: new Date('2031-12-07T14:01:50Z'),
    issuer: 'Pebble Intermediate CA 2ef6b4',
    names: ['site.acme.test', 'www.acme.test'],
  });
  assert.equal(parseEdgeCert("Can't display the certificate: Not found or the certificate is a bundle!\n"), undefined);
});

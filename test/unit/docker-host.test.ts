// The one grammar for Docker engine addresses: the spec, -H/--host and the per-node
// addresses derived from the manager's all go through parseDockerHost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDockerHost, parseDockerHost } from '../../src/spec/grammar.js';

test('parseDockerHost splits each scheme into its parts', () => {
  assert.deepEqual(parseDockerHost('tcp://10.0.0.1:2375'), { scheme: 'tcp', host: '10.0.0.1', port: 2375 });
  assert.deepEqual(parseDockerHost('tcp://m1.example.com'), { scheme: 'tcp', host: 'm1.example.com' });
  assert.deepEqual(parseDockerHost('tcp://[fd00::1]:2376'), { scheme: 'tcp', host: '[fd00::1]', port: 2376 });
  assert.deepEqual(parseDockerHost('ssh://deploy@m1:2222'), { scheme: 'ssh', user: 'deploy', host: 'm1', port: 2222 });
  assert.deepEqual(parseDockerHost('ssh://m1'), { scheme: 'ssh', host: 'm1' });
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { scheme: 'unix', host: '/var/run/docker.sock' });
});

test('anything else is not an engine address', () => {
  for (const bad of [
    'http://x:2375',
    'tcp://a;b',
    'ssh://-oProxyCommand=x',
    'tcp://',
    'unix://relative',
    'tcp://h:123456',
    'ssh://us er@h',
    'tcp://h:1\n',
    ' tcp://h:1',
    'tcp://-h',
    'unix:///a b',
  ]) {
    assert.equal(parseDockerHost(bad), undefined, bad);
    assert.equal(isDockerHost(bad), false, bad);
  }
});

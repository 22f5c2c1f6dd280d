// The faithfulness comparison names each kind of difference between Compose's reading and the
// rendered spec, and stays quiet about one the account already explains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Field } from './account.js';
import { composeProjectSchema } from './compose-schema.js';
import { compareImport } from './faithful.js';

const project = composeProjectSchema.parse({
  name: 'shop',
  services: {
    web: {
      image: 'nginx:1.27',
      command: ['nginx', '-g', 'daemon off;'],
      environment: { A: '1', B: '2' },
      volumes: [{ type: 'volume', source: 'data', target: '/data' }],
      networks: { default: null },
    },
    worker: { image: 'busybox:1.36', networks: { default: null } },
  },
});
const components = { web: 'web', worker: 'worker' };
const faithful = {
  services: {
    web: {
      image: 'nginx:1.27',
      command: ['nginx', '-g', 'daemon off;'],
      environment: { A: '1', B_FILE: '/run/secrets/b', PORT: '80' },
      volumes: [{ type: 'volume', source: 'data', target: '/data' }],
      networks: ['edge'],
    },
    worker: { image: 'busybox:1.36', networks: ['edge'] },
  },
};

test('a faithful render: no difference', () => {
  assert.deepEqual(compareImport(project, components, [], stringify(faithful)), []);
});

test('each lost aspect is named: image, command, env key, volume target, reach, missing service', () => {
  const bad = structuredClone(faithful) as any;
  bad.services.web.image = 'nginx:1.26';
  bad.services.web.command = ['nginx'];
  delete bad.services.web.environment.A;
  bad.services.web.volumes = [];
  bad.services.worker.networks = ['backend'];
  const diffs = compareImport(project, components, [], stringify(bad));
  assert.deepEqual(diffs.map((d) => `${d.service} ${d.aspect} ${d.compose}`).sort(), [
    'web command ["nginx","-g","daemon off;"]',
    'web env A',
    'web image nginx:1.27',
    'web reach worker',
    'web volume /data',
    'worker reach web',
  ]);
  delete bad.services.worker;
  assert.ok(compareImport(project, components, [], stringify(bad)).some((d) => d.service === 'worker' && d.aspect === 'missing'));
});

test('a difference the account explains is not repeated', () => {
  const bad = structuredClone(faithful) as any;
  delete bad.services.web.environment.A;
  bad.services.web.volumes = [];
  const fields: Field[] = [
    { path: 'services.web.environment.A', outcome: 'dropped', to: null, why: 'no value in the environment Compose read' },
    { path: 'services.web.volumes[0]', outcome: 'changed', to: 'services.web.volumes', why: 'mounted elsewhere' },
  ];
  assert.deepEqual(compareImport(project, components, fields, stringify(bad)), []);
});

// `plan --target k8s` over two renders of the api template: per object created, changed (the
// field paths) or deleted, and a Secret only ever "changed". In memory, no process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templatePlan } from '../../test/support/templates.js';
import { loadRenderer, renderAll } from '../render/index.js';
import { secretFileName, secretsNeeded } from '../render/k8s/index.js';
import type { Plan } from '../plan/model.js';
import { diffK8s, SECRET_CHANGED } from './plan-k8s.js';

await loadRenderer('k8s');

const VALUE = 'c3VwZXItc2VjcmV0LXZhbHVl'; // what a Secret's data holds: never printed
const sealed = (p: Plan, value: string) =>
  Object.fromEntries(
    secretsNeeded(p).map((n) => [
      n,
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${n}\n  namespace: ${p.name}\ndata:\n  ${n}: ${value}\n`,
    ]),
  );
const configMap = (name: string) => ({
  path: `apps/base/${name}.yaml`,
  contents: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\n`,
});

test('the same tree rendered twice: nothing to apply', () => {
  const p = templatePlan('api');
  const files = renderAll(p, 'k8s', { sealedSecrets: sealed(p, VALUE) });
  const r = diffK8s(files, renderAll(p, 'k8s', { sealedSecrets: sealed(p, VALUE) }));
  assert.deepEqual(r.objects, []);
  assert.ok(r.unchanged > 10, `${r.unchanged} objects compared`);
});

test('an env change, a new object, a removed one and a secret: created, changed with its field paths, deleted; the secret only as changed', () => {
  const p = templatePlan('api');
  const before = [...renderAll(p, 'k8s', { sealedSecrets: sealed(p, 'b2xkLXZhbHVl') }), configMap('old')];
  const next = templatePlan('api');
  const api = next.components.find((c) => c.name === 'api')!;
  api.env.LOG_LEVEL = 'debug';
  const after = [...renderAll(next, 'k8s', { sealedSecrets: sealed(next, VALUE) }), configMap('new')];
  const r = diffK8s(before, after);
  const secret = secretsNeeded(p)[0]!;
  const by = (o: string) => r.objects.find((x) => x.object === o);
  assert.deepEqual(by('ConfigMap/shop/new'), { object: 'ConfigMap/shop/new', action: 'create', fields: [], file: 'apps/base/new.yaml' });
  assert.deepEqual(by('ConfigMap/shop/old'), { object: 'ConfigMap/shop/old', action: 'delete', fields: [], file: 'apps/base/old.yaml' });
  assert.deepEqual(by(`Secret/shop/${secret}`), {
    object: `Secret/shop/${secret}`,
    action: 'change',
    fields: [SECRET_CHANGED],
    file: secretFileName(secret),
  });
  const deployment = r.objects.find((x) => x.object.startsWith('Deployment/') && x.object.endsWith('/api'))!;
  assert.equal(deployment.action, 'change');
  assert.deepEqual(deployment.fields, [
    'spec.template.spec.containers[api].env[LOG_LEVEL].name',
    'spec.template.spec.containers[api].env[LOG_LEVEL].value',
  ]);
  assert.ok(!JSON.stringify(r).includes(VALUE), 'no secret value in the plan');
});

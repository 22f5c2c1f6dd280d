// services.NAME.capAdd and labels (carried over by `wharf import compose`) reach every target:
// Compose and Swarm as cap_add and labels, Kubernetes as capabilities.add and pod annotations;
// wharf's own label prefixes are refused by the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { buildPlan } from '../../src/plan/build.js';
import { loadRenderer, renderAll } from '../../src/render/index.js';
import { parseSpecText } from '../../src/spec/load.js';

const spec = (extra: string) =>
  ['name: shop', 'domain: shop.localhost', 'services:', '  web:', '    image: nginx:1.27', '    port: 80', extra].join('\n');

function planOf(text: string) {
  const r = parseSpecText(text);
  assert.ok(r.stack, r.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  return buildPlan(r.stack, { secretsDir: '../secrets', projectDir: '../..' });
}

const extra = '    capAdd: [NET_ADMIN]\n    labels: {com.example.team: shop, "example.org/owner": ops}\n';

test('capAdd and labels render as cap_add and labels on Compose and Swarm', () => {
  const plan = planOf(spec(extra));
  for (const target of ['compose', 'swarm'] as const) {
    const secretHashes = Object.fromEntries(plan.secrets.map((x) => [x.name, '0123456789ab']));
    const file = renderAll(plan, target, { secretHashes }).find((f) => f.path === (target === 'compose' ? 'compose.yaml' : 'stack.yaml'));
    assert.ok(file, `${target}: no stack file`);
    const web = (parse(file.contents) as { services: Record<string, any> }).services.web;
    assert.deepEqual(web.cap_add, ['NET_ADMIN'], target);
    assert.equal(web.labels['com.example.team'], 'shop', target);
    assert.equal(web.labels['example.org/owner'], 'ops', target);
    assert.equal(web.labels['dev.wharf.service'], 'web', `${target}: wharf's own labels stay`);
  }
});

test('capAdd and labels render as capabilities.add and pod annotations on Kubernetes', async () => {
  await loadRenderer('k8s');
  const docs = renderAll(planOf(spec(extra)), 'k8s')
    .filter((f) => f.path.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => d.toJS() as Record<string, any>));
  const web = docs.find((d) => d?.kind === 'Deployment' && d.metadata?.name === 'web');
  assert.ok(web, 'no web Deployment');
  const pod = web.spec.template;
  assert.equal(pod.metadata.annotations['com.example.team'], 'shop');
  assert.deepEqual(pod.spec.containers[0].securityContext.capabilities.add, ['NET_ADMIN']);
});

test("wharf's own, Compose's and the edge's label prefixes are refused by the schema", () => {
  for (const key of ['dev.wharf.role', 'com.docker.compose.project', 'traefik.enable']) {
    const r = parseSpecText(spec(`    labels: {${key}: x}\n`));
    assert.ok(
      r.issues.some((i) => i.severity === 'error' && i.path.includes('labels')),
      `${key} accepted`,
    );
  }
});

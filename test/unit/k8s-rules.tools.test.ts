// `wharf check --target k8s`: each rule fires on the mistake it names in a tampered copy of
// the rendered tree, stays quiet on the tree wharf renders, and the CLI reports the ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { lint, policyRules, rulesFor } from '../../src/check/policy.js';
import { checkK8sDocuments, k8sDocuments, k8sRules, readK8sTree, type K8sDoc } from '../../src/check/k8s-rules.js';
import { k8sComponents } from '../../src/render/k8s/index.js';
import { loadVariant, repoRoot, templatePlan, variants } from '../support/templates.js';

const rules = (docs: K8sDoc[], id: string) => checkK8sDocuments(docs).filter((f) => f.rule === id);
const clone = (docs: K8sDoc[]) => docs.map((d) => ({ file: d.file, doc: structuredClone(d.doc) }));

test('k8s rule ids are unique, K8S-numbered and distinct from the policy rules; rulesFor selects them', async () => {
  const ids = k8sRules.map((r) => r.id);
  assert.deepEqual(ids, ['K8S001', 'K8S002', 'K8S003', 'K8S004', 'K8S005']);
  assert.ok(!ids.some((id) => policyRules.some((r) => r.id === id)));
  assert.deepEqual(
    (await rulesFor('k8s')).map((r) => r.id),
    [...policyRules.map((r) => r.id), ...ids],
  );
});

for (const v of [...variants, { id: 'k3s', template: 'k3s' }]) {
  test(`k8s rules on the rendered ${v.id} tree: only the components without a healthcheck are named`, () => {
    const { plan } = loadVariant(v);
    const f = checkK8sDocuments(k8sDocuments(plan));
    // the backup runs as CronJobs: a run to completion has no probes to give
    const unprobed = k8sComponents(plan)
      .filter((c) => !c.healthcheck && c.role !== 'backup')
      .map((c) => c.name)
      .sort();
    assert.deepEqual(
      f.map((x) => x.rule).filter((r) => r !== 'K8S001'),
      [],
    );
    assert.deepEqual(f.map((x) => /container (\S+)/.exec(x.message)![1]).sort(), unprobed);
  });
}

test('K8S001 names a workload without probes or limits', () => {
  const docs = clone(k8sDocuments(templatePlan('api')));
  const api = docs.find((d) => d.doc.kind === 'Deployment' && d.doc.metadata.name === 'api')!;
  delete api.doc.spec.template.spec.containers[0].readinessProbe;
  delete api.doc.spec.template.spec.containers[0].resources.limits;
  const f = rules(docs, 'K8S001').filter((x) => x.path.includes('Deployment shop/api'));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /no readiness probe, no CPU and memory limits/);
  // a backup CronJob needs no probes, but its limits
  const cron = docs.find((d) => d.doc.kind === 'CronJob' && d.doc.metadata.name === 'backup-db')!;
  assert.deepEqual(
    rules(docs, 'K8S001').filter((x) => x.path.includes('CronJob')),
    [],
  );
  delete cron.doc.spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory;
  assert.deepEqual(
    rules(docs, 'K8S001')
      .filter((x) => x.path.includes('CronJob'))
      .map((x) => [x.path, x.message]),
    [['apps/base/backup.yaml: CronJob shop/backup-db', 'container backup has no CPU and memory limits']],
  );
  cron.doc.spec.jobTemplate.spec.template.spec.containers[0].image = 'restic/restic';
  assert.ok(
    rules(docs, 'K8S005').some((x) => x.path === 'apps/base/backup.yaml: CronJob shop/backup-db'),
    'an unpinned CronJob image is named too',
  );
});

test('K8S002 refuses a plaintext Secret anywhere in the tree and accepts a SOPS-encrypted one', () => {
  const docs = clone(k8sDocuments(templatePlan('api')));
  docs.push({
    file: 'apps/base/db-password.yaml',
    doc: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password', namespace: 'shop' }, stringData: { 'db-password': 'x' } },
  });
  const f = rules(docs, 'K8S002');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'error');
  assert.match(f[0]!.path, /^apps\/base\/db-password\.yaml: Secret shop\/db-password$/);
  docs[docs.length - 1]!.doc.sops = { mac: 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]', age: [{ recipient: 'age1x', enc: '...' }] };
  assert.deepEqual(rules(docs, 'K8S002'), []);
});

test('K8S003 names a namespace whose default-deny is missing or allows something', () => {
  const base = k8sDocuments(templatePlan('api'));
  const without = clone(base).filter(
    (d) => !(d.doc.kind === 'NetworkPolicy' && d.doc.metadata.name === 'default-deny' && d.doc.metadata.namespace === 'shop'),
  );
  assert.deepEqual(
    rules(without, 'K8S003').map((f) => f.path),
    ['infrastructure/configs/namespace.yaml: Namespace shop'],
  );
  // the host namespace of node-exporter is judged on its own
  const hostless = clone(base).filter(
    (d) => !(d.doc.kind === 'NetworkPolicy' && d.doc.metadata.name === 'default-deny' && d.doc.metadata.namespace === 'shop-host'),
  );
  assert.deepEqual(
    rules(hostless, 'K8S003').map((f) => f.path),
    ['infrastructure/configs/namespace.yaml: Namespace shop-host'],
  );
  const leaky = clone(base);
  leaky.find((d) => d.doc.metadata?.name === 'default-deny')!.doc.spec.ingress = [{}];
  assert.equal(rules(leaky, 'K8S003').length, 1);
  const ingressOnly = clone(base);
  ingressOnly.find((d) => d.doc.metadata?.name === 'default-deny')!.doc.spec.policyTypes = ['Ingress'];
  assert.match(rules(ingressOnly, 'K8S003')[0]!.message, /namespace shop has no default-deny/);
});

test('K8S004 refuses a database or cache Service of type NodePort or LoadBalancer, not an app one', () => {
  const docs = clone(k8sDocuments(templatePlan('api')));
  docs.find((d) => d.doc.kind === 'Service' && d.doc.metadata.name === 'db')!.doc.spec.type = 'NodePort';
  docs.find((d) => d.doc.kind === 'Service' && d.doc.metadata.name === 'cache')!.doc.spec.type = 'LoadBalancer';
  docs.find((d) => d.doc.kind === 'Service' && d.doc.metadata.name === 'api')!.doc.spec.type = 'LoadBalancer';
  assert.deepEqual(
    rules(docs, 'K8S004')
      .map((f) => f.path)
      .sort(),
    ['apps/base/cache.yaml: Service shop/cache', 'apps/base/db.yaml: Service shop/db'],
  );
});

test('K8S005 names a latest or untagged image, from the spec through the plan', () => {
  const { stack, plan } = loadVariant({
    template: 'api',
    change: (d) => {
      d.images = { ...d.images, postgres: 'postgres:latest' };
    },
  });
  const f = lint(stack, plan, k8sRules).filter((x) => x.rule === 'K8S005');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /container db runs postgres:latest/);
  const docs = clone(k8sDocuments(templatePlan('api')));
  docs.find((d) => d.doc.kind === 'Deployment')!.doc.spec.template.spec.containers[0].image = 'nginx';
  assert.equal(rules(docs, 'K8S005').length, 1);
});

test('wharf check --target k8s reports the k8s rule ids', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-check-'));
  try {
    const doc = parse(readFileSync(join(repoRoot, 'templates', 'api.yaml'), 'utf8')) as Record<string, any>;
    writeFileSync(join(dir, 'wharf.yaml'), stringify({ ...doc, images: { ...doc.images, postgres: 'postgres:latest' } }));
    const r = await execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'check', '--target', 'k8s', '--format', 'json'], {
      cwd: dir,
      reject: false,
      env: { NO_COLOR: '1' },
    });
    const findings = (JSON.parse(r.stdout) as { issues: Array<{ rule: string }> }).issues;
    assert.ok(
      findings.some((f) => f.rule === 'K8S005'),
      r.stdout,
    );
    // every workload of the api template has probes and limits (its Redis exporter had none)
    assert.ok(!findings.some((f) => f.rule === 'K8S001'), r.stdout);
    assert.notEqual(r.exitCode, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'wharf check --target k8s reads the rendered tree on disk: sealed Secrets pass, a plaintext one added by hand is named',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-tree-'));
    const wharf = (...args: string[]) =>
      execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    const k8s002 = async () =>
      (
        JSON.parse((await wharf('check', '--target', 'k8s', '--format', 'json')).stdout) as {
          issues: Array<{ rule: string; path: string }>;
        }
      ).issues.filter((f) => f.rule === 'K8S002');
    try {
      writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(repoRoot, 'templates', 'api.yaml')));
      assert.equal((await wharf('render', '--target', 'k8s')).exitCode, 0);
      assert.ok(
        readK8sTree(join(dir, '.wharf', 'k8s')).filter((d) => d.doc.kind === 'Secret').length >= 3,
        'the tree holds sealed Secrets',
      );
      assert.deepEqual(await k8s002(), []);
      writeFileSync(
        join(dir, '.wharf', 'k8s', 'apps', 'base', 'extra.yaml'),
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: extra\n  namespace: shop\nstringData:\n  token: not-so-secret\n',
      );
      assert.deepEqual(
        (await k8s002()).map((f) => f.path),
        ['apps/base/extra.yaml: Secret shop/extra'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

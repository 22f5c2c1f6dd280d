// The k8s target offline, without a process: snapshots of the api, haproxy-mysql and k3s trees,
// and every document read back from its YAML and validated against the schema of its kind
// (kubernetes-models, made from the Kubernetes OpenAPI; the Flux, Traefik and cert-manager CRD
// packages) and against the official OpenAPI definitions of the pinned Kubernetes version (ajv,
// strict). kubectl kustomize: k8s.tools.test.ts; secrets: k8s-secrets.tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { CronJob } from 'kubernetes-models/batch/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import { HelmRelease } from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import { HelmRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import { strimziValidator } from '../../../test/support/strimzi-crds.js';
import { IngressRoute, Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1';
import { Certificate, ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { k8sSchemaErrors, K8S_SCHEMA_VERSION } from '../../../test/support/k8s-schema.js';
import { docsOf, k8sVariants, listFiles, render, writeTree } from '../../../test/support/k8s-tree.js';
import { repoRoot } from '../../../test/support/templates.js';
import { K3S_VERSION } from '../../plan/cluster.js';

const snapRoot = join(repoRoot, 'test', 'snapshots', 'k8s');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const snapshotted = ['api', 'haproxy-mysql', 'k3s'];
const strimzi = strimziValidator();

const models: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': Kustomization,
  'traefik.io/v1alpha1/IngressRoute': IngressRoute,
  'traefik.io/v1alpha1/Middleware': Middleware,
  'cert-manager.io/v1/Certificate': Certificate,
  'cert-manager.io/v1/ClusterIssuer': ClusterIssuer,
  'v1/ConfigMap': ConfigMap,
  'v1/ServiceAccount': ServiceAccount,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/DaemonSet': DaemonSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/CronJob': CronJob,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'helm.toolkit.fluxcd.io/v2/HelmRelease': HelmRelease,
  'source.toolkit.fluxcd.io/v1/HelmRepository': HelmRepository,
  // Strimzi's own CRD schemas (test/data/strimzi-0.45.2), through ajv
  ...Object.fromEntries(
    ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser'].map((k) => [
      `kafka.strimzi.io/v1beta2/${k}`,
      class {
        constructor(private d: any) {}
        validate() {
          strimzi.check(this.d);
        }
      },
    ]),
  ),
};
/** Kinds whose schema is a CRD's (the @kubernetes-models packages), not the Kubernetes API's. */
const crdGroups =
  /^(kustomize\.toolkit\.fluxcd\.io|helm\.toolkit\.fluxcd\.io|source\.toolkit\.fluxcd\.io|traefik\.io|cert-manager\.io|kafka\.strimzi\.io)\//;

for (const id of snapshotted) {
  test(`k8s snapshot: ${id}`, () => {
    const { files } = render(id);
    const dir = join(snapRoot, id);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      writeTree(dir, files);
    }
    assert.deepEqual(
      files.map((f) => f.path).sort(),
      listFiles(dir)
        .map((p) => relative(dir, p))
        .sort(),
      `k8s/${id} file list differs (UPDATE_SNAPSHOTS=1 to accept)`,
    );
    for (const f of files)
      assert.equal(f.contents, readFileSync(join(dir, f.path), 'utf8'), `k8s/${id}/${f.path} differs from its snapshot`);
    assert.deepEqual(render(id).files, files, 'rendering twice gives the same tree');
  });
}

for (const v of k8sVariants) {
  test(`k8s: every document of ${v.id} validates against its kind's schema, read back from YAML`, () => {
    const { files } = render(v.id);
    const docs = docsOf(files);
    assert.ok(docs.length > 10);
    for (const { file, doc } of docs) {
      const Model = models[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Model, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`);
      assert.doesNotThrow(() => new Model(doc).validate(), `${file}: ${doc.kind} ${doc.metadata?.name}`);
      if (!crdGroups.test(doc.apiVersion)) {
        // and against the official OpenAPI definition of the pinned version, unknown fields refused
        assert.deepEqual(k8sSchemaErrors(doc), [], `${file}: ${doc.kind} ${doc.metadata?.name} against Kubernetes ${K8S_SCHEMA_VERSION}`);
      }
      assert.deepEqual(Object.keys(doc).slice(0, 3), ['apiVersion', 'kind', 'metadata'], `${file}: apiVersion, kind, metadata come first`);
    }
    // a document the schema refuses really is refused (the validation is not a no-op)
    const dep = docs.find((d) => d.doc.kind === 'Deployment')!.doc;
    assert.throws(() => new Deployment({ ...dep, spec: { ...dep.spec, replicas: 'three' } }).validate());
    assert.deepEqual(k8sSchemaErrors({ ...dep, spec: { ...dep.spec, replicas: 'three' } }), ['/spec/replicas must be integer']);
    assert.deepEqual(
      k8sSchemaErrors({ ...dep, spec: { ...dep.spec, replica: 3 } }),
      ['/spec must NOT have additional properties: replica'],
      'a field the API does not know is refused',
    );
  });
}

test('k8s: the Kubernetes schemas the tree is validated against are those of the K3s release the K3s role installs', () => {
  assert.equal(K3S_VERSION.replace(/^v/, '').replace(/\+k3s\d+$/, ''), K8S_SCHEMA_VERSION);
});

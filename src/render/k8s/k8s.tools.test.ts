// The k8s target offline: snapshots of the api and haproxy-mysql trees, every document read
// back from its YAML and validated against the schema of its kind (kubernetes-models, made
// from the Kubernetes OpenAPI; the Flux, Traefik and cert-manager CRD packages) and against
// the official OpenAPI definitions of the pinned Kubernetes version (ajv, strict), the real
// `kubectl kustomize` building every directory, the NetworkPolicies allowing exactly the
// plan's edges, and no generated secret value anywhere in the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createDecipheriv, createHash } from 'node:crypto';
import { execa } from 'execa';
import fc from 'fast-check';
import { decryptSops } from 'sops-age';
import { checkK8sDocuments } from '../../check/k8s-rules.js';
import { parseAllDocuments } from 'yaml';
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
import { loadRenderer, renderAll } from '../index.js';
import type { Plan } from '../../plan/model.js';
import { k8sComponents, k8sPaths, secretsNeeded } from './index.js';
import { k8sSchemaErrors, K8S_SCHEMA_VERSION } from '../../../test/support/k8s-schema.js';
import { toolPath } from '../../../test/support/tools.js';
import { propertyParams } from '../../../test/support/property.js';
import { leaks, secretInventory } from '../../../test/support/secret-values.js';
import { loadVariant, repoRoot, variants } from '../../../test/support/templates.js';
import { K3S_VERSION } from '../../plan/cluster.js';
import { probeCommand } from '../probes.js';
import { deepCopy } from '../../plan/copy.js';

await loadRenderer('k8s');
const snapRoot = join(repoRoot, 'test', 'snapshots', 'k8s');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const snapshotted = ['api', 'haproxy-mysql', 'k3s'];
// k3s has messaging: (k8s only), so it is not among the variants every target renders
const k8sVariants = [...variants, { id: 'k3s', template: 'k3s' }];
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

function render(id: string) {
  const { plan } = loadVariant(k8sVariants.find((v) => v.id === id)!);
  return { plan, files: renderAll(plan, 'k8s') };
}

type Doc = Record<string, any>;
const docsOf = (files: { path: string; contents: string }[]): Array<{ file: string; doc: Doc }> =>
  files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml') && f.path !== '.sops.yaml')
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => ({ file: f.path, doc: d.toJS() as Doc })));

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

function writeTree(dir: string, files: { path: string; contents: string }[]) {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.contents);
  }
}

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

  test(`k8s: kubectl kustomize builds every directory of ${v.id}`, { timeout: 120_000 }, async (t) => {
    const kubectl = toolPath('kubectl');
    if (!kubectl) return t.skip('kubectl (kubernetes-client) is not installed');
    const { plan, files } = render(v.id);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-'));
    try {
      writeTree(dir, files);
      const dirs = files
        .filter((f) => f.path.endsWith('kustomization.yaml'))
        .map((f) => dirname(f.path))
        .sort();
      // cert-manager for issuers (every template), Strimzi only with messaging
      assert.deepEqual(
        dirs,
        [
          'apps/base',
          k8sPaths.overlay(plan),
          k8sPaths.cluster(plan),
          k8sPaths.infra,
          ...(plan.tls.mode === 'files' ? [] : [k8sPaths.controllers]),
        ].sort(),
      );
      for (const d of dirs) {
        const r: { exitCode?: number; stderr: string; stdout: string } = await execa(kubectl, ['kustomize', join(dir, d)], {
          reject: false,
        });
        assert.equal(r.exitCode, 0, `kubectl kustomize ${d}: ${r.stderr}`);
        const built = parseAllDocuments(r.stdout).map((x) => x.toJS() as Doc);
        const own = docsOf(files.filter((f) => f.path.startsWith(`${d === k8sPaths.overlay(plan) ? 'apps/base' : d}/`)));
        assert.equal(built.length, own.length, `${d}: kustomize emits every document of the directory`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('k8s: an autoscaled service with a volume is a StatefulSet its HPA scales (no fixed count), each replica with its claim', () => {
  const { plan } = loadVariant({
    template: 'api',
    change: (d) => {
      delete d.services.api.build;
      d.services.api.image = 'registry.example.com/shop/api:1.4.2';
      d.services.api.volumes = [{ name: 'uploads', target: '/uploads' }];
    },
  });
  const docs = docsOf(renderAll(plan, 'k8s')).map((d) => d.doc);
  const api = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'api')!;
  assert.equal(api.spec.replicas, undefined, 'the HPA owns the count');
  assert.deepEqual(
    api.spec.volumeClaimTemplates.map((t: Doc) => t.metadata.name),
    ['uploads'],
  );
  assert.deepEqual(
    api.spec.persistentVolumeClaimRetentionPolicy,
    { whenDeleted: 'Retain', whenScaled: 'Retain' },
    'a scaled-down replica keeps its data',
  );
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler' && d.metadata.name === 'api')!;
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'api' });
  for (const d of [api, hpa]) assert.deepEqual(k8sSchemaErrors(d), []);
});

test('k8s workloads: probes, limits, hardening, drain, rollout and placement from the plan', () => {
  const { plan, files } = render('api');
  const docs = docsOf(files).map((d) => d.doc);
  const workload = (n: string) => docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.kind) && d.metadata.name === n)!;
  const api = workload('api');
  assert.equal(api.kind, 'Deployment');
  // autoscaled: the HPA owns the count (a fixed one would be reset on every Flux apply)
  assert.equal(api.spec.replicas, undefined);
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
  assert.deepEqual(
    [hpa.metadata.name, hpa.spec.scaleTargetRef, hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics],
    [
      'api',
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      3,
      6,
      [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    ],
  );
  assert.deepEqual(
    docs.filter((d) => d.kind === 'HorizontalPodAutoscaler').map((d) => d.metadata.name),
    ['api'],
    'only what the spec autoscales',
  );
  assert.deepEqual(api.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 }, 'start-first');
  const c = api.spec.template.spec.containers[0];
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/health', port: 3000, scheme: 'HTTP' });
  // readiness asks /ready (200 only while PostgreSQL and Redis answer), liveness /health
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/ready', port: 3000, scheme: 'HTTP' });
  assert.equal(c.readinessProbe.failureThreshold, 1);
  assert.ok(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds >= 20, 'startup covers the start period');
  assert.deepEqual(c.lifecycle.preStop, { sleep: { seconds: 5 } });
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.equal(api.spec.template.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '256Mi' });
  const db = workload('db');
  assert.equal(db.kind, 'StatefulSet');
  assert.equal(db.spec.serviceName, 'db-headless');
  assert.deepEqual(db.spec.template.spec.nodeSelector, { 'wharf.db': 'true' });
  assert.deepEqual(
    db.spec.volumeClaimTemplates.map((v: Doc) => [v.metadata.name, v.spec.storageClassName]),
    [['db-data', 'local-path']],
  );
  assert.deepEqual(
    db.spec.template.spec.containers[0].livenessProbe.exec.command,
    probeCommand(plan.components.find((x) => x.name === 'db')!.healthcheck!.probe),
  );
  // local-path volumes are root-owned: PostgreSQL keeps its data one directory below the mount
  assert.deepEqual(
    db.spec.template.spec.containers[0].env.find((e: Doc) => e.name === 'PGDATA'),
    { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
  );
  const headless = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'db-headless')!;
  assert.equal(headless.spec.clusterIP, 'None');
  for (const d of docs.filter((x) => x.kind === 'Service'))
    assert.ok(!d.spec.type || d.spec.type === 'ClusterIP', `${d.metadata.name} stays inside the cluster`);
  // a PDB for every long-running workload but the per-node agent; none for the backup CronJobs
  const names = k8sComponents(plan)
    .map((x) => x.name)
    .filter((n) => !['node-exporter', 'backup'].includes(n));
  assert.deepEqual(
    docs
      .filter((d) => d.kind === 'PodDisruptionBudget')
      .map((d) => d.metadata.name)
      .sort(),
    names,
  );
  const apps = docs.find((d) => d.kind === 'Kustomization' && d.metadata.name === 'apps')!;
  assert.deepEqual(apps.spec.dependsOn, [{ name: 'infra-configs' }]);
  assert.deepEqual(apps.spec.decryption, { provider: 'sops', secretRef: { name: 'sops-age' } });
  const route = docs.find((d) => d.kind === 'IngressRoute' && d.metadata.name === 'api')!;
  assert.deepEqual(
    route.spec.routes.map((r: Doc) => r.match),
    ['Host(`api.shop.localhost`)', 'Host(`api.shop.localhost`) && PathRegexp(`(?i)^/metrics(/|$)`)'],
  );
  assert.deepEqual(
    route.spec.routes[1].middlewares.map((m: Doc) => m.name),
    ['security-headers', 'deny-all'],
  );
});

for (const template of ['api', 'haproxy-mysql', 'k3s']) {
  test(
    `k8s: wharf render --target k8s writes the tree and no generated secret value is in it (${template})`,
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-leak-'));
      try {
        writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(repoRoot, 'templates', `${template}.yaml`)));
        const r = await execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'render', '--target', 'k8s'], {
          cwd: dir,
          reject: false,
          env: { NO_COLOR: '1' },
        });
        assert.equal(r.exitCode, 0, r.stderr);
        const out = join(dir, '.wharf', 'k8s');
        const tree = listFiles(out);
        assert.ok(tree.some((p) => p.endsWith('apps/base/kustomization.yaml')));
        const { plan } = loadVariant({ template });
        const inv = secretInventory(plan, join(dir, '.wharf', 'secrets'));
        assert.ok(inv.values.length >= plan.secrets.length - inv.skipped.length);
        assert.deepEqual(
          leaks(inv, [
            ...tree.map((p) => ({ name: relative(out, p), text: readFileSync(p, 'utf8') })),
            { name: 'stdout', text: r.stdout + r.stderr },
          ]),
          [],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

/** sops' MAC, recomputed here from the document: SHA-512 of every value in order, upper-case hex. */
function sopsMac(doc: Doc): string {
  const h = createHash('sha512');
  const walk = (v: unknown): void => {
    if (typeof v === 'string') h.update(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  const { sops: _, ...rest } = doc;
  walk(rest);
  return h.digest('hex').toUpperCase();
}

function aesGcmOpen(enc: string, key: Buffer, aad: string): string {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:str\]$/.exec(enc)!;
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(m[3]!, 'base64'));
  return Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString('utf8');
}

for (const template of ['api', 'haproxy-mysql', 'k3s']) {
  test(
    `k8s: every Secret is SOPS-encrypted; sops-age and the age binary open it, the MAC holds, a re-render keeps it (${template})`,
    { timeout: 180_000 },
    async (t) => {
      const ageBin = toolPath('age');
      if (!ageBin) return t.skip('age is not installed');
      const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-sops-'));
      const wharf = () =>
        execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'render', '--target', 'k8s'], {
          cwd: dir,
          reject: false,
          env: { NO_COLOR: '1' },
        });
      try {
        writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(repoRoot, 'templates', `${template}.yaml`)));
        const r = await wharf();
        assert.equal(r.exitCode, 0, r.stderr);
        const out = join(dir, '.wharf', 'k8s');
        const secretsDir = join(dir, '.wharf', 'secrets');
        const keyFile = join(secretsDir, 'sops-age-key');
        const identity = readFileSync(keyFile, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
        assert.match(r.stdout, /kubectl -n flux-system create secret generic sops-age --from-file=age\.agekey=/);
        const recipient = /age: (age1\w+)/.exec(readFileSync(join(out, '.sops.yaml'), 'utf8'))![1]!;
        const { plan } = loadVariant({ template });
        const needed = secretsNeeded(plan);
        assert.ok(needed.length >= 3);
        const files = needed.map((n) => join(out, 'apps', 'base', `secret-${n}.sops.yaml`));
        for (const [i, name] of needed.entries()) {
          const text = readFileSync(files[i]!, 'utf8');
          const value = readFileSync(join(secretsDir, name), 'utf8');
          const doc = parseAllDocuments(text)[0]!.toJS() as Doc;
          assert.deepEqual(
            doc.sops.age.map((a: Doc) => a.recipient),
            [recipient],
          );
          // an independent SOPS implementation opens it to exactly the generated value
          const opened = (await decryptSops(text, { secretKey: identity, fileType: 'yaml' })) as Doc;
          assert.equal(opened.stringData[name], value, `${name} opens to its value`);
          assert.deepEqual({ ...opened.metadata }, { name, namespace: plan.name });
          // the real age binary opens the data key; with it the MAC sops checks holds
          const keyPath = join(dir, 'data-key.age');
          writeFileSync(keyPath, doc.sops.age[0].enc);
          const agekey = join(dir, 'id.txt');
          writeFileSync(agekey, `${identity}\n`, { mode: 0o600 });
          // the key is raw bytes: a final 0x0a is part of it
          const dk: { stdout: Uint8Array } = await execa(ageBin, ['-d', '-i', agekey, keyPath], {
            encoding: 'buffer',
            stripFinalNewline: false,
          });
          assert.equal(dk.stdout.length, 32);
          assert.equal(aesGcmOpen(doc.sops.mac, Buffer.from(dk.stdout), doc.sops.lastmodified), sopsMac(opened));
          assert.equal(aesGcmOpen(doc.stringData[name], Buffer.from(dk.stdout), `stringData:${name}:`), value);
        }
        // K8S002 reads the tree on disk: every Secret carries SOPS metadata
        const onDisk = listFiles(out)
          .filter((p) => p.endsWith('.yaml') && !p.endsWith('/kustomization.yaml') && !p.endsWith('/.sops.yaml'))
          .flatMap((p) => parseAllDocuments(readFileSync(p, 'utf8')).map((d) => ({ file: relative(out, p), doc: d.toJS() as Doc })));
        assert.equal(onDisk.filter((d) => d.doc.kind === 'Secret').length, needed.length);
        assert.deepEqual(
          checkK8sDocuments(onDisk).filter((f) => f.rule === 'K8S002'),
          [],
        );
        assert.ok(!listFiles(out).some((p) => readFileSync(p, 'utf8').includes(identity)), 'the age identity is never in the tree');
        // kustomize keeps each Secret's SOPS metadata: Flux decrypts what the build emits
        const built = await execa(toolPath('kubectl')!, ['kustomize', join(out, k8sPaths.overlay(plan))]);
        const builtSecrets = parseAllDocuments(built.stdout)
          .map((x) => x.toJS() as Doc)
          .filter((d) => d.kind === 'Secret');
        assert.deepEqual(builtSecrets.map((d) => d.metadata.name).sort(), [...needed].sort());
        for (const d of builtSecrets)
          assert.equal(
            d.sops.mac,
            (parseAllDocuments(readFileSync(join(out, 'apps', 'base', `secret-${d.metadata.name}.sops.yaml`), 'utf8'))[0]!.toJS() as Doc)
              .sops.mac,
          );
        // a second render leaves every sealed file as it was; a changed secret is sealed anew, alone
        const before = files.map((f) => readFileSync(f, 'utf8'));
        assert.equal((await wharf()).exitCode, 0);
        assert.deepEqual(
          files.map((f) => readFileSync(f, 'utf8')),
          before,
        );
        writeFileSync(join(secretsDir, needed[0]!), 'a-changed-value-0123456789');
        assert.equal((await wharf()).exitCode, 0);
        const after = files.map((f) => readFileSync(f, 'utf8'));
        assert.notEqual(after[0], before[0]);
        assert.deepEqual(after.slice(1), before.slice(1));
        const reopened = (await decryptSops(after[0]!, { secretKey: identity, fileType: 'yaml' })) as Doc;
        assert.equal(reopened.stringData[needed[0]!], 'a-changed-value-0123456789');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

// Hostile strings in any plan field: the tree has the same files and YAML structure as for a
// plain twin value, and where the twin is a whole scalar the hostile value is too, intact.
const nasty = [
  '\n',
  '\r',
  '\x7f',
  '\u0085',
  '\u2029',
  '\x01',
  '"',
  "'",
  '`',
  '$',
  '${HOME}',
  ';',
  '\\',
  '#',
  ' ',
  '&',
  '|',
  '{{',
  '}}',
  'ü',
  '😀',
  '\t',
  ',',
  ':',
  '- ',
  '%',
  '---',
  '...',
  '\u2028',
];
const hostile = fc.oneof(
  fc.array(fc.constantFrom(...nasty, 'a', '/', 'x.y'), { minLength: 1, maxLength: 8 }).map((xs) => xs.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
);
const benign = (s: string) => Array.from(s, (c) => (/[A-Za-z0-9]/.test(c) ? c : 'x')).join('');

function stringLeaves(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...at, i]));
  // Duration and Size are parsed values (frozen), not strings a renderer receives
  if (v && typeof v === 'object' && !Object.isFrozen(v)) return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...at, k]));
  return [];
}
function setAt<T>(obj: T, path: Array<string | number>, value: string): T {
  const copy = deepCopy(obj) as any;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]!] = value;
  return copy;
}
function shape(text: string) {
  const docs = parseAllDocuments(text);
  for (const d of docs) assert.equal(d.errors.length, 0, String(d.errors[0]));
  const out = { docs: docs.length, maps: 0, seqs: 0, scalars: 0, strings: new Set<string>() };
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      out.seqs++;
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      out.maps++;
      Object.values(v).forEach(walk);
    } else {
      out.scalars++;
      if (typeof v === 'string') out.strings.add(v);
    }
  };
  docs.forEach((d) => walk(d.toJS()));
  return out;
}

for (const id of ['api', 'k3s'])
  test(`k8s: hostile strings in any plan field keep the tree's structure and arrive intact (${id})`, () => {
    const { plan } = render(id);
    const leaves = stringLeaves(plan);
    const tryRender = (p: Plan) => {
      try {
        return renderAll(p, 'k8s');
      } catch (e) {
        assert.ok(e instanceof Error);
        return undefined;
      }
    };
    let checked = 0;
    const params = propertyParams(120);
    fc.assert(
      fc.property(fc.nat(), hostile, (i, s) => {
        const path = leaves[i % leaves.length]!;
        const evil = `wq7${s}`,
          good = `wq7${benign(s)}`;
        const a = tryRender(setAt(plan, path, evil)),
          b = tryRender(setAt(plan, path, good));
        if (!a || !b) return;
        checked++;
        assert.deepEqual(
          a.map((f) => f.path),
          b.map((f) => f.path),
          `${path.join('.')}: same files`,
        );
        a.forEach((fa, k) => {
          const fb = b[k]!;
          const sa = shape(fa.contents),
            sb = shape(fb.contents);
          const where = `${path.join('.')} = ${JSON.stringify(evil)} in ${fa.path}`;
          assert.deepEqual([sa.docs, sa.maps, sa.seqs, sa.scalars], [sb.docs, sb.maps, sb.seqs, sb.scalars], `${where}: structure`);
          // a mount target is split into a directory and a file name (subPath): only its structure is compared
          if (sb.strings.has(good) && !/\.(secrets|mounts)\.\d+\.target$/.test(path.join('.')))
            assert.ok(sa.strings.has(evil), `${where}: value intact`);
        });
      }),
      params,
    );
    assert.ok(checked > params.numRuns / 4, `most injections render (${checked}/${params.numRuns})`);
  });

test('k8s: the Kubernetes schemas the tree is validated against are those of the K3s release the K3s role installs', () => {
  assert.equal(K3S_VERSION.replace(/^v/, '').replace(/\+k3s\d+$/, ''), K8S_SCHEMA_VERSION);
});

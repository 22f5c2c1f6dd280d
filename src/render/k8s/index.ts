// plan -> a Flux repository tree for Kubernetes (K3s). Pure: no fs, env, clock or randomness.
//
//   clusters/<name>/        Flux Kustomizations: controllers, then configs, then apps (dependsOn),
//                           apps decrypted with SOPS (secretRef sops-age in flux-system)
//   infrastructure/controllers/ cert-manager and Strimzi as HelmReleases (when the tree needs them)
//   infrastructure/configs/ the namespace, its NetworkPolicies, cert-manager ClusterIssuers
//                           and the host namespace of node agents (node-exporter)
//   apps/base/              per component: Deployment, StatefulSet or DaemonSet, Services,
//                           PDB, HPA, ConfigMaps of its config files, RBAC (Prometheus);
//                           backup CronJobs; the edge; the Kafka cluster, its topics and
//                           users (messaging.yaml)
//   apps/<name>/            the cluster's overlay of apps/base
// Every directory has an explicit kustomization.yaml, so `kustomize build` works on each.
//
// What runs here is the plan's view for K3s (view.ts): K3s's Traefik is the edge (no proxy
// component), the kubelet's cAdvisor replaces the cAdvisor container.
// Secrets are only ever written SOPS-encrypted (sealed by the caller, src/ops/seal.ts).
import type { Component, ConfigBundle, Plan } from '../../plan/model.js';
import { byCodeUnit } from '../../plan/sort.js';
import type { RenderedFile } from '../files.js';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import { clusterIssuers, edgeObjects } from './edge.js';
import { namespaceObject, networkPolicies } from './network.js';
import { yamlFile, yamlStream, type K8sObject } from './objects.js';
import { workloadObjects, type ConfigMapRef } from './workloads.js';
import { configHash, configMapObjects, configMapsOf, k8sConfigFiles, PROMETHEUS_SA, prometheusRbac } from './monitoring.js';
import { backupObjects } from './backup.js';
import { backupClaims, k8sView, KUBELET_JOB } from './view.js';
import { controllerFiles } from './controllers.js';
import { connectClient, messagingObjects } from './messaging.js';
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';

export { k8sView } from './view.js';

/** Node agents need host paths, which the stack namespace's Pod Security (baseline) refuses. */
export const hostNamespace = (plan: Plan) => `${plan.name}-host`;
export const namespaceOfIn = (plan: Plan) => (component: string) =>
  plan.components.find((c) => c.name === component)?.role === 'node-exporter' ? hostNamespace(plan) : plan.name;

export interface K8sOptions {
  /** age public key (age1...) that .sops.yaml encrypts to; without it no .sops.yaml is written */
  ageRecipient?: string;
  /** secret name -> its SOPS-encrypted Secret manifest (sealed outside the renderer: encryption is random) */
  sealedSecrets?: Record<string, string>;
  storageClass?: string;
  volumeSize?: string;
}

/** Where a sealed Secret lives in the tree, relative to it. */
export const secretFileName = (name: string) => `apps/base/secret-${name}.sops.yaml`;

export const k8sPaths = {
  cluster: (plan: Plan) => `clusters/${plan.name}`,
  controllers: 'infrastructure/controllers',
  infra: 'infrastructure/configs',
  base: 'apps/base',
  overlay: (plan: Plan) => `apps/${plan.name}`,
} as const;

/** The components this target renders, by name (the plan's view for K3s). */
export function k8sComponents(plan: Plan): Component[] {
  return k8sView(plan).components;
}

/** Secrets the rendered workloads mount: each must exist in the namespace (SOPS-encrypted in Git), key = its name. */
export function secretsNeeded(plan: Plan): string[] {
  const cs = k8sComponents(plan);
  const routes = plan.routes.filter((r) => cs.some((c) => c.name === r.service));
  const names = new Set(cs.flatMap((c) => c.secrets.map((s) => s.secret)));
  if (routes.some((r) => r.auth)) names.add(plan.proxy.authSecret);
  return [...names].sort(byCodeUnit);
}

/** The namespaces Prometheus finds pods in (role pod): those of the components it scrapes. */
function discoveredNamespaces(plan: Plan, namespaceOf: (c: string) => string): string[] {
  const jobs = plan.monitoring.scrapeJobs.filter((j) => j.discovery === 'dns' && j.job !== KUBELET_JOB);
  return [...new Set(jobs.map((j) => namespaceOf(j.component)))].sort(byCodeUnit);
}

export function renderK8s(input: Plan, opts: K8sOptions = {}): RenderedFile[] {
  const plan = k8sView(input);
  const ns = plan.name;
  const namespaceOf = namespaceOfIn(plan);
  const components = plan.components;
  const rendered = new Set(components.map((c) => c.name));
  const routes = plan.routes.filter((r) => rendered.has(r.service)).sort((a, b) => byCodeUnit(a.name, b.name));
  const files: RenderedFile[] = [];
  const add = (path: string, objects: K8sObject[]) => files.push({ path, contents: yamlStream(objects) });
  const kustomization = (dir: string, resources: string[], comment?: string, bases: string[] = []) =>
    files.push({
      path: `${dir}/kustomization.yaml`,
      contents: yamlFile(
        {
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          ...(bases.length ? { bases } : {}),
          ...(resources.length ? { resources } : {}),
        },
        comment,
      ),
    });

  // infrastructure/controllers, then infrastructure/configs
  const issuers = clusterIssuers(plan);
  const controllers = controllerFiles(plan, issuers.length > 0);
  for (const [f, objects] of Object.entries(controllers)) add(`${k8sPaths.controllers}/${f}`, objects);
  if (Object.keys(controllers).length) kustomization(k8sPaths.controllers, Object.keys(controllers).sort());
  const hostNs = components.some((c) => namespaceOf(c.name) !== ns);
  add(`${k8sPaths.infra}/namespace.yaml`, [
    namespaceObject(plan, ns),
    ...(hostNs ? [namespaceObject(plan, hostNamespace(plan), 'privileged')] : []),
  ]);
  add(`${k8sPaths.infra}/network-policies.yaml`, networkPolicies(plan, ns, rendered, namespaceOf));
  if (issuers.length) add(`${k8sPaths.infra}/cluster-issuers.yaml`, issuers);
  kustomization(k8sPaths.infra, ['namespace.yaml', 'network-policies.yaml', ...(issuers.length ? ['cluster-issuers.yaml'] : [])]);

  // apps/base and the cluster overlay
  const o = { namespace: ns, storageClass: opts.storageClass ?? 'local-path', volumeSize: opts.volumeSize ?? '1Gi' };
  const configFiles = k8sConfigFiles(plan, namespaceOf);
  const claims = backupClaims(plan);
  for (const c of components) {
    const maps = configMapsOf(c, configFiles);
    const namespace = namespaceOf(c.name);
    const wo = {
      ...o,
      namespace,
      configMaps: new Map<ConfigBundle, ConfigMapRef>(maps.map((m) => [m.bundle, m.ref])),
      sharedClaims: new Set(claims.all),
      ...(maps.length ? { podAnnotations: { 'wharf.dev/config-hash': configHash(maps) } } : {}),
      ...(c.role === 'prometheus' ? { serviceAccount: PROMETHEUS_SA } : {}),
    };
    const objects: K8sObject[] = [...configMapObjects(plan, c, namespace, maps)];
    if (c.role === 'prometheus')
      objects.push(
        ...prometheusRbac(
          plan,
          c,
          ns,
          discoveredNamespaces(plan, namespaceOf),
          plan.monitoring.scrapeJobs.some((j) => j.job === KUBELET_JOB),
        ),
      );
    objects.push(...(c.role === 'backup' ? backupObjects(plan, c, claims.own, wo) : workloadObjects(plan, c, wo)));
    const client = plan.messaging?.clients.find((x) => x.service === c.name);
    // a client that keeps data is a StatefulSet: the connection goes into whichever workload it has
    const workload = objects.find((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet');
    if (client) connectClient(workload as unknown as IDeployment | IStatefulSet, plan.messaging!, client);
    add(`${k8sPaths.base}/${c.name}.yaml`, objects);
  }
  if (plan.messaging) add(`${k8sPaths.base}/messaging.yaml`, messagingObjects(plan, plan.messaging, ns, o.storageClass));
  const edge = edgeObjects(plan, ns, routes);
  if (edge.length) add(`${k8sPaths.base}/edge.yaml`, edge);
  const needed = secretsNeeded(plan);
  const sealed = needed.filter((n) => opts.sealedSecrets?.[n]);
  for (const n of sealed) files.push({ path: secretFileName(n), contents: opts.sealedSecrets![n]! });
  const missing = needed.filter((n) => !opts.sealedSecrets?.[n]);
  kustomization(
    k8sPaths.base,
    [
      ...components.map((c) => `${c.name}.yaml`),
      ...(edge.length ? ['edge.yaml'] : []),
      ...(plan.messaging ? ['messaging.yaml'] : []),
      ...sealed.map((n) => secretFileName(n).slice(`${k8sPaths.base}/`.length)),
    ],
    missing.length
      ? `Secrets the workloads mount that are not in this tree (\`wharf render --target k8s\` seals them with SOPS): ${missing.join(', ')}`
      : undefined,
  );
  // `bases:` rather than a directory under `resources:`: kustomize v2 (Debian's kubectl 1.20)
  // reads only files there, and v3-v5 (Flux's kustomize-controller) still accept bases.
  kustomization(k8sPaths.overlay(plan), [], undefined, ['../base']);

  // clusters/<name>: what Flux applies, in order
  const flux = (name: string, path: string, extra: Record<string, unknown> = {}) =>
    new Kustomization({
      metadata: { name, namespace: 'flux-system' },
      spec: {
        interval: '10m',
        retryInterval: '1m',
        timeout: '5m',
        path,
        prune: true,
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'flux-system' },
        ...extra,
      },
    });
  const hasControllers = Object.keys(controllers).length > 0;
  add(`${k8sPaths.cluster(plan)}/infrastructure.yaml`, [
    ...(hasControllers ? [flux('infra-controllers', `./${k8sPaths.controllers}`)] : []),
    flux('infra-configs', `./${k8sPaths.infra}`, hasControllers ? { dependsOn: [{ name: 'infra-controllers' }] } : {}),
  ]);
  add(`${k8sPaths.cluster(plan)}/apps.yaml`, [
    flux('apps', `./${k8sPaths.overlay(plan)}`, {
      dependsOn: [{ name: 'infra-configs' }],
      decryption: { provider: 'sops', secretRef: { name: 'sops-age' } },
    }),
  ]);
  kustomization(k8sPaths.cluster(plan), ['apps.yaml', 'infrastructure.yaml']);

  if (opts.ageRecipient) {
    files.push({
      path: '.sops.yaml',
      contents: yamlFile({
        creation_rules: [{ path_regex: '.*\\.sops\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: opts.ageRecipient }],
      }),
    });
  }
  return files;
}

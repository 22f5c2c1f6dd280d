// infrastructure/controllers: the operators the tree's custom resources need, as Flux
// HelmRepository + HelmRelease pairs (in flux-system) with pinned chart versions, each
// release installed into its own namespace, which Helm creates (targetNamespace). Those
// namespaces get no default-deny from wharf: the operators need the API server, their
// webhooks and (Strimzi) the brokers, and that is not something to guess without a cluster.
// The charts install their CRDs (install/upgrade crds: CreateReplace), so Flux applies this
// directory first and the issuers and Strimzi objects that follow find their kinds.
import { HelmRelease } from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import { HelmRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import type { Plan } from '../../plan/model.js';
import type { K8sObject } from './objects.js';
import { STRIMZI_NAMESPACE } from './messaging.js';

export const CHARTS = {
  /** test/data/cert-manager-v1.16.5/values.schema.json is this chart's: the values below are checked against it */
  certManager: { repo: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.16.5', namespace: 'cert-manager' },
  /** the CRDs under test/data/strimzi-0.45.2 are this chart's */
  strimzi: { repo: 'https://strimzi.io/charts/', chart: 'strimzi-kafka-operator', version: '0.45.2', namespace: STRIMZI_NAMESPACE },
} as const;

function controller(name: string, c: (typeof CHARTS)[keyof typeof CHARTS], values: Record<string, unknown>): K8sObject[] {
  return [
    new HelmRepository({ metadata: { name, namespace: 'flux-system' }, spec: { url: c.repo, interval: '24h' } }),
    new HelmRelease({
      metadata: { name, namespace: 'flux-system' },
      spec: {
        interval: '30m',
        targetNamespace: c.namespace,
        releaseName: name,
        chart: { spec: { chart: c.chart, version: c.version, sourceRef: { kind: 'HelmRepository', name } } },
        install: { crds: 'CreateReplace', createNamespace: true, remediation: { retries: 3 } },
        upgrade: { crds: 'CreateReplace', remediation: { retries: 3 } },
        values,
      },
    }),
  ];
}

/** What the tree needs: cert-manager for issuers and Certificates, Strimzi for messaging. */
export function controllerFiles(plan: Plan, needsCertManager: boolean): Record<string, K8sObject[]> {
  const out: Record<string, K8sObject[]> = {};
  if (needsCertManager) out['cert-manager.yaml'] = controller('cert-manager', CHARTS.certManager, { crds: { enabled: true, keep: true } });
  if (plan.messaging) {
    out['strimzi.yaml'] = controller('strimzi', CHARTS.strimzi, {
      // the Kafka cluster lives in the stack's namespace, created after this release
      watchAnyNamespace: true,
      // the tree's NetworkPolicies (messaging.ts) are the only ones, so tests can hold them exact
      generateNetworkPolicy: false,
    });
  }
  return out;
}

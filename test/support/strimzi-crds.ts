// Strimzi's CRDs (test/data/strimzi-0.45.2, from the strimzi-kafka-operator 0.45.2 Helm chart)
// as ajv validators: each rendered Strimzi object is checked against the openAPIV3Schema the
// API server would check it against, plus apiVersion and kind.
import { Ajv } from 'ajv';
// @ts-expect-error: a plain .mjs module without types
import { crdSchema, crds } from '../../src/render/k8s/strimzi/gen-types.mjs';

export function strimziValidator() {
  // strict off: the schemas carry Kubernetes' x-kubernetes-* keywords
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validators = new Map(Object.keys(crds).map((kind) => [kind, ajv.compile(crdSchema(kind))]));
  return {
    kinds: [...validators.keys()],
    check(doc: Record<string, any>): void {
      if (doc.apiVersion !== 'kafka.strimzi.io/v1beta2') throw new Error(`${doc.kind}: apiVersion ${doc.apiVersion}`);
      const v = validators.get(doc.kind);
      if (!v) throw new Error(`no Strimzi CRD for ${doc.kind}`);
      if (!(v as (d: unknown) => boolean)(doc)) throw new Error(`${doc.kind} ${doc.metadata?.name}: ${ajv.errorsText(v.errors)}`);
    },
  };
}

// Strimzi's custom resources as K8sObjects. Their specs are typed by types.ts (generated from
// Strimzi's CRDs); every rendered one is validated against the full CRD schema with ajv in
// strimzi.test.ts. validate() here checks what the API server would refuse before the schema
// even runs: a name that is not a DNS-1123 label, a pool, topic or user without its cluster.
import type { KafkaNodePoolSpec, KafkaSpec, KafkaTopicSpec, KafkaUserSpec } from './types.js';
import type { K8sObject } from '../objects.js';

export const STRIMZI_API = 'kafka.strimzi.io/v1beta2';
export const CLUSTER_LABEL = 'strimzi.io/cluster';

interface Meta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

class StrimziObject<S> implements K8sObject {
  readonly apiVersion = STRIMZI_API;
  constructor(
    readonly kind: string,
    readonly metadata: Meta,
    readonly spec: S,
  ) {}
  validate(): void {
    if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(this.metadata.name))
      throw new Error(`${this.kind} ${this.metadata.name}: metadata.name is not a DNS-1123 name`);
    if (this.kind !== 'Kafka' && !this.metadata.labels?.[CLUSTER_LABEL])
      throw new Error(`${this.kind} ${this.metadata.name}: no ${CLUSTER_LABEL} label`);
  }
  toJSON(): unknown {
    return { apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec };
  }
}

export class Kafka extends StrimziObject<KafkaSpec> {
  constructor(m: Meta, s: KafkaSpec) {
    super('Kafka', m, s);
  }
}
export class KafkaNodePool extends StrimziObject<KafkaNodePoolSpec> {
  constructor(m: Meta, s: KafkaNodePoolSpec) {
    super('KafkaNodePool', m, s);
  }
}
export class KafkaTopic extends StrimziObject<KafkaTopicSpec> {
  constructor(m: Meta, s: KafkaTopicSpec) {
    super('KafkaTopic', m, s);
  }
}
export class KafkaUser extends StrimziObject<KafkaUserSpec> {
  constructor(m: Meta, s: KafkaUserSpec) {
    super('KafkaUser', m, s);
  }
}

// messaging: a Kafka cluster run by Strimzi on the k8s target, its topics and users.
import { z } from 'zod';
import { name, port } from './primitives.js';
import { resourcesSchema } from './service-schema.js';

/** The Kafka versions Strimzi 0.45.2 (the operator wharf pins, src/render/k8s/controllers.ts) runs. */
export const kafkaVersions = ['3.8.0', '3.8.1', '3.9.0', '3.9.1', '3.9.2'] as const;
// a DNS-1123 subdomain (what the API server accepts as a name), kept to 63 characters
const topicName = z
  .string()
  .max(63, 'should be at most 63 characters')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    "should be a topic name: lowercase letters, digits, dots and dashes, each dot between a letter or digit (it is also the KafkaTopic's Kubernetes name)",
  );
const quantity = z.string().regex(/^\d+(Mi|Gi|Ti)$/, 'should be a size like 512Mi, 10Gi or 1Ti');

export const messagingSchema = z
  .strictObject({
    kafka: z
      .strictObject({
        name: name.default('kafka').describe("the Kafka cluster's name (Strimzi names its pods and Services after it)"),
        version: z.enum(kafkaVersions).default('3.9.0').describe('Apache Kafka version, pinned'),
        nodePools: z
          .array(
            z.strictObject({
              name,
              roles: z
                .array(z.enum(['controller', 'broker']))
                .min(1)
                .describe("KRaft roles of the pool's nodes"),
              replicas: z.number().int().min(1).max(32),
              storage: z
                .strictObject({
                  size: quantity.default('10Gi'),
                  class: z
                    .string()
                    .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'should be a StorageClass name')
                    .optional()
                    .describe("default: the target's storage class (K3s: local-path)"),
                })
                .prefault({}),
              resources: resourcesSchema.prefault({}),
            }),
          )
          .min(1)
          .prefault([{ name: 'dual', roles: ['controller', 'broker'], replicas: 3 }])
          .describe('KafkaNodePools: every node is a controller, a broker or both (KRaft, no ZooKeeper)'),
        listeners: z
          .array(
            z.strictObject({
              name: z.string().regex(/^[a-z0-9]{1,11}$/, "should be 1-11 lowercase letters and digits (Strimzi's listener name)"),
              port: port.refine(
                (p) => p >= 9092 && ![9404, 9999].includes(p),
                "should be 9092 or above, not 9404 or 9999 (9090, 9091 and 8443 are Strimzi's own)",
              ),
              tls: z.boolean().default(true).describe('encrypt client connections (clients trust the cluster CA Strimzi generates)'),
              authentication: z.enum(['scram-sha-512', 'tls']).default('scram-sha-512'),
            }),
          )
          .min(1)
          .default([{ name: 'tls', port: 9093, tls: true, authentication: 'scram-sha-512' }])
          .describe('cluster-internal listeners; services connect to the first one'),
      })
      .prefault({}),
    topics: z
      .record(
        topicName,
        z.strictObject({
          partitions: z.number().int().min(1).max(10000).default(3),
          replicas: z.number().int().min(1).max(32).default(3),
          config: z
            .record(
              z.string().regex(/^[a-z][a-z0-9.]*$/, 'should be a Kafka topic config key like retention.ms'),
              z.union([z.string(), z.number(), z.boolean()]),
            )
            .default({}),
        }),
      )
      .default({}),
    users: z
      .record(
        name,
        z.strictObject({
          read: z.array(topicName).default([]).describe('topics this user may consume (its consumer groups are named after the user)'),
          write: z.array(topicName).default([]).describe('topics this user may produce to'),
        }),
      )
      .default({})
      .describe("KafkaUsers with simple ACLs; Strimzi generates each one's password as a Secret"),
  })
  .describe('k8s: a Kafka cluster run by Strimzi (KRaft), its topics and users');

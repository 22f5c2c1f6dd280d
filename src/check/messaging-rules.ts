// messaging: (Kafka) is run by Strimzi on the k8s target only. Compose and Swarm refuse it at
// check time rather than rendering a single-node Kafka that would silently differ (no KafkaUser
// ACLs, no operator-generated credentials, no NetworkPolicies keeping the brokers private).
import type { PolicyRule } from './rule.js';

export const messagingTargetRule: PolicyRule = {
  id: 'MSG001',
  title: 'messaging (Kafka) on a target without Strimzi',
  severity: 'error',
  check: ({ stack }) =>
    stack.messaging
      ? [
          {
            path: 'messaging',
            message:
              'Kafka (messaging:) is rendered for the k8s target only (Strimzi); this target would run the services without their broker',
            hint: 'use --target k8s (or target: k8s in the spec), or remove messaging: and every services.*.messaging',
          },
        ]
      : [],
};

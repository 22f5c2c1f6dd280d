// ntfy, Gotify and Matrix have no Alertmanager integration: Alertmanager posts their alerts as
// its webhook payload to this small relay (render/notify-relay), which sends each in the
// service's own API. Only the relay mounts their tokens; it needs a route out, Alertmanager not.
import type { Stack } from '../../spec/schema.js';
import { isRelayType, receiverSecretNames } from '../../spec/monitoring-schema.js';
import { pickImage } from '../images.js';
import type { Component } from '../model.js';
import { Size } from '../../spec/units.js';
import { componentDefaults, health } from './common.js';

export const RELAY_NAME = 'notify-relay';
export const RELAY_PORT = 9095;
/** where the relay's script and its (secret-free) receiver list are mounted */
export const RELAY_DIR = '/etc/notify-relay';

/** The relay, when a receiver needs it. */
export function planNotifyRelay(stack: Stack): Component | undefined {
  const receivers = stack.monitoring.alerts.receivers.filter((r) => isRelayType(r.type));
  if (!receivers.length) return undefined;
  const secrets = [...new Set(receivers.flatMap(receiverSecretNames))].sort();
  return {
    ...componentDefaults(),
    name: RELAY_NAME,
    role: 'notify-relay',
    image: pickImage('node', stack.images),
    imageKey: 'node',
    port: RELAY_PORT,
    networks: ['edge', 'monitoring'],
    user: '65534:65534',
    command: ['node', `${RELAY_DIR}/relay.mjs`, `${RELAY_DIR}/relay.json`],
    mounts: [{ type: 'config', bundle: 'notify-relay', target: RELAY_DIR, readOnly: true }],
    secrets: secrets.map((s) => ({ secret: s, target: `/run/secrets/${s}` })),
    healthcheck: health({ kind: 'http', port: RELAY_PORT, path: '/-/healthy', client: 'any' }),
    resources: { cpus: 0.1, memory: Size.parse('96M') },
  };
}

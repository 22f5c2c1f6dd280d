// plan -> notify-relay/: the relay's script and the list of receivers it sends to (ntfy, Gotify,
// Matrix). The list names files, never what is in them: URLs with tokens and the tokens stay
// in the secrets mounted into the relay. render/alertmanager posts each receiver's alerts to it.
import type { Plan, Receiver } from '../../plan/model.js';
import { RELAY_NAME, RELAY_PORT } from '../../plan/build/notify-relay.js';
import type { RenderedFile } from '../files.js';
import { relayScript } from './scripts.js';

/** The relay's address on the monitoring network, as Alertmanager's webhook reaches it. */
export const relayUrl = (receiver: string): string => `http://${RELAY_NAME}:${RELAY_PORT}/${encodeURIComponent(receiver)}`;

export function renderNotifyRelay(plan: Plan): RenderedFile[] {
  const receivers = plan.monitoring.receivers.filter(isRelayed);
  if (!receivers.length) return [];
  const config = {
    port: RELAY_PORT,
    receivers: receivers.map((r) => ({
      name: r.name,
      type: r.type,
      ...(r.serverUrl ? { url: r.serverUrl } : {}),
      ...(r.secretFile ? { urlFile: r.secretFile } : {}),
      ...(r.tokenFile ? { tokenFile: r.tokenFile } : {}),
      ...(r.room ? { room: r.room } : {}),
    })),
  };
  return [
    { path: 'notify-relay/relay.json', contents: `${JSON.stringify(config, null, 2)}\n` },
    { path: 'notify-relay/relay.mjs', contents: relayScript },
  ];
}

export function isRelayed(r: Receiver): boolean {
  return r.type === 'ntfy' || r.type === 'gotify' || r.type === 'matrix';
}

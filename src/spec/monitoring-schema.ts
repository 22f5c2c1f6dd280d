// monitoring: Prometheus, Grafana, the exporters, and where alerts go.
import { z } from 'zod';
import { cidr, duration, hostname, name, positiveDuration } from './primitives.js';

const severity = z.array(z.enum(['critical', 'warning', 'info'])).optional();
/** An http(s) URL written into alertmanager.yml as is: credentials in it must be a secret instead. */
const plainUrl = (secretField: string) =>
  z
    .string()
    .url()
    // one error per mistake: these judge only what parses as a URL
    .refine((u) => !URL.canParse(u) || /^https?:\/\//i.test(u), 'should be an http(s) URL')
    .refine(
      (u) => !URL.canParse(u) || !/^https?:\/\/[^/?#]*@/i.test(u),
      `has credentials: put the URL in a secret file and name it in ${secretField}`,
    );

export const receiverSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('webhook'),
      name,
      url: plainUrl('urlSecret').optional(),
      urlSecret: name.optional().describe('secret holding the webhook URL (with its credentials)'),
      severity,
    })
    .refine((r) => (r.url === undefined) !== (r.urlSecret === undefined), { message: 'set one of url or urlSecret', path: ['url'] }),
  z.strictObject({
    type: z.literal('email'),
    name,
    to: z.string().email(),
    from: z.string().email(),
    smarthost: z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'should be host:port')
      .refine((v) => Number(v.split(':')[1]) >= 1 && Number(v.split(':')[1]) <= 65535, 'should have a port from 1 to 65535'),
    username: z.string().optional(),
    passwordSecret: name.optional(),
    severity,
  }),
  z.strictObject({
    type: z.literal('slack'),
    name,
    channel: z.string().regex(/^#/),
    webhookSecret: name.describe('secret holding the Slack webhook URL'),
    severity,
  }),
  // -- notify: native Alertmanager receivers, every credential in a secret file --
  z.strictObject({ type: z.literal('discord'), name, webhookSecret: name.describe('secret holding the Discord webhook URL'), severity }),
  z.strictObject({ type: z.literal('msteams'), name, webhookSecret: name.describe('secret holding the Teams workflow URL'), severity }),
  z.strictObject({
    type: z.literal('telegram'),
    name,
    botTokenSecret: name.describe('secret holding the bot token'),
    chatId: z.number().int(),
    severity,
  }),
  z.strictObject({ type: z.literal('pushover'), name, userKeySecret: name, tokenSecret: name, severity }),
  // -- notify: no Alertmanager integration: sent by the notify-relay component (README "Notifications") --
  z
    .strictObject({
      type: z.literal('ntfy'),
      name,
      url: plainUrl('urlSecret').optional().describe('topic URL, e.g. https://ntfy.sh/my-alerts'),
      urlSecret: name.optional().describe('secret holding the topic URL (an unguessable topic is a credential)'),
      tokenSecret: name.optional().describe('secret holding an ntfy access token (sent as a Bearer token)'),
      severity,
    })
    .refine((r) => (r.url === undefined) !== (r.urlSecret === undefined), { message: 'set one of url or urlSecret', path: ['url'] }),
  z.strictObject({
    type: z.literal('gotify'),
    name,
    url: plainUrl('tokenSecret').describe('Gotify server URL, e.g. https://gotify.example.com'),
    tokenSecret: name.describe('secret holding the Gotify application token'),
    severity,
  }),
  z.strictObject({
    type: z.literal('matrix'),
    name,
    homeserver: plainUrl('tokenSecret').describe('homeserver URL, e.g. https://matrix.example.org'),
    room: z
      .string()
      .regex(/^![^:\s]+:[^\s]+$/, 'should be a room id such as !abcdef:example.org')
      .describe('room id (!...:server) the bot has joined'),
    tokenSecret: name.describe("secret holding the bot's access token"),
    severity,
  }),
]);

/** Receivers Alertmanager has no integration for: it posts them to the notify-relay component. */
export const relayReceiverTypes = ['ntfy', 'gotify', 'matrix'] as const;
export type RelayReceiverType = (typeof relayReceiverTypes)[number];
export const isRelayType = (t: string): t is RelayReceiverType => (relayReceiverTypes as readonly string[]).includes(t);

/** The user secrets a receiver reads, mounted into Alertmanager under /run/secrets. */
export function receiverSecretNames(r: z.infer<typeof receiverSchema>): string[] {
  switch (r.type) {
    case 'webhook':
      return r.urlSecret ? [r.urlSecret] : [];
    case 'email':
      return r.passwordSecret ? [r.passwordSecret] : [];
    case 'telegram':
      return [r.botTokenSecret];
    case 'pushover':
      return [r.tokenSecret, r.userKeySecret];
    case 'ntfy':
      return [r.urlSecret, r.tokenSecret].filter((x): x is string => x !== undefined);
    case 'gotify':
    case 'matrix':
      return [r.tokenSecret];
    default:
      return [r.webhookSecret];
  }
}

export const monitoringSchema = z.strictObject({
  enabled: z.boolean().default(true),
  scrapeInterval: positiveDuration.prefault('15s'),
  evaluationInterval: positiveDuration.optional(),
  retention: positiveDuration.prefault('15d'),
  grafana: z.union([z.strictObject({ host: hostname.optional(), allow: z.array(cidr).optional() }), z.literal(false)]).prefault({}),
  cadvisor: z.boolean().default(true),
  nodeExporter: z.boolean().default(true),
  alerts: z
    .strictObject({
      receivers: z.array(receiverSchema).default([]),
      groupWait: duration.prefault('30s'),
      groupInterval: positiveDuration.prefault('5m'),
      repeatInterval: positiveDuration.prefault('4h'),
      heartbeat: z
        .strictObject({
          url: plainUrl('urlSecret')
            .optional()
            .describe("dead man's switch URL (healthchecks.io, Dead Man's Snitch, ...) that expects a ping every interval"),
          urlSecret: name.optional().describe('secret holding the heartbeat URL, when it carries a token or credentials'),
          interval: positiveDuration.prefault('5m').describe('how often the always-firing Watchdog alert is sent'),
        })
        .refine((h) => (h.url === undefined) !== (h.urlSecret === undefined), { message: 'set one of url or urlSecret', path: ['url'] })
        .optional()
        .describe('where the Watchdog alert goes: silence there means the alerting pipeline is broken'),
      overrides: z
        .record(
          z.string(),
          z.strictObject({ threshold: z.number().optional(), for: duration.optional(), disabled: z.boolean().optional() }),
        )
        .default({}),
    })
    .prefault({}),
});

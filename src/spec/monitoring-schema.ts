// monitoring: Prometheus, Grafana, the exporters, and where alerts go.
import { z } from 'zod';
import { cidr, duration, hostname, name } from './primitives.js';

export const receiverSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    name,
    url: z.string().url(),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
  z.strictObject({
    type: z.literal('email'),
    name,
    to: z.string().email(),
    from: z.string().email(),
    smarthost: z.string().regex(/^[^:\s]+:\d+$/, 'should be host:port'),
    username: z.string().optional(),
    passwordSecret: name.optional(),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
  z.strictObject({
    type: z.literal('slack'),
    name,
    channel: z.string().regex(/^#/),
    webhookSecret: name.describe('secret holding the Slack webhook URL'),
    severity: z.array(z.enum(['critical', 'warning', 'info'])).optional(),
  }),
]);

export const monitoringSchema = z.strictObject({
  enabled: z.boolean().default(true),
  scrapeInterval: duration.prefault('15s'),
  evaluationInterval: duration.optional(),
  retention: duration.prefault('15d'),
  grafana: z.union([z.strictObject({ host: hostname.optional(), allow: z.array(cidr).optional() }), z.literal(false)]).prefault({}),
  cadvisor: z.boolean().default(true),
  nodeExporter: z.boolean().default(true),
  alerts: z
    .strictObject({
      receivers: z.array(receiverSchema).default([]),
      groupWait: duration.prefault('30s'),
      groupInterval: duration.prefault('5m'),
      repeatInterval: duration.prefault('4h'),
      heartbeat: z
        .strictObject({
          url: z
            .string()
            .url()
            .describe("dead man's switch URL (healthchecks.io, Dead Man's Snitch, ...) that expects a ping every interval"),
          interval: duration.prefault('5m').describe('how often the always-firing Watchdog alert is sent'),
        })
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

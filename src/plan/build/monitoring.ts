// Prometheus, Alertmanager, Grafana, node-exporter, cAdvisor; scrape jobs and alert routing.
import type { Stack } from '../../spec/schema.js';
import { pickImage } from '../images.js';
import { byCodeUnit } from '../sort.js';
import type { Component, Monitoring, Receiver, Route, ScrapeJob, Secret, Volume } from '../model.js';
import { deepCopy } from '../copy.js';
import { componentDefaults, copy, health, wgetProbe } from './common.js';
import { Size } from '../../spec/units.js';
import { isRelayType, receiverSecretNames } from '../../spec/monitoring-schema.js';
import { planNotifyRelay, RELAY_NAME } from './notify-relay.js';

export function planMonitoring(stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[], routes: Route[]): Component[] {
  const m = stack.monitoring;
  const img = stack.images;
  const out: Component[] = [];
  volumes.push({ name: 'prometheus-data', component: 'prometheus', purpose: 'Prometheus TSDB' });
  out.push({
    ...componentDefaults(),
    name: 'prometheus',
    role: 'prometheus',
    image: pickImage('prometheus', img),
    imageKey: 'prometheus',
    port: 9090,
    networks: ['monitoring'],
    user: '65534:65534',
    command: [
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      `--storage.tsdb.retention.time=${m.retention}`,
      '--web.enable-lifecycle',
      '--web.console.libraries=/usr/share/prometheus/console_libraries',
      '--web.console.templates=/usr/share/prometheus/consoles',
    ],
    mounts: [
      { type: 'config', bundle: 'prometheus-config', target: '/etc/prometheus/prometheus.yml', readOnly: true },
      { type: 'config', bundle: 'prometheus-rules', target: '/etc/prometheus/rules', readOnly: true },
      { type: 'volume', source: 'prometheus-data', target: '/prometheus', readOnly: false },
    ],
    healthcheck: health(wgetProbe(9090, '/-/ready')),
    resources: { cpus: 0.5, memory: Size.parse('512M') },
    metrics: { job: 'prometheus', port: 9090, path: '/metrics' },
  });
  volumes.push({ name: 'alertmanager-data', component: 'alertmanager', purpose: 'Alertmanager silences and notification log' });
  const hb = m.alerts.heartbeat;
  const native = m.alerts.receivers.filter((r) => !isRelayType(r.type));
  const receiverSecrets = [...new Set([...native.flatMap(receiverSecretNames), ...(hb?.urlSecret ? [hb.urlSecret] : [])])];
  const relay = planNotifyRelay(stack);
  // A URL held in a secret is not known here: it may be outside the stack.
  const inStack = (url: string | undefined) => url !== undefined && /^https?:\/\/[a-z0-9-]+(:\d+)?\//.test(url);
  const externalReceivers = native.some((r) => r.type !== 'webhook' || !inStack(r.url)) || (hb !== undefined && !inStack(hb.url));
  if (relay) out.push(relay);
  out.push({
    ...componentDefaults(),
    name: 'alertmanager',
    role: 'alertmanager',
    image: pickImage('alertmanager', img),
    imageKey: 'alertmanager',
    port: 9093,
    // Receivers outside the stack need a route out; in-stack webhooks do not.
    networks: externalReceivers ? ['edge', 'monitoring'] : ['monitoring'],
    user: '65534:65534',
    command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager'],
    mounts: [
      { type: 'config', bundle: 'alertmanager-config', target: '/etc/alertmanager/alertmanager.yml', readOnly: true },
      { type: 'volume', source: 'alertmanager-data', target: '/alertmanager', readOnly: false },
    ],
    secrets: receiverSecrets.map((s) => ({ secret: s, target: `/run/secrets/${s}` })),
    // the relay's receivers are webhooks to it: it should be there when the first alert goes out
    dependsOn: relay ? [{ name: RELAY_NAME, on: 'started' }] : [],
    healthcheck: health(wgetProbe(9093, '/-/ready')),
    resources: { cpus: 0.1, memory: Size.parse('64M') },
    metrics: { job: 'alertmanager', port: 9093, path: '/metrics' },
  });
  if (m.grafana !== false) {
    addSecret({ name: 'grafana-admin-password', purpose: 'Grafana admin password', source: { kind: 'random', length: 32 } });
    volumes.push({ name: 'grafana-data', component: 'grafana', purpose: 'Grafana database' });
    const host = m.grafana.host ?? `grafana.${stack.domain}`;
    out.push({
      ...componentDefaults(),
      name: 'grafana',
      role: 'grafana',
      image: pickImage('grafana', img),
      imageKey: 'grafana',
      port: 3000,
      networks: ['edge', 'monitoring'],
      env: {
        GF_SECURITY_ADMIN_USER: 'admin',
        GF_SECURITY_ADMIN_PASSWORD__FILE: '/run/secrets/grafana-admin-password',
        GF_USERS_ALLOW_SIGN_UP: 'false',
        GF_AUTH_ANONYMOUS_ENABLED: 'false',
        GF_SERVER_ROOT_URL: `https://${host}/`,
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
        GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
        GF_SECURITY_COOKIE_SECURE: 'true',
      },
      secrets: [{ secret: 'grafana-admin-password', target: '/run/secrets/grafana-admin-password' }],
      mounts: [
        { type: 'config', bundle: 'grafana-provisioning', target: '/etc/grafana/provisioning', readOnly: true },
        { type: 'config', bundle: 'grafana-dashboards', target: '/var/lib/grafana/dashboards', readOnly: true },
        { type: 'volume', source: 'grafana-data', target: '/var/lib/grafana', readOnly: false },
      ],
      dependsOn: [{ name: 'prometheus', on: 'ready' }],
      healthcheck: health(wgetProbe(3000, '/api/health')),
      resources: { cpus: 0.5, memory: Size.parse('256M') },
      metrics: { job: 'grafana', port: 3000, path: '/metrics' },
    });
    routes.push({
      name: 'grafana',
      service: 'grafana',
      host,
      path: '/',
      port: 3000,
      replicas: 1,
      denyPaths: ['/metrics'],
      auth: false,
      allow: copy(m.grafana.allow),
      healthPath: '/api/health',
      internal: true,
    });
  }
  if (m.nodeExporter) {
    out.push({
      ...componentDefaults(),
      name: 'node-exporter',
      role: 'node-exporter',
      image: pickImage('node-exporter', img),
      imageKey: 'node-exporter',
      port: 9100,
      networks: ['monitoring'],
      user: '65534:65534',
      command: [
        '--path.procfs=/host/proc',
        '--path.sysfs=/host/sys',
        '--path.rootfs=/host/root',
        '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)',
      ],
      mounts: [
        { type: 'bind', source: '/proc', target: '/host/proc', readOnly: true },
        { type: 'bind', source: '/sys', target: '/host/sys', readOnly: true },
        { type: 'bind', source: '/', target: '/host/root', readOnly: true },
      ],
      // the landing page, not /metrics: a probe that ran every collector doubled the exporter's
      // work under its CPU cap, and Prometheus's `up` already tells whether a scrape succeeds
      healthcheck: health(wgetProbe(9100, '/')),
      resources: { cpus: 0.1, memory: Size.parse('64M') },
      metrics: { job: 'node-exporter', port: 9100, path: '/metrics' },
    });
  }
  if (m.cadvisor) {
    out.push({
      ...componentDefaults(),
      name: 'cadvisor',
      role: 'cadvisor',
      image: pickImage('cadvisor', img),
      imageKey: 'cadvisor',
      port: 8080,
      networks: ['monitoring'],
      command: [
        '--docker_only=true',
        '--housekeeping_interval=15s',
        '--store_container_labels=false',
        '--whitelisted_container_labels=dev.wharf.service,dev.wharf.stack',
      ],
      mounts: [
        { type: 'bind', source: '/', target: '/rootfs', readOnly: true },
        { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
        { type: 'bind', source: '/sys', target: '/sys', readOnly: true },
        { type: 'bind', source: '/var/lib/docker', target: '/var/lib/docker', readOnly: true },
      ],
      healthcheck: health(wgetProbe(8080, '/healthz')),
      resources: { cpus: 0.3, memory: Size.parse('256M') },
      metrics: { job: 'cadvisor', port: 8080, path: '/metrics' },
    });
  }
  return out;
}

export function scrapeJobsFor(components: Component[]): ScrapeJob[] {
  return components
    .filter((c) => c.metrics)
    .map((c) => ({
      job: c.metrics!.job,
      // Replicated services are discovered through Docker DNS so every replica is scraped.
      discovery: c.name === 'prometheus' ? ('static' as const) : ('dns' as const),
      host: c.name === 'prometheus' ? 'localhost' : c.name,
      port: c.metrics!.port,
      path: c.metrics!.path,
      component: c.name,
    }))
    .sort((a, b) => byCodeUnit(a.job, b.job));
}

type SpecReceiver = Stack['monitoring']['alerts']['receivers'][number];

const secretPath = (name: string) => `/run/secrets/${name}`;

export function planReceiver(r: SpecReceiver): Receiver {
  const base = { name: r.name, severities: [...(r.severity ?? ['critical', 'warning'])] };
  switch (r.type) {
    case 'webhook':
      return { ...base, type: 'webhook', url: r.url, secretFile: r.urlSecret ? secretPath(r.urlSecret) : undefined };
    case 'email':
      return {
        ...base,
        type: 'email',
        to: r.to,
        from: r.from,
        smarthost: r.smarthost,
        username: r.username,
        secretFile: r.passwordSecret ? secretPath(r.passwordSecret) : undefined,
      };
    case 'slack':
      return { ...base, type: 'slack', channel: r.channel, secretFile: secretPath(r.webhookSecret) };
    case 'telegram':
      return { ...base, type: 'telegram', chatId: r.chatId, secretFile: secretPath(r.botTokenSecret) };
    case 'pushover':
      return { ...base, type: 'pushover', secretFile: secretPath(r.tokenSecret), userKeyFile: secretPath(r.userKeySecret) };
    // files in the notify-relay container: secretFile a topic URL, tokenFile a token
    case 'ntfy':
      return {
        ...base,
        type: 'ntfy',
        serverUrl: r.url,
        secretFile: r.urlSecret ? secretPath(r.urlSecret) : undefined,
        tokenFile: r.tokenSecret ? secretPath(r.tokenSecret) : undefined,
      };
    case 'gotify':
      return { ...base, type: 'gotify', serverUrl: r.url, tokenFile: secretPath(r.tokenSecret) };
    case 'matrix':
      return { ...base, type: 'matrix', serverUrl: r.homeserver, room: r.room, tokenFile: secretPath(r.tokenSecret) };
    default:
      return { ...base, type: r.type, secretFile: secretPath(r.webhookSecret) };
  }
}

/** The monitoring settings of the plan; `scrapeJobs` from scrapeJobsFor once every component exists. */
export function monitoringOf(stack: Stack, scrapeJobs: Monitoring['scrapeJobs']): Monitoring {
  const m = stack.monitoring;
  return {
    enabled: m.enabled,
    scrapeInterval: m.scrapeInterval,
    evaluationInterval: m.evaluationInterval ?? m.scrapeInterval,
    retention: m.retention,
    scrapeJobs,
    receivers: m.alerts.receivers.map(planReceiver),
    groupWait: m.alerts.groupWait,
    groupInterval: m.alerts.groupInterval,
    repeatInterval: m.alerts.repeatInterval,
    heartbeat: m.alerts.heartbeat
      ? {
          url: m.alerts.heartbeat.url,
          urlFile: m.alerts.heartbeat.urlSecret ? secretPath(m.alerts.heartbeat.urlSecret) : undefined,
          interval: m.alerts.heartbeat.interval,
        }
      : undefined,
    overrides: deepCopy(m.alerts.overrides),
    present: {
      apps: Object.entries(stack.services)
        .filter(([, s]) => s.metrics)
        .map(([n]) => n)
        .sort(),
      postgres: Object.entries(stack.databases)
        .filter(([, d]) => d.engine === 'postgres')
        .map(([n]) => n)
        .sort(),
      mysql: Object.entries(stack.databases)
        .filter(([, d]) => d.engine !== 'postgres')
        .map(([n]) => n)
        .sort(),
      redis: Object.keys(stack.caches).sort(),
      proxy: stack.proxy.kind,
      nodeExporter: m.enabled && m.nodeExporter,
      cadvisor: m.enabled && m.cadvisor,
      alertmanager: m.enabled,
      backups: false,
    },
  };
}

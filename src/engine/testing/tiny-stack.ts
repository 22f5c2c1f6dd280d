// A tiny but real stack for engine/ops tests: built only from local/debian:bookworm
// (perl-base, bash, getent are in the minbase image), so it runs without any registry.
//   db:  a perl TCP/HTTP server on 8080 (2 replicas), on "backend" only
//   api: a client with DB_HOST/DB_PORT pointing at db, on "backend" and "edge"
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Component, Plan } from '../../plan/model.js';
import { renderCompose } from '../../render/compose/index.js';
import { run } from '../run.js';
import { cmd } from '../command.js';
import { Duration, Size } from '../../spec/units.js';

export const BASE_IMAGE = 'local/debian:bookworm';
const buildBase = join(import.meta.dirname, '..', '..', '..', 'scripts', 'docker', 'build-base.sh');

const server = [
  'use IO::Socket::INET; $|=1;',
  'my $s=IO::Socket::INET->new(LocalPort=>8080,Listen=>64,ReuseAddr=>1) or die "listen: $!";',
  'print "listening on 8080\\n";',
  'while(my $c=$s->accept){ my $l=<$c>; while(my $h=<$c>){ last if $h=~/^\\r?\\n$/ }',
  'my $b="ok\\n"; print $c "HTTP/1.1 200 OK\\r\\nContent-Length: ".length($b)."' +
    '\\r\\nX-Instance: $ENV{HOSTNAME}\\r\\nConnection: close\\r\\n\\r\\n$b"; close $c }',
].join(' ');

function component(p: Partial<Component> & Pick<Component, 'name' | 'role'>): Component {
  return {
    image: BASE_IMAGE,
    env: {},
    secrets: [],
    networks: ['backend'],
    ports: [],
    mounts: [],
    replicas: 1,
    dependsOn: [],
    resources: { cpus: 0.2, memory: Size.parse('64M') },
    init: true,
    hardening: { noNewPrivileges: true, readOnlyRoot: false, dropAllCaps: false, addCaps: [] },
    stopGracePeriod: Duration.parse('2s'),
    labels: {},
    ...p,
  };
}

export function tinyPlan(name: string, o: { dbHealthy?: boolean; dbReplicas?: number } = {}): Plan {
  const fast = { interval: Duration.parse('1s'), timeout: Duration.parse('2s'), retries: 3, startPeriod: Duration.parse('5s') };
  const db = component({
    name: 'db',
    role: 'database',
    port: 8080,
    replicas: o.dbReplicas ?? 2,
    command: ['perl', '-e', server],
    healthcheck: {
      probe: {
        kind: 'exec',
        command: [
          'sh',
          '-c',
          o.dbHealthy === false ? 'echo "db is not ready: simulated" >&2; exit 1' : "bash -c '</dev/tcp/127.0.0.1/8080'",
        ],
      },
      ...fast,
    },
  });
  const api = component({
    name: 'api',
    role: 'app',
    networks: ['backend', 'edge'],
    env: { DB_HOST: 'db', DB_PORT: '8080' },
    command: ['sleep', 'infinity'],
    healthcheck: { probe: { kind: 'exec', command: ['true'] }, ...fast },
    dependsOn: [{ name: 'db', on: 'started' }],
  });
  return {
    name,
    domain: `${name}.localhost`,
    tls: { mode: 'self-signed', hosts: [] },
    proxy: {
      kind: 'haproxy',
      component: 'proxy',
      bind: '127.0.0.1',
      httpPort: 80,
      httpsPort: 443,
      statsPort: 8404,
      authSecret: 'x',
      authUser: 'admin',
    },
    components: [api, db],
    routes: [],
    networks: [
      { name: 'backend', internal: true, encrypted: false, purpose: 'test' },
      { name: 'edge', internal: false, encrypted: false, purpose: 'test' },
    ],
    volumes: [],
    secrets: [],
    monitoring: {
      enabled: false,
      scrapeInterval: Duration.parse('15s'),
      evaluationInterval: Duration.parse('15s'),
      retention: Duration.parse('1d'),
      scrapeJobs: [],
      receivers: [],
      groupWait: Duration.parse('30s'),
      groupInterval: Duration.parse('5m'),
      repeatInterval: Duration.parse('4h'),
      overrides: {},
      present: {
        apps: [],
        postgres: [],
        mysql: [],
        redis: [],
        proxy: 'haproxy',
        nodeExporter: false,
        cadvisor: false,
        alertmanager: false,
        backups: false,
      },
    },
    backups: [],
    paths: { secretsDir: '../secrets', projectDir: '../..' },
  };
}

/** Render a plan's compose.yaml into a fresh directory; returns it. */
export function writeCompose(plan: Plan, dir = mkdtempSync(join(tmpdir(), `wharf-${plan.name}-`))): string {
  mkdirSync(dir, { recursive: true });
  for (const f of renderCompose(plan)) writeFileSync(join(dir, f.path), f.contents);
  return dir;
}

/** Why docker tests cannot run here, or undefined when they can. */
export async function dockerUnavailable(): Promise<string | undefined> {
  const v = await run(cmd(['docker', 'version', '--format', '{{.Server.Version}}'], 'docker version', { timeoutMs: 15_000 }), {
    reject: false,
  }).catch(() => undefined);
  if (!v || v.exitCode !== 0) return 'no Docker Engine answering (run scripts/docker/ensure-engine.sh)';
  const i = await run(cmd(['docker', 'image', 'inspect', BASE_IMAGE], 'inspect base', { timeoutMs: 15_000 }), { reject: false });
  if (i.exitCode === 0) return undefined;
  // The base is a fixture, not a precondition: build it (debootstrap, ~1 min) as e2e files do.
  const b = await run(cmd(['bash', buildBase], `build ${BASE_IMAGE}`, { timeoutMs: 15 * 60_000 }), { reject: false });
  if (b.exitCode !== 0)
    return `image ${BASE_IMAGE} missing and scripts/docker/build-base.sh failed: ${b.stderr.split('\n').slice(-3).join(' ')}`;
  return undefined;
}

/** node:test skip option: skip with a reason locally, fail under CI=true. */
export async function requireDocker(): Promise<string | false> {
  const why = await dockerUnavailable();
  if (!why) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  return why;
}

// Databases and caches, and the exporter beside each when monitoring is on.
import type { Stack, Cache, Database } from '../../spec/schema.js';
import { pickImage } from '../images.js';
import type { Component, NetworkName, Secret, Volume } from '../model.js';
import { componentDefaults, dbUser, enginePort, health, wgetProbe } from './common.js';
import { Duration, Size } from '../../spec/units.js';
import { postgresData } from '../postgres-data.js';

export function planDatabase(n: string, db: Database, stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[]): Component {
  const { user, database } = dbUser(n, db, stack);
  const pw = `${n}-password`;
  addSecret({ name: pw, purpose: `${n} password for user ${user}`, source: { kind: 'random', length: 32 } });
  addSecret({
    name: `${n}-url`,
    purpose: `${n} connection URL for user ${user}`,
    source: {
      kind: 'connection-url',
      scheme: db.engine === 'postgres' ? 'postgres' : 'mysql',
      user,
      host: n,
      port: enginePort[db.engine],
      database,
      // the backend network is internal and the server has no certificate: say so, or libpq tries TLS first
      options: db.engine === 'postgres' ? { sslmode: 'disable' } : undefined,
      from: pw,
    },
  });
  const data = db.volume ?? `${n}-data`;
  volumes.push({ name: data, component: n, purpose: `${db.engine} data for ${n}` });
  const base = {
    ...componentDefaults(),
    name: n,
    role: 'database' as const,
    engine: db.engine,
    networks: ['backend'] as NetworkName[],
    port: enginePort[db.engine],
    stopGracePeriod: Duration.parse('30s'),
  };
  if (db.engine === 'postgres') {
    const image = pickImage('postgres', stack.images, db.version);
    const dir = postgresData(image);
    return {
      ...base,
      image,
      imageKey: 'postgres',
      env: {
        POSTGRES_USER: user,
        POSTGRES_DB: database,
        POSTGRES_PASSWORD_FILE: `/run/secrets/${pw}`,
        POSTGRES_INITDB_ARGS: '--auth-host=scram-sha-256',
        // said, not left to the image: an override image's tag decides the mount above it, and k8s keeps it
        ...(dir.pgdata !== dir.mount ? { PGDATA: dir.pgdata } : {}),
      },
      secrets: [{ secret: pw, target: `/run/secrets/${pw}` }],
      mounts: [{ type: 'volume', source: data, target: dir.mount, readOnly: false }],
      command: db.maxConnections ? ['postgres', '-c', `max_connections=${db.maxConnections}`] : undefined,
      healthcheck: health({ kind: 'exec', command: ['pg_isready', '-h', '127.0.0.1', '-U', user, '-d', database] }),
      resources: { cpus: db.resources.cpus ?? 1, memory: db.resources.memory ?? Size.parse('512M') },
    };
  }
  const root = `${n}-root-password`;
  addSecret({ name: root, purpose: `${n} root password`, source: { kind: 'random', length: 32 } });
  const isMaria = db.engine === 'mariadb';
  const P = isMaria ? 'MARIADB' : 'MYSQL';
  return {
    ...base,
    image: pickImage(db.engine, stack.images, db.version),
    imageKey: db.engine,
    env: {
      [`${P}_USER`]: user,
      [`${P}_DATABASE`]: database,
      [`${P}_PASSWORD_FILE`]: `/run/secrets/${pw}`,
      [`${P}_ROOT_PASSWORD_FILE`]: `/run/secrets/${root}`,
    },
    secrets: [
      { secret: pw, target: `/run/secrets/${pw}` },
      { secret: root, target: `/run/secrets/${root}` },
    ],
    mounts: [{ type: 'volume', source: data, target: '/var/lib/mysql', readOnly: false }],
    command: db.maxConnections ? [`--max-connections=${db.maxConnections}`] : undefined,
    healthcheck: health(
      { kind: 'exec', command: [isMaria ? 'mariadb-admin' : 'mysqladmin', 'ping', '-h', '127.0.0.1', '--silent'] },
      { startPeriod: Duration.parse('60s') },
    ),
    resources: { cpus: db.resources.cpus ?? 1, memory: db.resources.memory ?? Size.parse('768M') },
  };
}

export function planCache(n: string, c: Cache, stack: Stack, addSecret: (s: Secret) => void, volumes: Volume[]): Component {
  const pw = `${n}-password`;
  const acl = `${n}-acl`;
  addSecret({ name: pw, purpose: `${n} password (Redis ACL default user)`, source: { kind: 'random', length: 32 } });
  addSecret({ name: acl, purpose: `${n} ACL file`, source: { kind: 'redis-acl', from: pw } });
  // Redis 6+ ACL user `default` named: redis-cli 7.0 ignores a password with an empty user name.
  addSecret({
    name: `${n}-url`,
    purpose: `${n} connection URL`,
    source: { kind: 'connection-url', scheme: 'redis', user: 'default', host: n, port: 6379, database: '0', from: pw },
  });
  const data = c.volume ?? `${n}-data`;
  const mounts = c.persistence ? [{ type: 'volume' as const, source: data, target: '/data', readOnly: false }] : [];
  if (c.persistence) volumes.push({ name: data, component: n, purpose: `Redis snapshots for ${n}` });
  return {
    ...componentDefaults(),
    name: n,
    role: 'cache',
    engine: 'redis',
    networks: ['backend'],
    port: 6379,
    image: pickImage('redis', stack.images, c.version),
    imageKey: 'redis',
    command: [
      'redis-server',
      '--aclfile',
      `/run/secrets/${acl}`,
      '--maxmemory',
      c.maxmemory.toByteUnits(),
      '--maxmemory-policy',
      'allkeys-lru',
      ...(c.persistence ? ['--save', '300 1', '--dir', '/data'] : ['--save', '', '--appendonly', 'no']),
    ],
    secrets: [
      { secret: acl, target: `/run/secrets/${acl}` },
      { secret: pw, target: `/run/secrets/${pw}` },
    ],
    mounts,
    healthcheck: health({
      kind: 'exec',
      command: ['sh', '-c', 'REDISCLI_AUTH="$(cat "$1")" redis-cli -h 127.0.0.1 ping | grep -q PONG', 'probe', `/run/secrets/${pw}`],
    }),
    resources: { cpus: c.resources.cpus ?? 0.25, memory: c.resources.memory ?? Size.mebibytes(c.maxmemory.toBytes() + 64 * 1024 * 1024) },
  };
}

export function planDatabaseExporter(n: string, db: Database, stack: Stack, addSecret: (s: Secret) => void): Component {
  const { user, database } = dbUser(n, db, stack);
  const pw = `${n}-password`;
  const common = {
    ...componentDefaults(),
    role: 'exporter' as const,
    networks: ['backend', 'monitoring'] as NetworkName[],
    dependsOn: [{ name: n, on: 'ready' as const }],
    resources: { cpus: 0.1, memory: Size.parse('64M') },
  };
  if (db.engine === 'postgres') {
    return {
      ...common,
      name: `${n}-exporter`,
      image: pickImage('postgres-exporter', stack.images),
      imageKey: 'postgres-exporter',
      port: 9187,
      env: {
        DATA_SOURCE_URI: `${n}:5432/${database}?sslmode=disable`,
        DATA_SOURCE_USER: user,
        DATA_SOURCE_PASS_FILE: `/run/secrets/${pw}`,
      },
      secrets: [{ secret: pw, target: `/run/secrets/${pw}` }],
      healthcheck: health(wgetProbe(9187, '/')),
      metrics: { job: `${n}-exporter`, port: 9187, path: '/metrics' },
    };
  }
  const cnf = `${n}-exporter-cnf`;
  addSecret({
    name: cnf,
    purpose: `${n} client config for mysqld-exporter`,
    source: { kind: 'my-cnf', user, host: n, port: 3306, from: pw },
  });
  return {
    ...common,
    name: `${n}-exporter`,
    image: pickImage('mysqld-exporter', stack.images),
    imageKey: 'mysqld-exporter',
    port: 9104,
    command: [`--config.my-cnf=/run/secrets/${cnf}`],
    secrets: [{ secret: cnf, target: `/run/secrets/${cnf}` }],
    healthcheck: health(wgetProbe(9104, '/')),
    metrics: { job: `${n}-exporter`, port: 9104, path: '/metrics' },
  };
}

export function planCacheExporter(n: string, stack: Stack, addSecret: (s: Secret) => void): Component {
  const map = `${n}-exporter-passwords`;
  addSecret({
    name: map,
    purpose: `${n} password map for redis_exporter`,
    source: { kind: 'redis-exporter-passwords', address: `redis://${n}:6379`, from: `${n}-password` },
  });
  return {
    ...componentDefaults(),
    name: `${n}-exporter`,
    role: 'exporter',
    networks: ['backend', 'monitoring'],
    port: 9121,
    image: pickImage('redis-exporter', stack.images),
    imageKey: 'redis-exporter',
    env: { REDIS_ADDR: `redis://${n}:6379`, REDIS_PASSWORD_FILE: `/run/secrets/${map}` },
    secrets: [{ secret: map, target: `/run/secrets/${map}` }],
    dependsOn: [{ name: n, on: 'ready' }],
    resources: { cpus: 0.1, memory: Size.parse('64M') },
    metrics: { job: `${n}-exporter`, port: 9121, path: '/metrics' },
    // A scratch image: nothing inside can probe, so only a target that probes from outside the
    // container (the kubelet) runs this; Compose and Swarm leave it to Prometheus' ExporterDown.
    healthcheck: health(
      { kind: 'http', port: 9121, path: '/health', client: 'none' },
      { interval: Duration.parse('10s'), retries: 3, startPeriod: Duration.parse('10s') },
    ),
  };
}

// Production defaults: official images, pinned. Every one can be overridden by
// the spec's images: map (the e2e suite swaps in locally built substitutes).
import type { ImageKey } from '../spec/schema.js';

export const defaultImages: Readonly<Record<ImageKey, string>> = Object.freeze({
  traefik: 'traefik:v3.2.3',
  haproxy: 'haproxy:2.8.14',
  prometheus: 'prom/prometheus:v2.55.1',
  alertmanager: 'prom/alertmanager:v0.28.1',
  grafana: 'grafana/grafana:11.3.1',
  'node-exporter': 'prom/node-exporter:v1.8.2',
  cadvisor: 'gcr.io/cadvisor/cadvisor:v0.49.1',
  postgres: 'postgres:16.6-bookworm',
  mysql: 'mysql:8.4.3',
  mariadb: 'mariadb:11.4.4',
  redis: 'redis:7.4.1-bookworm',
  'postgres-exporter': 'quay.io/prometheuscommunity/postgres-exporter:v0.16.0',
  'mysqld-exporter': 'prom/mysqld-exporter:v0.16.0',
  'redis-exporter': 'oliver006/redis_exporter:v1.66.0',
  restic: 'restic/restic:0.17.3',
  // the default pgbackrest image is built FROM the database's postgres image (plan/pitr.ts)
  pgbackrest: 'postgres:16.6-bookworm',
  portainer: 'portainer/portainer-ce:2.21.4',
  node: 'node:20.18.1-bookworm-slim',
  minio: 'minio/minio:RELEASE.2025-04-22T22-12-26Z',
  lego: 'goacme/lego:v4.21.0',
});

/** Image for a component: spec override first, then a version the spec asked for, then the pinned default. */
export function pickImage(key: ImageKey, overrides: Partial<Record<ImageKey, string>>, version?: string): string {
  const o = overrides[key];
  if (o) return o;
  if (version) return `${defaultImages[key].split(':')[0]}:${version}`;
  return defaultImages[key];
}

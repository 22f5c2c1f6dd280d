// The edge's capacity and how it takes a change of its own configuration, decided once here.
//
// Sizing (HAProxy). A connection holds two buffers (request and response, tune.bufsize each)
// plus its TLS session, connection and stream state; an HTTP/2 connection holds two per stream
// (up to 100 streams), so the buffers are capped on their own (tune.buffers.limit, two per
// admitted connection: a stream past it waits for a free one) and maxconn cannot be outgrown. Measured with Debian's HAProxy 2.6 /
// OpenSSL 3.0 in the edge container (cgroup RSS, 2,000 connections): ~16 KiB per idle TLS
// connection, ~28 KiB with a request buffer in use; 2 x 16 KiB + 16 KiB bounds both. After a
// reload the old worker keeps its connections (at most hard-stop-after) while the new one admits
// its own maxconn, and mworker-max-reloads 1 caps the old ones at one: the limit must hold two
// workers' connections. maxconn is what fits in 80% of the limit once the processes' own memory
// is taken; given maxconn instead, the limit is derived from it. The old default, maxconn 4096
// against 128 MiB, let ~4,000 half-open TLS connections (a reconnect storm) reach the limit alone.
//
// Reload. Compose recreates a container whose definition (or dev.wharf.config-hash label)
// changed; the edge's routing files are left out of that hash and applied live instead:
// HAProxy runs master-worker (-W), so the files are checked inside the running container and
// SIGUSR2 makes the master start new workers while the old ones finish their connections;
// Traefik's file provider watches its dynamic directory. Both mount a directory, not a file:
// rendered files are replaced by rename, which a single-file bind mount would never show.
import type { Component, ConfigBundle, EdgeSizing, HotReload } from './model.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const edgeModel = {
  bufsize: 16 * KiB,
  maxrewrite: 1 * KiB,
  /** TLS session, connection and stream state beyond the buffers (measured, with margin) */
  connectionState: 16 * KiB,
  /** master plus one idle worker: RSS and the page cache of binary and libraries (measured 12 MiB) */
  processBase: 16 * MiB,
  /** each further (old) worker's own memory */
  workerBase: 8 * MiB,
  /** share of the limit connections and processes may take: the rest is margin */
  headroom: 0.8,
  maxOldWorkers: 1,
  hardStopAfter: 30,
  /** connections kept for the stats page and the metrics frontend each */
  reserved: 16,
  minMaxconn: 64,
} as const;

export const defaultEdgeMemory = 128 * MiB;

const perConnection = () => 2 * edgeModel.bufsize + edgeModel.connectionState;
const workers = () => 1 + edgeModel.maxOldWorkers;
const processes = () => edgeModel.processBase + edgeModel.maxOldWorkers * edgeModel.workerBase;

/** The connections one worker may admit within a memory limit (0 when not even the processes fit). */
export function edgeMaxconnFor(memoryBytes: number): number {
  const room = memoryBytes * edgeModel.headroom - processes();
  return Math.max(0, Math.floor(room / (workers() * perConnection())));
}

/** The memory limit that holds maxconn connections in every worker, rounded up to a MiB. */
export function edgeMemoryFor(maxconn: number): number {
  const need = (processes() + workers() * maxconn * perConnection()) / edgeModel.headroom;
  return Math.ceil(need / MiB) * MiB;
}

/**
 * maxconn, buffers and memory limit from the spec: either given (both: the plan rule
 * edgeFitsMemory checks they fit), or one derived from the other, or both from the default limit.
 */
export function sizeEdge(o: { memoryBytes?: number; maxconn?: number; metrics: boolean }): EdgeSizing {
  const memoryBytes = o.memoryBytes ?? (o.maxconn !== undefined ? edgeMemoryFor(o.maxconn) : defaultEdgeMemory);
  const maxconn = Math.max(edgeModel.minMaxconn, o.maxconn ?? edgeMaxconnFor(memoryBytes));
  // The redirect-only port gets a tenth; stats and metrics a fixed few; HTTPS the rest.
  const stats = edgeModel.reserved;
  const metrics = o.metrics ? edgeModel.reserved : 0;
  const http = Math.max(edgeModel.reserved, Math.floor(maxconn / 10));
  return {
    maxconn,
    frontends: { https: maxconn - http - stats - metrics, http, stats, metrics },
    bufsize: edgeModel.bufsize,
    maxrewrite: edgeModel.maxrewrite,
    buffers: 2 * maxconn,
    memoryBytes,
    perConnectionBytes: perConnection(),
    workers: workers(),
    hardStopAfter: edgeModel.hardStopAfter,
  };
}

export const haproxyConfigDir = '/usr/local/etc/haproxy';

/** HAProxy: the rendered haproxy/ directory, checked in place, then SIGUSR2 to the master. */
export function haproxyReload(command: string[]): HotReload {
  const [bin, ...args] = command;
  return { bundles: ['haproxy-config'], mode: 'signal', signal: 'SIGUSR2', check: [bin!, '-c', '-q', ...args] };
}

/** Traefik: the file provider watches the dynamic directory; the static file needs a restart. */
export function traefikReload(): HotReload {
  return { bundles: ['traefik-dynamic'], mode: 'watch' };
}

/** Whether a mounted bundle is one a component takes live. */
export function isHotBundle(c: Component, bundle: ConfigBundle): boolean {
  return !!c.reload?.bundles.includes(bundle);
}

/** A running container as the reload decision sees it. */
export interface LiveReplica {
  /** `<container id>@<started at>`: a restart reads the files anew, so it is another key */
  key: string;
  /** (re)started by this deploy: it read the current files when it started */
  fresh: boolean;
}

/**
 * Which running replicas must reload: those neither started by this deploy nor recorded as
 * running the current files. An unknown replica reloads: a reload of unchanged files is harmless,
 * a missed one leaves the edge on old routes.
 */
export function replicasToReload(digest: string, applied: Record<string, string>, live: LiveReplica[]): string[] {
  return live.filter((r) => !r.fresh && applied[r.key] !== digest).map((r) => r.key);
}

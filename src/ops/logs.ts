// `wharf logs`: every replica of the named services, read one by one through the engine (each
// line stamped by the engine, attributed to its service, replica and node), secrets masked by
// the executor before anything sees them, and merged by time. Following, the live state is read
// again every few seconds: replicas a rollout starts join from their first line, stopped ones end.
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import type { ContainerState } from '../engine/live.js';
import type { RunResult } from '../engine/run.js';
import { mergeLines, parseLine, ReorderWindow, type LogLine, type LogSource } from './log-merge.js';

export interface LogsOptions {
  services: string[];
  /** a duration (10m) or a timestamp, as docker takes it */
  since?: string;
  /** lines per replica */
  tail: number | 'all';
  /** only lines matching (tested on the masked line) */
  grep?: RegExp;
  follow?: boolean;
  /** following: how often the replicas are listed again (default 2 s) */
  pollMs?: number;
  /** following: how long a line waits for earlier ones of other replicas (default 250 ms) */
  windowMs?: number;
  /** following: ends it (Ctrl-C) */
  signal?: AbortSignal;
}

export interface LogsResult {
  /** replicas whose logs could not be read */
  failed: Array<{ source: LogSource; exitCode: number; stderr: string }>;
  /** how many replicas were read */
  replicas: number;
}

function sourceOf(ctx: OpsContext, c: ContainerState): LogSource {
  return { service: c.service, replica: ctx.engine.replica(c), node: c.node ?? null };
}

/** The containers to read: the running ones, or all (a stopped replica's lines are still there to read). */
async function replicasOf(ctx: OpsContext, services: string[], running: boolean): Promise<ContainerState[]> {
  const live = await ctx.engine.liveState(runnerOf(ctx), { strict: true });
  return live.containers.filter((c) => services.includes(c.service) && (!running || c.state === 'running'));
}

/** Reads the lines once, merged; `emit` gets them in time order. */
export async function readLogs(ctx: OpsContext, o: LogsOptions, emit: (l: LogLine) => void): Promise<LogsResult> {
  if (o.follow) return followLogs(ctx, o, emit);
  const run = runnerOf(ctx);
  const redact = secretValues(ctx.secretsDir);
  const containers = await replicasOf(ctx, o.services, false);
  const failed: LogsResult['failed'] = [];
  const perReplica = await Promise.all(
    containers.map(async (c) => {
      const source = sourceOf(ctx, c);
      const lines: LogLine[] = [];
      const cmd = { ...ctx.engine.replicaLogs(c, o.tail, { since: o.since, timestamps: true }), redact };
      const r = await run(cmd, { reject: false, stream: true, onLine: (l, stream) => void lines.push(parseLine(l, source, stream)) });
      if (r.exitCode !== 0) failed.push({ source, exitCode: r.exitCode, stderr: r.stderr });
      return lines;
    }),
  );
  for (const l of mergeLines(perReplica)) if (!o.grep || o.grep.test(l.line)) emit(l);
  return { failed, replicas: containers.length };
}

/** Follows every replica until aborted, taking in the replicas that start meanwhile. */
async function followLogs(ctx: OpsContext, o: LogsOptions, emit: (l: LogLine) => void): Promise<LogsResult> {
  const run = runnerOf(ctx);
  const redact = secretValues(ctx.secretsDir);
  const window = new ReorderWindow(o.windowMs ?? 250, (l) => {
    if (!o.grep || o.grep.test(l.line)) emit(l);
  });
  const seen = new Set<string>();
  const followers: Array<Promise<RunResult>> = [];
  const failed: LogsResult['failed'] = [];
  const signal = o.signal ?? new AbortController().signal;
  const join = (cs: ContainerState[], first: boolean) => {
    for (const c of cs) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const source = sourceOf(ctx, c);
      // present at the start: as asked; started since: from its first line
      const opts = first ? { since: o.since, follow: true, timestamps: true } : { follow: true, timestamps: true };
      const cmd = { ...ctx.engine.replicaLogs(c, first ? o.tail : 'all', opts), redact };
      const onLine = (l: string, stream: 'stdout' | 'stderr') => window.add(parseLine(l, source, stream), Date.now());
      const follower = run(cmd, { reject: false, stream: true, onLine, signal });
      followers.push(
        follower.then((r) => {
          if (r.exitCode !== 0 && !signal.aborted) failed.push({ source, exitCode: r.exitCode, stderr: r.stderr });
          return r;
        }),
      );
    }
  };
  join(await replicasOf(ctx, o.services, true), true);
  const tick = setInterval(() => window.flush(Date.now()), Math.max(20, Math.floor((o.windowMs ?? 250) / 2)));
  try {
    while (!signal.aborted) {
      await sleep(o.pollMs ?? 2000, signal);
      if (signal.aborted) break;
      // a replica that cannot be listed now (an engine restarting) is picked up at the next poll
      join(await replicasOf(ctx, o.services, true).catch(() => []), false);
    }
    await Promise.all(followers);
  } finally {
    clearInterval(tick);
    window.flush();
  }
  return { failed, replicas: seen.size };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

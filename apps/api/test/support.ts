// Helpers for the apps/api tests: build the bundle once, run it as a child process (exactly what
// the image runs), wait for it, read its metrics, stop it with a signal.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../test/support/servers.js';

export const API_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SERVER_JS = join(API_DIR, 'dist', 'server.js');

let built = false;
/** Bundles src/ into dist/server.js (esbuild, about a second); once per test process. */
export function buildServer(): string {
  if (built) return SERVER_JS;
  const r = spawnSync(process.execPath, ['build.mjs'], { cwd: API_DIR, encoding: 'utf8', env: { ...process.env, BUILD_QUIET: '1' } });
  if (r.status !== 0) throw new Error(`apps/api build failed:\n${r.stdout}${r.stderr}`);
  built = true;
  return SERVER_JS;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A file holding a secret, as Docker secrets provide them; removed by the returned cleanup. */
export function secretFile(value: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-secret-'));
  const path = join(dir, 'secret');
  writeFileSync(path, value + '\n', { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningApi {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines from stdout. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Sends the signal and waits (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/** Minimal environment plus the given variables (nothing leaks in from the test's own env). */
function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'info' };
  return { ...env, ...extra };
}

/** Runs the built server to completion (config errors, `migrate`): exit code and output. */
export function runServerSync(env: Record<string, string>, timeoutMs = 10_000, args: string[] = []) {
  const r = spawnSync(process.execPath, [buildServer(), ...args], { env: baseEnv(env), encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function startApi(env: Record<string, string>, opts: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<RunningApi> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [buildServer()], {
    env: baseEnv({ PORT: String(port), HOST: '127.0.0.1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout!.on('data', (b: Buffer) => chunks.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => chunks.push(b.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // A test that fails before stopping its instance must not keep the test file alive forever
  // (a hung file hangs the whole CI run): the child and its pipes do not hold the event loop,
  // and the instance is killed when the file's process exits.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  const api: RunningApi = {
    url,
    port,
    child,
    exited,
    output: () => chunks.join(''),
    logs: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(kill, timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const path = opts.waitReady === false ? '/health' : '/ready';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`api exited early (${child.exitCode}):\n${api.output()}`);
    try {
      const r = await fetch(url + path, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return api;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`api not ${opts.waitReady === false ? 'live' : 'ready'} within the timeout:\n${api.output().slice(-3000)}`);
    }
    await sleep(50);
  }
}

/** Value of one series of /metrics (0 when absent). Labels must all match. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url + '/metrics')).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([^ ]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[4]);
  }
  return total;
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers; ms: number }> {
  const t = performance.now();
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body, headers: r.headers, ms: performance.now() - t };
}

export function postJson(url: string, body: unknown) {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

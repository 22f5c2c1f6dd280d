// The e2e suite's substitute images: built locally by scripts/docker/build-test-images.sh
// (no registry can be reached here), cached by content-hash tags, and handed to a stack
// through the spec's `images:` overrides.
//
//   const images = await ensureTestImages();          // { postgres: 'wharf-test/postgres:…', … }
//   doc.images = images;                              // spec override: same compose, local images
//
// Keys are the plan's imageKeys (src/plan/images.ts). traefik, grafana, cadvisor and portainer
// have no substitute (they cannot be obtained here) and are absent from the map.
import { execaSync } from 'execa';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imageKeys, type ImageKey } from '../../../src/spec/schema.js';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');
export const buildScript = join(repoRoot, 'scripts', 'docker', 'build-test-images.sh');
export const ensureEngineScript = join(repoRoot, 'scripts', 'docker', 'ensure-engine.sh');

/** imageKey -> image reference, e.g. { mysql: 'wharf-test/mariadb:0123456789ab', … } */
export type TestImages = Record<string, string>;

/** The imageKeys that get a locally built substitute. */
export const substitutedKeys = [
  'haproxy',
  'prometheus',
  'alertmanager',
  'node-exporter',
  'postgres',
  'mysql',
  'mariadb',
  'redis',
  'postgres-exporter',
  'mysqld-exporter',
  'redis-exporter',
  'restic',
  'node',
  'lego',
] as const satisfies readonly ImageKey[];

/** The image directories under test/e2e/images (what `--only` takes). */
export const imageDirs = [
  'postgres',
  'mariadb',
  'redis',
  'haproxy',
  'prometheus',
  'alertmanager',
  'node-exporter',
  'postgres-exporter',
  'mysqld-exporter',
  'redis-exporter',
  'restic',
  'node',
  'lego',
] as const;
export type ImageDir = (typeof imageDirs)[number];

export interface EnsureOptions {
  /** build only these image directories (default: all) */
  only?: ImageDir[];
  /** parallel builds (default: the script's, 4) */
  jobs?: number;
  /** rebuild even when the tags exist */
  force?: boolean;
  /** progress lines go to this stream (default process.stderr); null silences them */
  progress?: NodeJS.WritableStream | null;
}

const memo = new Map<string, Promise<TestImages>>();

/**
 * Builds (or finds, when cached) the substitute images and returns the `images:` override map.
 * Memoised per process and per option set; concurrent processes are serialised by the
 * script's lock. Starts dockerd (ensure-engine.sh) and the debootstrap base when missing.
 */
export function ensureTestImages(opts: EnsureOptions = {}): Promise<TestImages> {
  const args = ['--json'];
  if (opts.only?.length) args.push('--only', [...opts.only].sort().join(','));
  if (opts.jobs) args.push('--jobs', String(opts.jobs));
  if (opts.force) args.push('--force');
  const key = args.join(' ');
  let p = memo.get(key);
  if (!p) {
    p = runBuild(args, opts.progress === undefined ? process.stderr : opts.progress);
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

function runBuild(args: string[], progress: NodeJS.WritableStream | null): Promise<TestImages> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
      progress?.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${buildScript} ${args.join(' ')} exited with ${code}\n${tail}`));
        return;
      }
      try {
        resolve(parseImageMap(out));
      } catch (e) {
        reject(new Error(`${buildScript} printed no usable image map: ${(e as Error).message}\n${out.slice(0, 500)}`));
      }
    });
  });
}

/** Parses and checks the script's JSON: known imageKeys, `wharf-test/<name>:<12 hex>` refs. */
export function parseImageMap(text: string): TestImages {
  const lines = text.trim().split('\n');
  const raw = JSON.parse(lines[lines.length - 1] ?? '') as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('expected a JSON object');
  const out: TestImages = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!(imageKeys as readonly string[]).includes(k)) throw new Error(`unknown imageKey ${k}`);
    if (typeof v !== 'string' || !/^wharf-test\/[a-z0-9-]+:[0-9a-f]{12}$/.test(v)) throw new Error(`bad image ref for ${k}: ${String(v)}`);
    out[k] = v;
  }
  return out;
}

function dockerAnswers(): boolean {
  try {
    execaSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the e2e image tests cannot run here, or undefined when they can. Starts dockerd through
 * ensure-engine.sh when it is installed but not running. Outside CI the caller skips with the
 * reason; with CI=true a missing engine throws, so the run fails instead of skipping.
 */
export function dockerSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!dockerAnswers()) {
    const canStart = existsSync(ensureEngineScript) && process.getuid?.() === 0 && commandExists('dockerd');
    if (canStart) {
      try {
        execaSync('bash', [ensureEngineScript], { stdio: 'ignore', timeout: 180_000 });
      } catch {
        /* reported below */
      }
    }
    if (!dockerAnswers()) reason = 'no Docker Engine answers (run scripts/docker/ensure-engine.sh as root, or .ci/run)';
  }
  if (!reason && !commandExists('debootstrap') && !baseImageExists()) {
    reason = 'debootstrap is missing and local/debian:bookworm does not exist (apt-get install debootstrap)';
  }
  if (reason && process.env.CI === 'true') throw new Error(`${reason}: required in CI`);
  return reason;
}

function commandExists(cmd: string): boolean {
  try {
    execaSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function baseImageExists(): boolean {
  try {
    execaSync('docker', ['image', 'inspect', 'local/debian:bookworm'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// External tools the tests run for real. Missing in CI is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { execaSync } from 'execa';
import { assertDeclared } from './requirements.js';

export function have(cmd: string, args: string[] = ['--version']): boolean {
  assertDeclared(cmd);
  try {
    execaSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Returns a skip reason outside CI; throws in CI so a missing validator fails the run. */
export function requireTool(ok: boolean, what: string): string | undefined {
  if (ok) return undefined;
  if (process.env.CI === 'true') throw new Error(`${what} is required in CI but is not available`);
  return `${what} not available (install it, or run .ci/run)`;
}

/** Absolute path of a program on PATH; undefined locally when missing, an error under CI=true. */
export function toolPath(name: string): string | undefined {
  assertDeclared(name);
  const p = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' }).stdout.trim();
  if (p) return p;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but not on PATH`);
  return undefined;
}

export function composeCommands(): Array<{ name: string; argv: string[] }> {
  const out: Array<{ name: string; argv: string[] }> = [];
  if (have('docker', ['compose', 'version'])) out.push({ name: 'docker compose (v2)', argv: ['docker', 'compose'] });
  if (have('docker-compose', ['version'])) out.push({ name: 'docker-compose (v1)', argv: ['docker-compose'] });
  return out;
}

// wharf import compose tests: the CLI in process, Compose's own reading, and the checks every
// imported project must pass (the account covers every key, wharf check, Compose accepts the render).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { main } from '../../src/cli/main.js';
import type { Out } from '../../src/cli/output.js';

export async function wharf(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const out: Out = { log: (l = '') => void lines.push(l), error: (l) => void lines.push(l) };
  process.exitCode = undefined;
  const code = await main(['node', 'wharf', ...args], out);
  process.exitCode = undefined;
  return { code, text: lines.join('\n') };
}

export interface Account {
  spec: string | null;
  written: string[];
  counts: Record<string, number>;
  fields: Array<{ path: string; outcome: 'kept' | 'changed' | 'dropped'; to: string | null; why: string }>;
  differences: Array<{ service: string; aspect: string; compose: string; wharf: string }>;
  components: Record<string, string | null>;
}

export async function importJson(args: string[]): Promise<{ code: number; account: Account }> {
  const r = await wharf(['import', 'compose', '--json', ...args]);
  assert.equal(r.code, 0, r.text);
  return { code: r.code, account: JSON.parse(r.text) as Account };
}

/** Compose's own reading of the fixture, to check the account against every key it has. */
export async function composeConfig(dir: string): Promise<Record<string, any>> {
  const r = await execa('docker', ['compose', '--profile', '*', 'config', '--format', 'json'], { cwd: dir });
  return JSON.parse(r.stdout) as Record<string, any>;
}

export function assertCoversEveryKey(config: Record<string, any>, account: Account) {
  const paths = account.fields.map((f) => f.path);
  const covered = (p: string) => paths.some((x) => x === p || x.startsWith(`${p}.`) || x.startsWith(`${p}[`));
  for (const section of Object.keys(config)) assert.ok(covered(section), `top-level ${section} not in the account`);
  for (const [n, svc] of Object.entries(config.services as Record<string, Record<string, unknown>>))
    for (const [k, v] of Object.entries(svc))
      if (v !== null) assert.ok(covered(`services.${n}.${k}`), `services.${n}.${k} not in the account`);
  for (const f of account.fields) {
    if (f.outcome !== 'kept') assert.ok(f.why.length > 10, `${f.path}: ${f.outcome} without a reason`);
    if (f.outcome === 'dropped') assert.equal(f.to, null);
  }
}

export async function assertChecksAndRenders(dir: string) {
  const check = await wharf(['check', '-f', join(dir, 'wharf.yaml')]);
  assert.equal(check.code, 0, check.text);
  const render = await wharf(['render', '-f', join(dir, 'wharf.yaml')]);
  assert.equal(render.code, 0, render.text);
  const rendered = join(dir, '.wharf', 'compose', 'compose.yaml');
  await execa('docker', ['compose', '-f', rendered, 'config', '-q'], { cwd: join(dir, '.wharf', 'compose') });
}

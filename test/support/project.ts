// A throwaway project directory holding a variant's wharf.yaml, with apps/ linked
// to the repository's so build contexts resolve.
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './templates.js';

export function tempProject(specText: string, prefix = 'wharf-test-'): { dir: string; spec: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  symlinkSync(join(repoRoot, 'apps'), join(dir, 'apps'));
  const spec = join(dir, 'wharf.yaml');
  writeFileSync(spec, specText);
  return { dir, spec, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every entry under dir, with its content hash (links by their target, never followed). */
export function dirSnapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = join(rel, name);
    const p = join(dir, r);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out[r] = `link:${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[`${r}/`] = `dir:${st.mode}`;
      Object.assign(out, dirSnapshot(dir, r));
    } else out[r] = `${st.mode}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
  }
  return out;
}

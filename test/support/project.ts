// A throwaway project directory holding a variant's wharf.yaml, with apps/ linked
// to the repository's so build contexts resolve.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

// Writes the imported spec and its secret files. Refuses an existing spec unless forced, before
// writing anything: a refused import leaves the directory byte-identical.
import { chmodSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mkdirInside, writeInside } from '../fs/confined.js';
import { UserInputError } from '../spec/issues.js';
import { specFileNames } from '../spec/load.js';

export function refuseExistingSpec(dir: string, force: boolean): void {
  const existing = specFileNames.filter((n) => existsSync(resolve(dir, n)));
  const blocking = force ? existing.filter((n) => n !== 'wharf.yaml') : existing;
  if (blocking.length)
    throw new UserInputError(
      blocking.map((n) => ({
        path: resolve(dir, n),
        severity: 'error' as const,
        message: 'a spec already exists here',
        hint:
          n === 'wharf.yaml' ? 'pass --force to replace it, or import into another --dir' : `remove ${n} first: it would be read instead`,
      })),
    );
}

/** Same modes as secrets/generate.ts: a 0700 directory, 0644 files, ignored by git. Every write stays
 *  inside `dir` (src/fs/confined.ts): a committed `.wharf` or `wharf.yaml` link leading out is refused. */
export function writeImport(dir: string, specText: string, secretFiles: Record<string, string>): string[] {
  const written: string[] = [];
  if (Object.keys(secretFiles).length) {
    const secrets = mkdirInside(dir, resolve(dir, '.wharf', 'secrets'), 0o700);
    chmodSync(secrets, 0o700);
    const ignore = join(secrets, '.gitignore');
    if (!existsSync(ignore)) writeInside(dir, ignore, '*\n');
    for (const [n, v] of Object.entries(secretFiles)) {
      writeInside(dir, join(secrets, n), v);
      written.push(`.wharf/secrets/${n}`);
    }
  }
  writeInside(dir, resolve(dir, 'wharf.yaml'), specText);
  return ['wharf.yaml', ...written];
}

// Writes the imported spec and its secret files. Refuses an existing spec unless forced, before
// writing anything: a refused import leaves the directory byte-identical.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** Same modes as secrets/generate.ts: a 0700 directory, 0644 files, ignored by git. */
export function writeImport(dir: string, specText: string, secretFiles: Record<string, string>): string[] {
  const written: string[] = [];
  if (Object.keys(secretFiles).length) {
    const secrets = resolve(dir, '.wharf', 'secrets');
    mkdirSync(secrets, { recursive: true, mode: 0o700 });
    chmodSync(secrets, 0o700);
    const ignore = join(secrets, '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '*\n', { mode: 0o644 });
    for (const [n, v] of Object.entries(secretFiles)) {
      writeFileSync(join(secrets, n), v, { mode: 0o644 });
      written.push(`.wharf/secrets/${n}`);
    }
  }
  writeFileSync(resolve(dir, 'wharf.yaml'), specText);
  return ['wharf.yaml', ...written];
}

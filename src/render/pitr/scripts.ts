// The WAL archiver's script (sh/pitr.sh) is a text asset, like the backup scripts: the bundle
// inlines it (scripts/bundle.mjs), from source it is read beside this file when the module loads.
import { readFileSync } from 'node:fs';

export const SCRIPT_NAMES = ['pitr.sh'] as const;

export const scripts: Record<string, string> = Object.fromEntries(
  SCRIPT_NAMES.map((name) => [name, readFileSync(new URL(`./sh/${name}`, import.meta.url), 'utf8')]),
);

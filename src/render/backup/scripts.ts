// The backup scripts (sh/*.sh) are text assets: edited, syntax-checked and snapshot as shell.
// The bundle inlines them with esbuild's text loader (scripts/bundle.mjs replaces this module
// with `import text from './sh/NAME.sh'` per script); from source (tsx, tests) they are read
// once, beside this file, when the module loads. Rendering itself stays pure.
import { readFileSync } from 'node:fs';

export const SCRIPT_NAMES = ['backup.sh', 'lib.sh', 'list.sh', 'restore.sh', 'scheduler.sh', 'verify.sh'] as const;

export const scripts: Record<string, string> = Object.fromEntries(
  SCRIPT_NAMES.map((name) => [name, readFileSync(new URL(`./sh/${name}`, import.meta.url), 'utf8')]),
);

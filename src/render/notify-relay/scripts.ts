// The relay's script (relay.mjs) is a text asset, run by Node.js as it is shipped. The bundle
// inlines it (scripts/bundle.mjs replaces this module with the file's text); from source (tsx,
// tests) it is read once, beside this file, when the module loads.
import { readFileSync } from 'node:fs';

export const relayScript: string = readFileSync(new URL('./relay.mjs', import.meta.url), 'utf8');

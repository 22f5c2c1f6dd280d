// The YAML texts of earlier runs, on disk: most of `wharf render` was the yaml library writing
// the same data as last time. An entry is named by the hash of toYaml's key (the data's JSON),
// so a text is only ever found for the data that made it; the file is per build of the bundle
// (bin/wharf.js names it after the bundle, in its 0700 cache directory), so a new yaml
// library or renderer never reads an older one's texts. Rendered files hold no secret values.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { keepYamlIn, type YamlStore } from '../render/files.js';

/** What one cache file keeps: this run's texts first, then earlier ones up to this size. */
const MAX_CHARS = 1_000_000;

export function yamlCacheFile(file: string): YamlStore & { save(): void } {
  const known = new Map<string, string>();
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (data && typeof data === 'object') for (const [h, t] of Object.entries(data)) if (typeof t === 'string') known.set(h, t);
  } catch {
    // no cache yet, or an unreadable one: render as if empty
  }
  const used = new Map<string, string>();
  let added = false;
  const hash = (key: string) => createHash('sha256').update(key).digest('base64url');
  return {
    get(key) {
      const h = hash(key);
      const text = known.get(h);
      if (text !== undefined) used.set(h, text);
      return text;
    },
    set(key, text) {
      used.set(hash(key), text);
      added = true;
    },
    // Written only when this run rendered something new: an unchanged project writes nothing.
    save() {
      if (!added) return;
      const out: Record<string, string> = {};
      let size = 0;
      for (const [h, t] of [...used, ...known]) {
        if (h in out) continue;
        if (size + t.length > MAX_CHARS && size > 0) break;
        out[h] = t;
        size += t.length;
      }
      try {
        const tmp = `${file}.${process.pid}`;
        writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
        renameSync(tmp, file);
      } catch {
        // a cache is an optimisation: a full disk or a read-only directory changes nothing else
      }
    },
  };
}

/** The bundled CLI's start (scripts/bundle.mjs): keep texts in `file` for the next run. */
export function keepYamlOnDisk(file: string | undefined): void {
  if (!file) return;
  const cache = yamlCacheFile(file);
  keepYamlIn(cache);
  process.once('exit', () => cache.save());
}

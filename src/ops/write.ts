// Writes rendered files: unchanged files are left alone (same inode, so a
// second run changes nothing), changed ones are staged first and renamed into
// place only once every file is staged, and files a previous render produced
// that are no longer rendered are removed. Nothing is written half-way.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RenderedFile } from '../render/files.js';
import { InputError } from '../errors.js';

const MANIFEST = '.wharf-manifest.json';

export interface WriteResult {
  written: string[];
  unchanged: string[];
  removed: string[];
}

export function writeFiles(outDir: string, files: RenderedFile[]): WriteResult {
  mkdirSync(outDir, { recursive: true });
  const result: WriteResult = { written: [], unchanged: [], removed: [] };
  const staged: Array<{ tmp: string; dest: string }> = [];
  try {
    for (const f of files) {
      if (f.path.startsWith('/') || f.path.split('/').includes('..'))
        throw new InputError(`refusing to write outside ${outDir}: ${f.path}`);
      const dest = join(outDir, f.path);
      const mode = f.mode ?? 0o644;
      if (existsSync(dest) && readFileSync(dest, 'utf8') === f.contents && (statSync(dest).mode & 0o777) === mode) {
        result.unchanged.push(f.path);
        continue;
      }
      mkdirSync(dirname(dest), { recursive: true });
      const tmp = `${dest}.wharf-tmp-${process.pid}`;
      writeFileSync(tmp, f.contents, { mode });
      chmodSync(tmp, mode);
      staged.push({ tmp, dest });
      result.written.push(f.path);
    }
  } catch (err) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw err;
  }
  for (const s of staged) renameSync(s.tmp, s.dest);

  const previous = readManifest(outDir);
  const current = new Set(files.map((f) => f.path));
  for (const p of previous) {
    if (!current.has(p)) {
      rmSync(join(outDir, p), { force: true });
      result.removed.push(p);
    }
  }
  writeFileSync(join(outDir, MANIFEST), `${JSON.stringify([...current].sort(), null, 2)}\n`);
  return result;
}

function readManifest(outDir: string): string[] {
  try {
    const v = JSON.parse(readFileSync(join(outDir, MANIFEST), 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && !x.includes('..')) : [];
  } catch {
    return [];
  }
}

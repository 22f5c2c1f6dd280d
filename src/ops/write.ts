// Writes rendered files: unchanged files are left alone (same inode, so a
// second run changes nothing), changed ones are staged first and renamed into
// place only once every file is staged, and files a previous render produced
// that are no longer rendered are removed. Nothing is written half-way.
//
// Every path goes through fs/confined.ts: nothing lands outside the project, also through a
// link. The manifest (.wharf-manifest.json) may come from a cloned repository, so it is data to
// check, not to obey: an entry is removed only when it is a regular file inside the output
// directory whose content still has the hash this wharf recorded when it wrote it.
import { lstatSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { RenderedFile } from '../render/files.js';
import { InputError } from '../errors.js';
import { assertWritable, confine, fileHash, mkdirInside, removeInside, sha256, writeInside, writeNew } from '../fs/confined.js';

const MANIFEST = '.wharf-manifest.json';

export interface WriteResult {
  written: string[];
  unchanged: string[];
  removed: string[];
  /** files a manifest names that wharf cannot prove it wrote (changed since, links, directories): left in place */
  kept: string[];
}

/** outDir is <project>/.wharf/<target>; `root` is the project, the boundary nothing may leave. */
export function writeFiles(outDir: string, files: RenderedFile[], root = dirname(dirname(outDir))): WriteResult {
  const rel = (p: string) => relative(root, join(outDir, p));
  for (const f of files)
    if (f.path.startsWith('/') || f.path.split('/').includes('..')) throw new InputError(`refusing to write outside ${outDir}: ${f.path}`);
  // Every destination is checked before the first byte is written.
  assertWritable(root, [relative(root, outDir) || '.', ...files.map((f) => rel(f.path))]);
  const out = mkdirInside(root, relative(root, outDir));
  const result: WriteResult = { written: [], unchanged: [], removed: [], kept: [] };
  const staged: Array<{ tmp: string; dest: string }> = [];
  const hashes: Record<string, string> = {};
  try {
    for (const f of files) {
      const dest = join(out, f.path);
      const mode = f.mode ?? 0o644;
      hashes[f.path] = sha256(f.contents);
      if (sameFile(dest, f.contents, mode)) {
        result.unchanged.push(f.path);
        continue;
      }
      mkdirInside(root, dirname(rel(f.path)));
      const tmp = `${confine(root, rel(f.path)).real}.wharf-tmp-${process.pid}`;
      writeNew(tmp, f.contents, mode);
      staged.push({ tmp, dest });
      result.written.push(f.path);
    }
  } catch (err) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw err;
  }
  for (const s of staged) renameSync(s.tmp, s.dest);

  const previous = readManifest(out);
  for (const [p, hash] of Object.entries(previous)) {
    if (p in hashes) continue;
    // Confined to the output directory (not just the project), and only the file wharf wrote.
    const proven = hash !== undefined && fileHash(out, p) === hash;
    if (proven && removeInside(out, p)) result.removed.push(p);
    else result.kept.push(p);
  }
  // A render killed mid-write (or an older wharf on a full disk) left temporaries: they are ours.
  for (const p of staleTemporaries(out)) if (removeInside(out, p)) result.removed.push(p);
  // An unchanged render writes nothing, the manifest included.
  const manifest = `${JSON.stringify({ version: 2, files: sortKeys(hashes) }, null, 2)}\n`;
  if (!sameFile(join(out, MANIFEST), manifest, 0o644)) writeInside(root, rel(MANIFEST), manifest);
  return result;
}

function sameFile(dest: string, contents: string, mode: number): boolean {
  try {
    const st = lstatSync(dest);
    return st.isFile() && (st.mode & 0o777) === mode && readFileSync(dest, 'utf8') === contents;
  } catch {
    return false;
  }
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]!]),
  );
}

/** path -> sha256 of what wharf wrote; an older manifest (a bare list) proves nothing: undefined hashes. */
function readManifest(outDir: string): Record<string, string | undefined> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(join(outDir, MANIFEST), 'utf8'));
  } catch {
    return {};
  }
  const ok = (p: unknown): p is string => typeof p === 'string' && p !== '' && !p.startsWith('/') && !p.split(/[\\/]/).includes('..');
  if (Array.isArray(v)) return Object.fromEntries(v.filter(ok).map((p) => [p, undefined]));
  const files = (v as { files?: unknown })?.files;
  if (!files || typeof files !== 'object') return {};
  return Object.fromEntries(
    Object.entries(files as Record<string, unknown>).filter(([p, h]) => ok(p) && typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)),
  ) as Record<string, string>;
}

function staleTemporaries(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const p = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) return staleTemporaries(dir, p);
    return e.isFile() && /\.wharf-tmp-\d+$/.test(e.name) && !e.name.endsWith(`-${process.pid}`) ? [p] : [];
  });
}

// The project directory is a trust boundary: every file wharf writes, deletes or reads into a
// secret goes through here, resolved against the project root and refused (an input error,
// nothing written) when it would leave it, also through a symbolic link.
//
// What this guarantees: links, manifests and directories present before wharf runs (a cloned
// repository, a committed .wharf/) cannot make wharf write, delete or read outside the root.
// Writes land in a fresh temporary file opened with O_EXCL|O_NOFOLLOW in the checked directory
// and are renamed into place, so even a link created at the target meanwhile is replaced, never
// written through. What it cannot guarantee: Node has no openat(), so someone who can change
// the project's directories while wharf runs could swap a checked directory for a link. Such a
// person can already edit the spec.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserInputError } from '../spec/issues.js';

export interface Confined {
  /** the path as the user should read it (relative to the root when inside) */
  shown: string;
  /** the real absolute path, inside the root's real path */
  real: string;
}

export interface ConfineOptions {
  /** the spec path or file name the error names (defaults to the path relative to the root) */
  what?: string;
  /** a path the user wrote as absolute may be outside the root (a backup destination, a TLS file) */
  allowAbsolute?: boolean;
  hint?: string;
}

const realRoots = new Map<string, string>();
/** The root's real path (the root itself may be reached through a link: it is the anchor). */
export function realRoot(root: string): string {
  const abs = resolve(root);
  let r = realRoots.get(abs);
  if (!r) {
    if (!exists(abs)) refuse('', `directory ${abs} does not exist`, 'create it, or run wharf in the project directory');
    r = realpathSync(abs);
    realRoots.set(abs, r);
  }
  return r;
}

export function isInside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function refuse(what: string, message: string, hint?: string): never {
  throw new UserInputError([{ path: what, severity: 'error', message, hint }]);
}

/**
 * Where `path` (relative to root, or absolute) really is, following the links that exist on the way.
 * Refused when it leaves the root, unless opts.allowAbsolute and the user wrote it absolute.
 */
export function confine(root: string, path: string, opts: ConfineOptions = {}): Confined {
  const base = realRoot(root);
  const lexical = resolve(root, path);
  const inside = isInside(resolve(root), lexical);
  const abs = inside ? join(base, relative(resolve(root), lexical)) : lexical;
  const shown = inside ? relative(resolve(root), lexical) || '.' : path;
  const what = opts.what ?? shown;
  const free = opts.allowAbsolute === true && isAbsolute(path);
  if (!free && !isInside(base, abs))
    refuse(what, `${path} is outside the project ${resolve(root)}`, opts.hint ?? 'keep the file inside the project');
  // The deepest part that exists decides where the rest lands.
  let existing = abs;
  const rest: string[] = [];
  while (!exists(existing)) {
    rest.unshift(existing.slice(dirname(existing).length).replace(/^[\\/]/, ''));
    existing = dirname(existing);
  }
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    refuse(what, `${shown} is a symbolic link that points nowhere`, 'remove the link, then run the command again');
  }
  if (!free && !isInside(base, real)) {
    const link = firstLink(base, existing);
    const linkShown = link ? relative(base, link) : shown;
    refuse(
      opts.what ?? linkShown,
      `${opts.what ? `${linkShown} ` : ''}is a symbolic link to ${real}, outside the project ${resolve(root)}: wharf reads and writes only inside it`,
      opts.hint ?? `remove the link (rm ${linkShown}), then run the command again`,
    );
  }
  return { shown, real: rest.length ? join(real, ...rest) : real };
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function firstLink(base: string, p: string): string | undefined {
  const parts = relative(base, p).split(sep).filter(Boolean);
  let cur = base;
  for (const part of parts) {
    cur = join(cur, part);
    if (lstatSync(cur).isSymbolicLink()) return cur;
  }
  return undefined;
}

/** Refuses, before anything is written, any of `paths` that would land outside the root. */
export function assertWritable(root: string, paths: Array<string | ({ path: string } & ConfineOptions)>): void {
  const issues = paths.flatMap((p) => {
    try {
      if (typeof p === 'string') confine(root, p);
      else confine(root, p.path, p);
      return [];
    } catch (e) {
      if (e instanceof UserInputError) return e.issues;
      throw e;
    }
  });
  // One link under many paths is one problem.
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(`${i.path}\0${i.message}`) && seen.add(`${i.path}\0${i.message}`));
  if (unique.length) throw new UserInputError(unique);
}

/** mkdir -p inside the root; new directories get `mode`. Returns the real path. */
export function mkdirInside(root: string, path: string, mode = 0o755, opts: ConfineOptions = {}): string {
  const { real } = confine(root, path, opts);
  mkdirSync(real, { recursive: true, mode });
  return real;
}

/**
 * Writes a file inside the root: a fresh temporary file (O_EXCL|O_NOFOLLOW, so never through a
 * link) beside the target, then renamed over it. A failed write leaves no temporary behind.
 */
export function writeInside(root: string, path: string, contents: string | Buffer, opts: { mode?: number; dirMode?: number } = {}): string {
  const { real } = confine(root, path);
  mkdirSync(dirname(real), { recursive: true, mode: opts.dirMode ?? 0o755 });
  const tmp = `${real}.wharf-tmp-${process.pid}`;
  writeNew(tmp, contents, opts.mode ?? 0o644);
  try {
    renameSync(tmp, real);
  } catch (e) {
    unlinkQuietly(tmp);
    throw e;
  }
  return real;
}

/** Creates `path` (which must not exist) with O_EXCL|O_NOFOLLOW; removes it again if writing fails. */
export function writeNew(path: string, contents: string | Buffer, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask narrowed the mode given to open
    const buf = typeof contents === 'string' ? Buffer.from(contents) : contents;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(path);
    throw e;
  }
}

function unlinkQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/** Removes a regular file inside the root. Links, directories and anything outside are left alone. */
export function removeInside(root: string, path: string): boolean {
  let real: string;
  try {
    real = confine(root, path).real;
  } catch {
    return false;
  }
  const st = lstatOrUndefined(real);
  if (!st?.isFile()) return false;
  unlinkSync(real);
  return true;
}

/** A regular file's sha256, or undefined when it is missing, a link or not a file. */
export function fileHash(root: string, path: string): string | undefined {
  let real: string;
  try {
    real = confine(root, path).real;
  } catch {
    return undefined;
  }
  if (!lstatOrUndefined(real)?.isFile()) return undefined;
  return sha256(readFileSync(real));
}

export const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Reads a file the user named (a secret's source): inside the root, or absolute when allowed. */
export function readInside(root: string, path: string, opts: ConfineOptions = {}): Buffer {
  const { real, shown } = confine(root, path, opts);
  const st = lstatOrUndefined(real);
  if (!st) refuse(opts.what ?? shown, `file ${path} does not exist`, 'create it, or use `generate: true`');
  if (!st.isFile()) refuse(opts.what ?? shown, `${path} is not a regular file`);
  return readFileSync(real);
}

// wharf secrets export / import (issue 27): everything that must be kept off the host to rebuild
// the stack elsewhere (.wharf/secrets, the restic repository password among them, and the hash
// of the spec they belong to) as ONE age-encrypted file, and back. age (age-encryption, by its
// author) with a passphrase (scrypt) or an X25519 recipient; the plain bundle exists only in memory.
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as age from 'age-encryption';
import { InputError } from '../errors.js';
import { confine, mkdirInside, sha256, writeInside } from '../fs/confined.js';

/** The secret the backup job's restic repository opens with (a generated secret like the others). */
export const RESTIC_PASSWORD = 'backup-restic-password';
const FORMAT = 'wharf-secrets/1';

export interface Bundle {
  format: typeof FORMAT;
  /** sha256 of the spec file the secrets were generated for */
  specHash: string;
  /** path inside .wharf/secrets -> content (base64) and mode */
  files: Record<string, { mode: number; base64: string }>;
}

/** How the file is locked: a passphrase, or age recipients (export) / identities (import). */
export type Key = { passphrase: string } | { recipients: string[] } | { identities: string[] };

function filesUnder(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) return filesUnder(dir, rel);
    return e.isFile() ? [rel] : []; // links are not secrets wharf wrote
  });
}

/** The bundle of a project's secrets, read through the confined reader (nothing outside the project). */
export function collectSecrets(projectDir: string, specPath: string, secretsDir: string): Bundle {
  const { real } = confine(projectDir, secretsDir);
  let names: string[];
  try {
    names = filesUnder(real);
  } catch {
    throw new InputError(`${relative(projectDir, secretsDir)} does not exist: nothing to export`, { hint: 'run `wharf render` first' });
  }
  if (!names.length) throw new InputError(`${relative(projectDir, secretsDir)} is empty: nothing to export`);
  const files = Object.fromEntries(
    names.sort().map((n) => [n, { mode: lstatSync(join(real, n)).mode & 0o777, base64: readFileSync(join(real, n)).toString('base64') }]),
  );
  return { format: FORMAT, specHash: sha256(readFileSync(specPath)), files };
}

export async function sealBundle(bundle: Bundle, key: Key): Promise<string> {
  const e = new age.Encrypter();
  if ('passphrase' in key) e.setPassphrase(key.passphrase);
  else if ('recipients' in key) for (const r of key.recipients) e.addRecipient(r);
  else throw new InputError('export encrypts to a passphrase or to recipients (age1...), not to an identity');
  return age.armor.encode(await e.encrypt(JSON.stringify(bundle)));
}

export async function openBundle(text: string, key: Key, shown: string): Promise<Bundle> {
  const d = new age.Decrypter();
  if ('passphrase' in key) d.addPassphrase(key.passphrase);
  else if ('identities' in key) for (const i of key.identities) d.addIdentity(i);
  else throw new InputError('import decrypts with a passphrase or an identity (AGE-SECRET-KEY-...)');
  let plain: string;
  try {
    plain = await d.decrypt(age.armor.decode(text.trim() + '\n'), 'text');
  } catch (e) {
    // age's message says what failed (wrong passphrase, not an age file) and never holds plaintext
    throw new InputError(`${shown} cannot be decrypted: ${(e as Error).message}`, {
      hint: 'give the passphrase (or identity) it was exported with',
    });
  }
  let b: Bundle;
  try {
    b = JSON.parse(plain) as Bundle;
  } catch {
    throw new InputError(`${shown} decrypts, but not to a wharf secrets bundle`);
  }
  if (b?.format !== FORMAT || typeof b.files !== 'object' || !b.files)
    throw new InputError(`${shown} decrypts, but not to a wharf secrets bundle (${FORMAT})`);
  return b;
}

export interface ImportResult {
  written: string[];
  unchanged: string[];
  /** the spec the secrets were made for is not the one here (a warning: specs change) */
  specDiffers: boolean;
}

/**
 * Writes a bundle's files into .wharf/secrets. A file that exists with other content is refused
 * (all checked before the first write) unless `force`: importing must never silently replace the
 * passwords a running stack uses.
 */
export function restoreSecrets(bundle: Bundle, projectDir: string, specPath: string, secretsDir: string, force = false): ImportResult {
  const rel = relative(projectDir, secretsDir);
  const plan = Object.entries(bundle.files).map(([name, f]) => {
    if (typeof f?.base64 !== 'string' || typeof f.mode !== 'number') throw new InputError(`${name}: not a file entry of the bundle`);
    const path = join(secretsDir, name);
    // a name like ../../x leaves .wharf/secrets: refused like any path out of it
    const { real } = confine(projectDir, path, { what: `${rel}/${name}` });
    if (relative(confine(projectDir, secretsDir).real, real).startsWith('..'))
      throw new InputError(`${name}: the bundle names a file outside ${rel}`);
    const contents = Buffer.from(f.base64, 'base64');
    let current: Buffer | undefined;
    try {
      current = readFileSync(real);
    } catch {
      current = undefined;
    }
    return { name, path, contents, mode: f.mode & 0o777, same: current?.equals(contents) ?? false, exists: current !== undefined };
  });
  const clash = plan.filter((p) => p.exists && !p.same).map((p) => p.name);
  if (clash.length && !force)
    throw new InputError(`${clash.length} secret(s) in ${rel} differ from the export: ${clash.join(', ')}; nothing imported`, {
      hint: 'pass --force to replace them (the running stack uses the ones on disk)',
    });
  mkdirInside(projectDir, secretsDir, 0o700);
  for (const p of plan.filter((x) => !x.same)) writeInside(projectDir, p.path, p.contents, { mode: p.mode, dirMode: 0o700 });
  return {
    written: plan.filter((p) => !p.same).map((p) => p.name),
    unchanged: plan.filter((p) => p.same).map((p) => p.name),
    specDiffers: bundle.specHash !== sha256(readFileSync(specPath)),
  };
}

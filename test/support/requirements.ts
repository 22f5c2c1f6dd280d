// scripts/requirements.txt (what wharf needs on a user's host) and scripts/requirements-test.txt
// (what the test suite adds): the Debian packages install.sh installs and the commands they give.
// Tests name a program through toolPath/have/servers.ts, which refuse one missing from both
// lists, so a new requirement cannot reach CI without an install step.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const requirementsFile = join(import.meta.dirname, '..', '..', 'scripts', 'requirements.txt');
export const testRequirementsFile = join(import.meta.dirname, '..', '..', 'scripts', 'requirements-test.txt');

export interface Requirement {
  pkg: string;
  commands: string[];
  line: number;
  file: string;
}

/** One list (default: both, runtime first, as install.sh --with-tests reads them). */
export function requirements(files: string[] = [requirementsFile, testRequirementsFile]): Requirement[] {
  return files.flatMap((file) => parseRequirements(readFileSync(file, 'utf8'), file));
}

export function parseRequirements(text: string, file = requirementsFile): Requirement[] {
  const out: Requirement[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const [pkg, ...commands] = l.split(/\s+/);
    out.push({ pkg: pkg!, commands: commands.filter((c) => c !== '-'), line: i + 1, file });
  });
  return out;
}

let declared: Set<string> | undefined;

/** True when the command (a name, or a path whose file name is listed) is in requirements.txt. */
export function isDeclared(cmd: string): boolean {
  declared ??= new Set(requirements().flatMap((r) => r.commands.flatMap((c) => [c, basename(c)])));
  return declared.has(cmd) || declared.has(basename(cmd));
}

export function assertDeclared(cmd: string): void {
  if (!isDeclared(cmd))
    throw new Error(
      `${cmd} is not in scripts/requirements.txt or requirements-test.txt: add the Debian package that provides it, so install.sh installs it`,
    );
}

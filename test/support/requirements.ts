// scripts/requirements.txt: the Debian packages install.sh installs and the commands they give.
// Tests name a program through toolPath/have/servers.ts, which refuse one missing from the list,
// so a new requirement cannot reach CI without an install step.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const requirementsFile = join(import.meta.dirname, '..', '..', 'scripts', 'requirements.txt');

export interface Requirement { pkg: string; commands: string[]; line: number }

export function requirements(text = readFileSync(requirementsFile, 'utf8')): Requirement[] {
  const out: Requirement[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const [pkg, ...commands] = l.split(/\s+/);
    out.push({ pkg: pkg!, commands: commands.filter((c) => c !== '-'), line: i + 1 });
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
  if (!isDeclared(cmd)) throw new Error(`${cmd} is not in scripts/requirements.txt: add the Debian package that provides it, so install.sh installs it`);
}

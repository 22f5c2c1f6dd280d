// Commands as data. Builders in this folder return Cmd objects; only run.ts spawns them,
// so `--dry-run` prints them and tests compare them exactly.
import { shellWord } from '../escape/shell.js';
import { redactText } from './redactor.js';

export interface Cmd {
  argv: string[];
  cwd?: string;
  /** extra environment; values are never printed (see formatCmd) */
  env?: Record<string, string>;
  /** written to stdin */
  input?: string;
  /** one human line: what this step does ("build images", "start containers") */
  describe: string;
  /** strings to mask in captured output and error messages (secret values) */
  redact?: string[];
  /** kill after this many ms */
  timeoutMs?: number;
}

export function cmd(argv: string[], describe: string, extra: Omit<Cmd, 'argv' | 'describe'> = {}): Cmd {
  return { argv, describe, ...extra };
}

/** How a command is shown to people: env keys without their values, argv quoted. */
export function formatCmd(c: Cmd): string {
  const env = Object.keys(c.env ?? {})
    .sort()
    .map((k) => `${k}=***`);
  const line = [...env, ...c.argv.map(shellWord)].join(' ');
  return c.cwd ? `(cd ${shellWord(c.cwd)} && ${line})` : line;
}

/** Replace every occurrence of each secret value by *** (engine/redactor.ts). */
export function redact(text: string, secrets: readonly string[] | undefined): string {
  return redactText(text, secrets);
}

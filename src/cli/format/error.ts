// How a failure reads: one red line (colour only on a terminal), then the hint, then details.
import type { Out } from '../output.js';

export const red = (out: Out, s: string): string => (out.colour ? `\x1b[31m${s}\x1b[39m` : s);

/** "error: first line" in red; the message's further lines (a command's output) and the hint below it. */
export function printError(out: Out, message: string, hint?: string): void {
  const [first = '', ...rest] = message.split('\n');
  out.error(`${red(out, 'error:')} ${first}`);
  for (const l of rest) out.error(l);
  if (hint) out.error(`  hint: ${hint}`);
}

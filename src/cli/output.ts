// Where the CLI's lines go: stdout for results, stderr for progress and errors.
export interface Out {
  log(line?: string): void;
  error(line: string): void;
  /** stderr is a terminal that takes colours (not under NO_COLOR) */
  colour?: boolean;
  /** raw text as it comes, no newline added (a command's output passed through: wharf exec, run) */
  write?(text: string, stream: 'stdout' | 'stderr'): void;
}

export const stdio: Out = {
  log: (line = '') => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
  colour: !!process.stderr.isTTY && !process.env.NO_COLOR,
  write: (text, stream) => void (stream === 'stdout' ? process.stdout : process.stderr).write(text),
};

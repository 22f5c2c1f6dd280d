// Where the CLI's lines go: stdout for results, stderr for progress and errors.
export interface Out {
  log(line?: string): void;
  error(line: string): void;
  /** stderr is a terminal that takes colours (not under NO_COLOR) */
  colour?: boolean;
}

export const stdio: Out = {
  log: (line = '') => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
  colour: !!process.stderr.isTTY && !process.env.NO_COLOR,
};

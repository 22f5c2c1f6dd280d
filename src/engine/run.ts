// The one executor: every process wharf starts goes through run().
import { existsSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { formatCmd, redact, type Cmd } from './command.js';
import { Redactor } from './redactor.js';
import { OperationError } from '../errors.js';

export interface RunResult {
  cmd: Cmd;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface RunOptions {
  /** each output line as it arrives (already redacted) */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** throw CommandError on a non-zero exit (default true) */
  reject?: boolean;
  /** only onLine sees the output, none is kept (a followed log has no end) */
  stream?: boolean;
  /** the output as it arrives, in chunks (binary-safe pass-through), already redacted; none is kept */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  /** the user's side: 'stdin' passes wharf's stdin on; 'terminal' hands over stdin, stdout and stderr (a TTY session:
   *  nothing is captured or redacted, the user is inside the container) */
  attach?: 'stdin' | 'terminal';
  /** ends the command (SIGTERM) when aborted: a followed log when the user interrupts */
  signal?: AbortSignal;
}

export type Runner = (cmd: Cmd, opts?: RunOptions) => Promise<RunResult>;

export class CommandError extends OperationError {
  constructor(readonly result: RunResult) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    super(
      `${result.cmd.describe} failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode}`})` +
        `: ${redact(formatCmd(result.cmd), result.cmd.redact)}${tail ? `\n${tail}` : ''}`,
    );
    this.name = 'CommandError';
  }
}

export const run: Runner = async (c, opts = {}) => {
  const [file, ...args] = c.argv;
  if (!file) throw new Error(`empty command: ${c.describe}`);
  const started = performance.now();
  // loaded on the first command: render and check start none, and it is a quarter of their code
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: c.cwd,
    env: c.env,
    extendEnv: true,
    input: c.input,
    stdin: opts.attach ? 'inherit' : c.input === undefined ? 'ignore' : undefined,
    ...(opts.attach === 'terminal' ? { stdout: 'inherit' as const, stderr: 'inherit' as const } : {}),
    reject: false,
    timeout: c.timeoutMs,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    stripFinalNewline: true,
    lines: false,
    buffer: !opts.stream && !opts.onOutput && opts.attach !== 'terminal',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (opts.onOutput) {
    const onOutput = opts.onOutput;
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const redactor = new Redactor(c.redact ?? []);
      const utf8 = new StringDecoder('utf8'); // a character split over two chunks stays whole
      stream?.on('data', (chunk: Buffer) => {
        const text = redactor.push(utf8.write(chunk));
        if (text) onOutput(text, name);
      });
      stream?.on('end', () => {
        const text = redactor.push(utf8.end()) + redactor.end();
        if (text) onOutput(text, name);
      });
    }
  }
  if (opts.onLine) {
    const onLine = opts.onLine;
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split(/\r?\n|\r/);
        pending = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) onLine(redact(l, c.redact), name);
      });
      stream?.on('end', () => {
        if (pending.trim()) onLine(redact(pending, c.redact), name);
      });
    }
  }
  const r = await child;
  const result: RunResult = {
    cmd: c,
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : r.isCanceled ? 130 : 1,
    stdout: redact(String(r.stdout ?? ''), c.redact),
    stderr: redact(String(r.stderr ?? ''), c.redact),
    durationMs: Math.round(performance.now() - started),
    timedOut: Boolean(r.timedOut),
  };
  if (result.exitCode !== 0 && r.code === 'ENOENT' && !result.stderr) {
    result.stderr = c.cwd && !existsSync(c.cwd) ? `working directory ${c.cwd} does not exist` : `${file}: command not found`;
    result.exitCode = 127;
  }
  if (result.exitCode !== 0 && opts.reject !== false) throw new CommandError(result);
  return result;
};

/** A runner that records commands and answers from a table, for tests and --dry-run. */
export function recordingRunner(answer: (c: Cmd) => Partial<RunResult> | undefined = () => undefined): { runner: Runner; calls: Cmd[] } {
  const calls: Cmd[] = [];
  const runner: Runner = async (c, opts = {}) => {
    calls.push(c);
    const a = answer(c) ?? {};
    const result: RunResult = { cmd: c, exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false, ...a };
    if (result.exitCode !== 0 && opts.reject !== false) throw new CommandError(result);
    return result;
  };
  return { runner, calls };
}

// Parsers for numeric command-line options: a bad value is a usage error (exit 2)
// before anything runs, never a NaN that reaches a timer or a loop.
import { InvalidArgumentError } from 'commander';
import { isDockerHost } from '../spec/grammar.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds, as a plain number (90, 1.5) or a duration (500ms, 90s, 5m, 1h); must be > 0. */
export function parseSeconds(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNIT_SECONDS[m[2] ?? 's']! : NaN;
  if (!(n > 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`"${value}" is not a duration: give seconds (90) or a duration like 90s, 5m, 1h`);
  return n;
}

/** A whole number from 1 to max. */
export function parseCount(max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!(n >= 1 && n <= max)) throw new InvalidArgumentError(`"${value}" should be a whole number from 1 to ${max}`);
    return n;
  };
}

/** A Docker engine address (DOCKER_HOST grammar); it travels in the environment, never a shell. */
export function parseDockerHost(value: string): string {
  if (!isDockerHost(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a Docker engine address: give tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH`,
    );
  }
  return value;
}

/** Log lines since: a duration (10m, 1h30m, 90s) or a timestamp (2026-12-07, 2026-12-07T10:00:00Z, unix seconds). */
export function parseSince(value: string): string {
  const v = value.trim();
  const duration = /^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v);
  const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v);
  const unix = /^\d{9,10}(\.\d+)?$/.test(v);
  if (!duration && !date && !unix) {
    throw new InvalidArgumentError(`"${value}" is not a time: give a duration like 10m or 2h, or a timestamp like 2026-12-07T10:00:00Z`);
  }
  return v;
}

/** Lines per replica: a whole number, or all. */
export function parseTail(value: string): number | 'all' {
  return value.trim() === 'all' ? 'all' : parseCount(1_000_000)(value);
}

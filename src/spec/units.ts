// Durations and sizes, parsed once (in the spirit of cdk8s's Duration and Size): the schema
// checks every spec value with these parsers, and the plan and renderers read numbers from them
// instead of parsing text again. A value the grammar refuses is an error, never 0. Both are
// immutable (frozen): plans and specs may share them; copy plans with plan/copy.ts.

/** One or more number-unit pairs: 15s, 5m, 1h30m, 500ms, 15d (the JSON Schema carries it too). */
export const DURATION_PATTERN = /^(\d+(ms|s|m|h|d|w|y))+$/;
/** Compose-style sizes: 256M, 1.5G, 1048576 (binary multiples). */
export const SIZE_PATTERN = /^\d+(\.\d+)?[kmgKMG]?$/;

const SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 } as const;
const BYTES = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;

export class Duration {
  private constructor(
    private readonly secs: number,
    private readonly text: string,
  ) {
    Object.freeze(this);
  }

  /** "15s", "5m", "1h30m", "500ms", "15d": one or more number-unit pairs (ms s m h d w y). */
  static parse(text: string): Duration {
    const r = Duration.tryParse(text);
    if (typeof r === 'string') throw new Error(r);
    return r;
  }

  /** The duration, or why the text is not one. */
  static tryParse(text: string): Duration | string {
    if (!DURATION_PATTERN.test(text)) return `"${text}" is not a duration like 15s, 5m, 1h30m or 15d`;
    const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
    return new Duration(
      parts.reduce((t, [, n, u]) => t + Number(n) * SECONDS[u as keyof typeof SECONDS], 0),
      text,
    );
  }

  static seconds(n: number): Duration {
    return new Duration(n, `${n}s`);
  }

  toSeconds(): number {
    return this.secs;
  }
  toMilliseconds(): number {
    return Math.round(this.secs * 1000);
  }
  /** Kubernetes' integer seconds (periodSeconds, terminationGracePeriodSeconds), at least `min`. */
  toWholeSeconds(min = 0): number {
    return Math.max(min, Math.ceil(this.secs));
  }
  /** As written in the spec: Compose, Prometheus and Alertmanager read this form. */
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

export class Size {
  private constructor(
    private readonly bytes: number,
    private readonly text: string,
  ) {
    Object.freeze(this);
  }

  /** Compose-style "256M", "1.5G", "1048576" (binary multiples). */
  static parse(text: string): Size {
    const r = Size.tryParse(text);
    if (typeof r === 'string') throw new Error(r);
    return r;
  }

  static tryParse(text: string): Size | string {
    const m = SIZE_PATTERN.test(text) ? /^([\d.]+)(\w?)$/.exec(text) : null;
    if (!m) return `"${text}" is not a size like 256M or 1G`;
    return new Size(Math.round(Number(m[1]) * BYTES[m[2]!.toLowerCase() as keyof typeof BYTES]), text);
  }

  static bytes(n: number): Size {
    return new Size(n, String(n));
  }
  /** Whole mebibytes, rounded up: "130M". */
  static mebibytes(bytes: number): Size {
    return new Size(Math.ceil(bytes / 1024 ** 2) * 1024 ** 2, `${Math.ceil(bytes / 1024 ** 2)}M`);
  }

  toBytes(): number {
    return this.bytes;
  }
  /** Divided by n in its own unit, whole and at least 1 (256M / 2 = 128M); a size written with a
   *  fraction or without a unit is returned as it is. */
  divideWhole(n: number): Size {
    const m = /^(\d+)([kmgKMG])$/.exec(this.text);
    return m ? Size.parse(`${Math.max(1, Math.floor(Number(m[1]) / n))}${m[2]!.toUpperCase()}`) : this;
  }
  /** As written: Compose's and Swarm's limits read this form. */
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
  /** Compose's mem_limit and Redis' maxmemory: lowercase with a b ("256mb"). */
  toByteUnits(): string {
    return this.text.toLowerCase().replace(/([kmg])$/, '$1b');
  }
  /** A Kubernetes quantity: binary suffixes ("256Mi"); plain bytes stay a number. */
  toQuantity(): string {
    const m = /^(\d+(?:\.\d+)?)([kmgKMG])$/.exec(this.text);
    return m ? `${m[1]}${m[2]!.toUpperCase()}i` : this.text;
  }
}

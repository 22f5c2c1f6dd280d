// `wharf logs` without any process: one replica's raw lines (`docker logs --timestamps`) become
// attributed lines, the replicas' lines are merged by time, and a followed stream is put back in
// time order through a short window (lines of two replicas arrive a few ms apart, not in order).

export interface LogLine {
  /** RFC 3339 with nanoseconds, UTC, as the engine stamped it ('' when it did not) */
  time: string;
  service: string;
  replica: string;
  /** the node it runs on; null on one host */
  node: string | null;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface LogSource {
  service: string;
  replica: string;
  node: string | null;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?/;

/** Compose v2 starts each line with an erase-line sequence even with --no-color, piped too. */
export const eraseLine = (line: string): string => line.replace(/^(\x1b\[2K)+/, '');

/** One raw line of a replica: the engine's timestamp split off, attributed to its source. */
export function parseLine(raw: string, source: LogSource, stream: 'stdout' | 'stderr'): LogLine {
  const m = STAMP.exec(raw);
  return { time: m ? normalTime(m[1]!) : '', ...source, stream, line: eraseLine(m ? raw.slice(m[0].length) : raw) };
}

/** Fixed width (9 fraction digits, Z) so times compare as strings; offsets are converted to UTC. */
export function normalTime(t: string): string {
  const m = /^(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return t;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  if (m[3] === 'Z') return `${m[1]}.${frac}Z`;
  const utc = new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${utc}.${frac}Z`;
}

/** Time order; lines of the same instant by service, replica, then as they came (the sort is stable). */
export function compareLines(a: LogLine, b: LogLine): number {
  return cmp(a.time, b.time) || cmp(a.service, b.service) || cmp(a.replica, b.replica) || cmp(a.node ?? '', b.node ?? '');
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every replica's lines as one list in time order. */
export function mergeLines(perReplica: LogLine[][]): LogLine[] {
  return perReplica.flat().sort(compareLines);
}

/** `api.2 | GET /` on one host, `api.2@node-1 | GET /` on several. */
export function prefixOf(l: Pick<LogLine, 'service' | 'replica' | 'node'>): string {
  return `${l.service}.${l.replica}${l.node ? `@${l.node}` : ''}`;
}

/** A human line: the prefix padded to `width`, then the line. */
export function formatLine(l: LogLine, width = 0): string {
  return `${prefixOf(l).padEnd(width)} | ${l.line}`;
}

/** `--json`: one object per line, keys in a fixed order. */
export function jsonLine(l: LogLine): string {
  return JSON.stringify({ time: l.time, service: l.service, replica: l.replica, node: l.node, stream: l.stream, line: l.line });
}

/**
 * Lines of a followed stream are held `windowMs` after they arrive, then released in time order:
 * what two replicas printed within the window comes out ordered. `flush(now)` releases what has
 * waited long enough; `flush()` everything (the end).
 */
export class ReorderWindow {
  private held: Array<{ at: number; line: LogLine }> = [];

  constructor(
    private readonly windowMs: number,
    private readonly emit: (l: LogLine) => void,
  ) {}

  add(line: LogLine, now: number): void {
    this.held.push({ at: now, line });
  }

  flush(now = Infinity): void {
    const due = this.held.filter((h) => now - h.at >= this.windowMs);
    if (!due.length) return;
    this.held = this.held.filter((h) => now - h.at < this.windowMs);
    for (const l of mergeLines([due.map((h) => h.line)])) this.emit(l);
  }

  get size(): number {
    return this.held.length;
  }
}

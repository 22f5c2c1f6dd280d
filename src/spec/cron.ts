// The one cron implementation: cron-parser reads every schedule. The schema validates with
// it, the backup renderer writes its expansion (explicit lists, so the shell scheduler only
// tests list membership) and BackupStale's threshold is the longest gap between two runs
// of that expansion (tested against the library's next()).
// Times are UTC, like the scheduler's.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { Settings } from 'luxon';

// cron-parser keeps its dates in luxon, which asks Intl for the system locale on the first
// date: loading ICU's locale data was ~45 ms of every `wharf check`/`render`. No cron result
// depends on a locale (UTC, numbers and English names cron-parser reads itself), so pin one.
// (The bundle holds one luxon, scripts/bundle.mjs; run from source, Node loads this import's
// ESM copy beside cron-parser's CommonJS one and the pin only costs nothing.)
Settings.defaultLocale = 'en-US';

export const cronMacros: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
};

/** A schedule as the scheduler reads it: per field `*` or an ascending comma list. */
export interface CronFields {
  minute: string;
  hour: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
}

// Plain cron only: numbers, names, * , - /. The library's extensions (L, W, #, ?, H, a
// seconds field) have no fixed expansion into lists, so they are refused.
const token = /^(\*|\d+|[a-z]{3})$/i;

function parse(expr: string, currentDate?: Date): CronExpression {
  const fields = (cronMacros[expr] ?? expr).trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  for (const f of fields) {
    for (const t of f.split(/[,/-]/)) if (!token.test(t)) throw new Error(`unsupported field "${f}" (use numbers, names, * , - and /)`);
  }
  return CronExpressionParser.parse(fields.join(' '), { tz: 'UTC', currentDate: currentDate ?? new Date(0), strict: false });
}

/** undefined when the library accepts the expression, else its reason. */
export function cronProblem(expr: string): string | undefined {
  try {
    parse(expr);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The expanded fields; throws on an expression the schema would refuse (a bug upstream). */
export function cronFields(expr: string): CronFields {
  let f;
  try {
    f = parse(expr).fields;
  } catch (e) {
    throw new Error(`bug: invalid cron expression ${JSON.stringify(expr)} reached the plan: ${(e as Error).message}`, { cause: e });
  }
  const list = (field: { isWildcard: boolean; values: readonly unknown[] }, map = (n: number) => n) => {
    if (field.isWildcard) return '*';
    const nums = [...new Set(field.values.map((v) => map(Number(v))))].sort((a, b) => a - b);
    return nums.join(',');
  };
  return {
    minute: list(f.minute),
    hour: list(f.hour),
    dayOfMonth: list(f.dayOfMonth),
    month: list(f.month),
    dayOfWeek: list(f.dayOfWeek, (d) => d % 7), // 7 and 0 are both Sunday
  };
}

/** "m h dom mon dow" with explicit lists: what backup/schedule holds. */
export function normalizeCron(expr: string): string {
  const f = cronFields(expr);
  return [f.minute, f.hour, f.dayOfMonth, f.month, f.dayOfWeek].join(' ');
}

/** The run times after `from`, from the library (tests compare the shell scheduler with it). */
export function cronRuns(expr: string, from: Date, count: number): Date[] {
  const it = parse(expr, from);
  return Array.from({ length: count }, () => it.next().toDate());
}

const gapCache = new Map<string, number>();
// Five years from 2024 hold two 29ths of February, so even `0 0 29 2 *` has a gap.
const windowStart = Date.UTC(2024, 0, 1);
const windowEnd = Date.UTC(2029, 0, 2);
const DAY = 86400000;

/** The longest time between two consecutive runs, in seconds, over five years. Computed on
 *  the library's expansion with the scheduler's own rule (walking every minute of `* * * * *`
 *  with the library would take seconds); a test checks it against the library's next(). */
export function cronMaxIntervalSeconds(expr: string): number {
  const cached = gapCache.get(expr);
  if (cached !== undefined) return cached;
  const f = cronFields(expr);
  const set = (field: string) => (field === '*' ? undefined : new Set(field.split(',').map(Number)));
  const [minutes, hours, doms, months, dows] = [f.minute, f.hour, f.dayOfMonth, f.month, f.dayOfWeek].map(set);
  const has = (s: Set<number> | undefined, v: number) => s === undefined || s.has(v);
  const times: number[] = [];
  for (let h = 0; h < 24; h++) for (let m = 0; m < 60; m++) if (has(hours, h) && has(minutes, m)) times.push((h * 60 + m) * 60);
  let max = 0;
  for (let i = 1; i < times.length; i++) max = Math.max(max, times[i]! - times[i - 1]!);
  const runsOn = (d: Date) => {
    if (!has(months, d.getUTCMonth() + 1)) return false;
    const dom = has(doms, d.getUTCDate()),
      dow = has(dows, d.getUTCDay());
    return doms && dows ? dom || dow : dom && dow; // cron: either day field when both are restricted
  };
  let prev: number | undefined;
  for (let t = windowStart; t <= windowEnd; t += DAY) {
    if (!runsOn(new Date(t))) continue;
    if (prev !== undefined) max = Math.max(max, (t - prev) / 1000 - times[times.length - 1]! + times[0]!);
    prev = t;
  }
  if (max === 0) max = (windowEnd - windowStart) / 1000; // at most one run in five years
  gapCache.set(expr, max);
  return max;
}

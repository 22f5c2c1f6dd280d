// Deep copies of plans and specs. structuredClone would turn a Duration or a Size into a plain
// object without its methods; they are immutable, so a copy shares them.
import { Duration, Size } from '../spec/units.js';

export function deepCopy<T>(v: T): T {
  if (v instanceof Duration || v instanceof Size) return v;
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)])) as T;
  return v;
}

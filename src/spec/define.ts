import type { StackInput } from './schema.js';

/** Typed helper for wharf.config.ts: `export default defineStack({...})`. */
export function defineStack(stack: StackInput): StackInput {
  return stack;
}

// A template as wharf.config.ts: `export default defineStack({...})`, the shape a TypeScript
// user knows from vite.config.ts. Plain data, so the literal is the YAML's value, key for key.
const identifier = /^[A-Za-z_$][\w$]*$/;

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;

function literal(v: unknown, indent: string): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return quote(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    if (v.every((x) => typeof x !== 'object' || x === null)) return `[${v.map((x) => literal(x, inner)).join(', ')}]`;
    return `[\n${v.map((x) => `${inner}${literal(x, inner)},\n`).join('')}${indent}]`;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (!entries.length) return '{}';
    const key = (k: string) => (identifier.test(k) ? k : quote(k));
    // Short objects of plain values stay on one line, as a formatter would leave them.
    if (entries.every(([, x]) => typeof x !== 'object' || x === null)) {
      const flat = `{ ${entries.map(([k, x]) => `${key(k)}: ${literal(x, inner)}`).join(', ')} }`;
      if (flat.length <= 60) return flat;
    }
    return `{\n${entries.map(([k, x]) => `${inner}${key(k)}: ${literal(x, inner)},\n`).join('')}${indent}}`;
  }
  throw new Error(`cannot write ${typeof v} into wharf.config.ts`);
}

export function configSource(stack: unknown): string {
  return `import { defineStack } from 'wharf';\n\nexport default defineStack(${literal(stack, '')});\n`;
}

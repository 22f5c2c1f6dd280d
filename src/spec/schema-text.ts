// The JSON Schema of the spec as the text written to .wharf/wharf.schema.json. The bundle
// replaces this module with the text computed at build time (scripts/bundle.mjs): converting
// the zod schema cost every `wharf render` about 40 ms.
import { jsonSchema } from './schema.js';

export function schemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

// The package's public API (`import { defineStack } from 'wharf'`): the typed helper for
// wharf.config.ts and the spec types, all inferred from the one schema.
export { defineStack } from './spec/define.js';
export type { StackInput, Stack, Service, Database, Cache, Backup, Receiver, ImageKey } from './spec/schema.js';

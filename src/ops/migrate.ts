// `wharf migrate`: rewrites a spec written for an older version into the current one, step by
// step through the migration table. YAML is edited as a document, so comments survive;
// wharf.config.ts is code, so its changes are listed for the user to make.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeInside } from '../fs/confined.js';
import { parseDocument } from 'yaml';
import { evaluateConfig } from '../spec/config-file.js';
import { UserInputError } from '../spec/issues.js';
import { migrateDocument, migrations, SPEC_VERSION, versionState, type Migration } from '../spec/migrate.js';

export interface MigrateResult {
  file: string;
  from: number;
  to: number;
  steps: string[];
  written: boolean;
}

export async function migrateSpecFile(
  file: string,
  opts: { dryRun?: boolean; table?: readonly Migration[]; current?: number } = {},
): Promise<MigrateResult> {
  const table = opts.table ?? migrations;
  const current = opts.current ?? SPEC_VERSION;
  const shown = basename(file);
  if (file.endsWith('.ts') || file.endsWith('.js') || file.endsWith('.mjs')) {
    const r = await evaluateConfig(file);
    if (!r.ok) throw new UserInputError([{ path: '', severity: 'error', message: r.message, hint: r.hint }]);
    const version = r.value && typeof r.value === 'object' ? (r.value as { version?: unknown }).version : undefined;
    const state = versionState(version, table, current);
    if (state.kind === 'bad') throw new UserInputError([{ ...state.issue, file: shown }]);
    if (state.kind === 'current') return { file, from: current, to: current, steps: [], written: false };
    throw new UserInputError([
      {
        path: 'version',
        severity: 'error',
        file: shown,
        message:
          `${shown} is code and is not rewritten automatically; for version ${current}: ${state.steps.map((s) => s.describe).join('; ')}` +
          `; then set version: ${current}`,
      },
    ]);
  }
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length)
    throw new UserInputError([
      {
        path: '',
        severity: 'error',
        file: shown,
        message: `YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
        hint: 'run `wharf check` for every problem',
      },
    ]);
  const from = (doc.get('version') as number | undefined) ?? 1;
  const r = migrateDocument(doc, table, current);
  if (r.issue) throw new UserInputError([{ ...r.issue, file: shown }]);
  if (!r.steps.length) return { file, from, to: current, steps: [], written: false };
  if (!opts.dryRun) {
    // Whole file or nothing: a crash mid-write must not leave half a spec.
    writeInside(dirname(file), file, doc.toString());
  }
  return { file, from, to: current, steps: r.steps.map((s) => s.describe), written: !opts.dryRun };
}

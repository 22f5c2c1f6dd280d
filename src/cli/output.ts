// Everything the CLI prints goes through here: tables for people, JSON for tools.
import Table from 'cli-table3';
import { formatIssue, type Issue } from '../spec/issues.js';

export interface Out {
  log(line?: string): void;
  error(line: string): void;
}

export const stdio: Out = {
  log: (line = '') => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
};

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

export function printIssues(out: Out, issues: Issue[]): void {
  for (const i of issues) out.error(`${i.severity === 'error' ? 'error' : 'warning'}: ${formatIssue(i)}`);
}

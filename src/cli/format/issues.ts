// Spec problems and refusals, one line each: "error: where: what (hint: how)".
import { formatIssue, type Issue } from '../../spec/issues.js';
import type { Out } from '../output.js';
import { red } from './error.js';

export function printIssues(out: Out, issues: Issue[]): void {
  for (const i of issues) {
    const label = i.severity === 'error' ? red(out, 'error') : 'warning';
    out.error(`${label}: ${formatIssue(i)}`);
  }
}

// What a PromQL expression names: the metrics it selects (with the labels its matchers test) and
// the labels its by/without/on/ignoring/group_x clauses use, each with the metrics in its scope.
// Parsed with the Prometheus UI's own grammar (@prometheus-io/lezer-promql), never with regexes.
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';

export interface SelectorRef {
  metric: string;
  /** label names its matchers test (not __name__) */
  labels: string[];
}

export interface GroupingRef {
  clause: 'by' | 'without' | 'on' | 'ignoring' | 'group_left' | 'group_right';
  label: string;
  /** metrics selected in the clause's scope (the aggregation's argument, or both sides of the operator) */
  scope: string[];
  /** labels that label_replace/label_join create in that scope */
  created: string[];
}

export interface CallRef {
  /** the function's name as written, e.g. changes */
  fn: string;
  /** metrics selected in its arguments */
  scope: string[];
}

export interface PromqlRefs {
  selectors: SelectorRef[];
  groupings: GroupingRef[];
  calls: CallRef[];
}

export class PromqlSyntaxError extends Error {}

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  if (s.startsWith("'")) return JSON.parse(`"${s.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
  return JSON.parse(s) as string;
}

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

export function promqlRefs(expr: string): PromqlRefs {
  const tree = parser.parse(expr);
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(n) {
      if (n.type.isError) throw new PromqlSyntaxError(`cannot parse PromQL at ${n.from}: ${expr}`);
    },
  });

  const selectorOf = (vs: SyntaxNode): SelectorRef => {
    let metric = '';
    const labels: string[] = [];
    for (const c of children(vs)) {
      if (c.name === 'Identifier') metric = text(c);
      if (c.name !== 'LabelMatchers') continue;
      for (const m of children(c)) {
        if (m.name === 'QuotedLabelName') metric = unquote(text(m.firstChild!));
        if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
        const nameNode = m.firstChild!;
        const name = nameNode.name === 'LabelName' ? text(nameNode) : unquote(text(nameNode.firstChild ?? nameNode));
        if (name === '__name__') {
          const op = m.getChild('MatchOp');
          if (op?.firstChild?.name !== 'EqlSingle') throw new PromqlSyntaxError(`__name__ matched by a pattern is not checkable: ${expr}`);
          metric = unquote(text(m.getChild('StringLiteral')!));
        } else labels.push(name);
      }
    }
    if (!metric) throw new PromqlSyntaxError(`selector without a metric name: ${text(vs)}`);
    return { metric, labels };
  };

  // Metrics and label_replace/label_join targets below a node.
  const scopeOf = (n: SyntaxNode): { metrics: string[]; created: string[] } => {
    const metrics = new Set<string>();
    const created = new Set<string>();
    const walk = (x: SyntaxNode) => {
      if (x.name === 'VectorSelector') {
        metrics.add(selectorOf(x).metric);
        return;
      }
      if (x.name === 'FunctionCall') {
        const fn = x.getChild('FunctionIdentifier')?.firstChild?.name;
        if (fn === 'LabelReplace' || fn === 'LabelJoin') {
          const dst = x.getChild('FunctionCallBody')?.getChild('StringLiteral');
          if (dst) created.add(unquote(text(dst)));
        }
      }
      for (const c of children(x)) walk(c);
    };
    walk(n);
    return { metrics: [...metrics].sort(), created: [...created].sort() };
  };

  const selectors: SelectorRef[] = [];
  const groupings: GroupingRef[] = [];
  const calls: CallRef[] = [];
  const labelsIn = (g: SyntaxNode | null) =>
    g
      ? children(g)
          .filter((c) => c.name === 'LabelName')
          .map(text)
      : [];

  const visit = (n: SyntaxNode) => {
    if (n.name === 'VectorSelector') selectors.push(selectorOf(n));
    if (n.name === 'FunctionCall') {
      const id = n.getChild('FunctionIdentifier');
      const body = n.getChild('FunctionCallBody');
      if (id && body) calls.push({ fn: text(id), scope: scopeOf(body).metrics });
    }
    if (n.name === 'AggregateExpr') {
      const mod = n.getChild('AggregateModifier');
      if (mod) {
        const clause = mod.getChild('By') ? 'by' : 'without';
        const { metrics, created } = scopeOf(n.getChild('FunctionCallBody')!);
        for (const label of labelsIn(mod.getChild('GroupingLabels'))) groupings.push({ clause, label, scope: metrics, created });
      }
    }
    if (n.name === 'BinaryExpr') {
      const mod = n.getChild('MatchingModifierClause');
      if (mod) {
        const { metrics, created } = scopeOf(n);
        const groups = children(mod).filter((c) => c.name === 'GroupingLabels');
        const head = mod.getChild('On') ? 'on' : 'ignoring';
        const side = mod.getChild('GroupLeft') ? 'group_left' : mod.getChild('GroupRight') ? 'group_right' : undefined;
        for (const label of labelsIn(groups[0] ?? null)) groupings.push({ clause: head, label, scope: metrics, created });
        if (side) for (const label of labelsIn(groups[1] ?? null)) groupings.push({ clause: side, label, scope: metrics, created });
      }
    }
    for (const c of children(n)) visit(c);
  };
  visit(tree.topNode);
  return { selectors, groupings, calls };
}

// Metric names and label names in a Prometheus text exposition, read with a real parser
// (parse-prometheus-text-format, a port of client_python's). Histograms and summaries are
// expanded into the series PromQL sees: _bucket (le), _sum, _count, and quantile.
import { createRequire } from 'node:module';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; buckets?: Record<string, string>; quantiles?: Record<string, string> }>;
}
const parseText = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** metric name -> label names seen on it */
export type Exposed = Map<string, Set<string>>;

export function exposedNames(text: string): Exposed {
  const out: Exposed = new Map();
  const add = (name: string, labels: string[]) => {
    const s = out.get(name) ?? new Set<string>();
    for (const l of labels) s.add(l);
    out.set(name, s);
  };
  for (const f of parseText(text)) {
    const labels = [...new Set(f.metrics.flatMap((m) => Object.keys(m.labels ?? {})))];
    if (f.type === 'HISTOGRAM') {
      add(`${f.name}_bucket`, [...labels, 'le']);
      add(`${f.name}_sum`, labels);
      add(`${f.name}_count`, labels);
    } else if (f.type === 'SUMMARY') {
      add(f.name, [...labels, 'quantile']);
      add(`${f.name}_sum`, labels);
      add(`${f.name}_count`, labels);
    } else add(f.name, labels);
  }
  return out;
}

export async function scrape(url: string): Promise<Exposed> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return exposedNames(await res.text());
}

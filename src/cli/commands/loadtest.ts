// wharf loadtest: load a route through the edge; throughput, latency, per-replica fairness.
import type { LoadtestResult } from '../../ops/loadtest.js';
import type { Out } from '../output.js';
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { parseCount, parseSeconds } from '../parse-options.js';
import { loadTargeted, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

interface Flags extends TargetFlags {
  route?: string;
  path?: string;
  duration: number;
  connections: number;
  json: boolean;
}

export const registerLoadtest: Register = (program, cli) => {
  const c = program
    .command('loadtest')
    .description('load a route through the edge: throughput, latency percentiles, errors, per-replica fairness')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--route <name|host>', 'route to load (default: the first public route)')
    .option('--path <path>', "request path (default: the health path of the route's service, else the route's path)")
    .option('-d, --duration <seconds>', 'duration: seconds, or a duration like 90s', parseSeconds, 10)
    .option('-c, --connections <n>', 'concurrent connections', parseCount(10_000), 10)
    .addOption(jsonOption());
  withTargets(c, 'loadtest').action(
    action(cli, async (o: Flags) => {
      const { loaded } = await loadTargeted('loadtest', o);
      const { loadtest } = await import('../../ops/loadtest.js');
      const out = cli.io.out;
      if (!o.json) out.error(`loading for ${o.duration}s with ${o.connections} connections…`);
      const opts = { route: o.route, path: o.path, duration: o.duration, connections: o.connections };
      const r = await loadtest({ plan: loaded.plan }, opts);
      if (o.json) out.log(JSON.stringify(r, null, 2));
      else printLoadtest(out, r);
      const non2xxShare = r.requests.total ? r.requests.non2xx / r.requests.total : 0;
      if (non2xxShare > 0.01 && !o.json) {
        out.error(`${(non2xxShare * 100).toFixed(1)}% of responses were not 2xx: is ${r.target.path} the path you meant? (--path)`);
      }
      const failed = r.requests.errors + r.requests.timeouts > 0 || non2xxShare > 0.01 || r.fairness.verdict === 'unfair';
      return failed ? 'failed' : 'ok';
    }),
  );
};

function printLoadtest(out: Out, r: LoadtestResult): void {
  const q = r.requests;
  const l = r.latencyMs;
  const row = [r.url, q.total, r.rps.toFixed(0), `${l.p50} ms`, `${l.p90} ms`, `${l.p99} ms`, q.non2xx, q.errors + q.timeouts];
  out.log(table(['url', 'requests', 'req/s', 'p50', 'p90', 'p99', 'non-2xx', 'errors'], [row]));
  const who = r.source === 'edge' ? 'replica (named by the edge)' : 'replica (X-Instance)';
  out.log(
    table(
      [who, 'responses', 'share'],
      r.distribution.map((d) => [d.instance, d.count, `${(d.share * 100).toFixed(1)}%`]),
    ),
  );
  if (r.crossCheck) {
    const pairs = r.crossCheck.pairs.map((p) => `${p.server}=${p.instances.join('+')}`).join(', ');
    out.log(`cross-check with X-Instance: ${r.crossCheck.agree ? 'agrees' : 'DISAGREES'} (${pairs})`);
  }
  const f = r.fairness;
  out.log(`fairness: ${f.verdict} (chi² ${f.chiSquare.toFixed(2)}, df ${f.df}, p ${f.pValue.toFixed(3)}): ${f.explanation}`);
}

// wharf loadtest: load through the edge (autocannon over TLS to the published port with the
// route's Host header), count which replica answered, and test whether the distribution is
// uniform with a chi-square test -- what seed 003's scripts tried to show. The edge names the
// replica when it can (HAProxy: a response header on request), so the app needs nothing; an
// app's own X-Instance header is counted too, as a cross-check or the only source (Traefik).
import autocannon from 'autocannon';
import type { OpsContext } from '../engine/context.js';
import { edgeAddress } from '../engine/edge.js';
import { byCodeUnit } from '../plan/sort.js';
import type { Route } from '../plan/model.js';
import { InputError } from '../errors.js';

export interface LoadtestOptions {
  /** route name or host (default: the first non-internal route) */
  route?: string;
  /** request path (default: the health path of the route's service, else the route's path) */
  path?: string;
  /** seconds (default 10) */
  duration?: number;
  connections?: number;
  /** stop after this many requests instead of a duration */
  amount?: number;
  /** significance level of the fairness test (default 0.01) */
  alpha?: number;
  onTick?: (t: { elapsedS: number; requests: number }) => void;
}

export interface Fairness {
  /** chi-square statistic against a uniform split over the replicas */
  chiSquare: number;
  df: number;
  pValue: number;
  alpha: number;
  /** fair: uniform is not rejected; unfair: rejected; insufficient: too few responses to tell */
  verdict: 'fair' | 'unfair' | 'insufficient';
  /** replicas the plan wants that never answered */
  missingReplicas: number;
  explanation: string;
}

export interface LoadtestResult {
  route: string;
  url: string;
  target: { address: string; port: number; host: string; path: string };
  durationS: number;
  connections: number;
  requests: { total: number; ok: number; non2xx: number; errors: number; timeouts: number };
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  replicas: number;
  /** who named the replica of each response: the edge, or the app's X-Instance header */
  source: 'edge' | 'app';
  distribution: Array<{ instance: string; count: number; share: number }>;
  /** edge server -> the X-Instance values seen behind it, when both were present */
  crossCheck?: { pairs: Array<{ server: string; instances: string[] }>; agree: boolean };
  fairness: Fairness;
}

export class LoadtestError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'LoadtestError';
  }
}

/** What a load test requests when no --path is given: the health path reaches the service
 *  through the edge only when the route takes every path of its host. */
export function defaultPath(route: Pick<Route, 'path' | 'healthPath'>): string {
  return route.healthPath && route.path === '/' ? route.healthPath : route.path;
}

export async function loadtest(ctx: Pick<OpsContext, 'plan'>, opts: LoadtestOptions = {}): Promise<LoadtestResult> {
  const plan = ctx.plan;
  const candidates = plan.routes.filter((r) => !r.internal);
  const route = opts.route ? plan.routes.find((r) => r.name === opts.route || r.host === opts.route) : candidates[0];
  if (!route) {
    throw new LoadtestError(
      opts.route
        ? `no route "${opts.route}" (routes: ${plan.routes.map((r) => `${r.name} (${r.host})`).join(', ') || 'none'})`
        : 'the stack has no route to load',
    );
  }
  // The route's own path may answer 404 (the api template serves nothing at /): its service's
  // health path answers 2xx whenever the replica is up, which is what a load test can count on.
  const path = opts.path ?? defaultPath(route);
  const address = edgeAddress(plan.proxy.bind);
  const port = plan.proxy.httpsPort;
  const edge = new Map<string, number>();
  const app = new Map<string, number>();
  const pairs = new Map<string, Set<string>>();
  const trace = plan.proxy.serverHeader;
  const duration = opts.duration ?? 10;
  const connections = opts.connections ?? 10;

  const instance = { requests: 0 };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon(
      {
        url: `https://${address}:${port}`,
        connections,
        ...(opts.amount ? { amount: opts.amount } : { duration }),
        timeout: 10,
        headers: { host: route.host, 'user-agent': 'wharf-loadtest', ...(trace ? { [trace.request]: '1' } : {}) },
        servername: route.host,
        requests: [
          {
            method: 'GET',
            path,
            onResponse: (_status: number, _body: string, _context: unknown, headers?: Record<string, string | string[]>) => {
              instance.requests++;
              const server = header(headers, trace?.response);
              const id = header(headers, 'x-instance');
              if (server) edge.set(server, (edge.get(server) ?? 0) + 1);
              if (id) app.set(id, (app.get(id) ?? 0) + 1);
              if (server && id) pairs.set(server, (pairs.get(server) ?? new Set()).add(id));
              if (!server && !id) app.set(UNNAMED, (app.get(UNNAMED) ?? 0) + 1);
            },
          },
        ],
      } as autocannon.Options,
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    if (opts.onTick) {
      const t0 = Date.now();
      inst.on('tick', () => opts.onTick!({ elapsedS: Math.round((Date.now() - t0) / 1000), requests: instance.requests }));
    }
  });

  const source = edge.size ? 'edge' : 'app';
  const counts = edge.size ? edge : app;
  const total = counts.size ? [...counts.values()].reduce((a, b) => a + b, 0) : 0;
  const known = [...counts.entries()].filter(([k]) => k !== UNNAMED);
  // Agreement: each server answered as one instance, and no instance behind two servers.
  const pairList = [...pairs.entries()]
    .map(([server, ids]) => ({ server, instances: [...ids].sort(byCodeUnit) }))
    .sort((a, b) => byCodeUnit(a.server, b.server));
  const allIds = pairList.flatMap((p) => p.instances);
  const crossCheck = pairList.length
    ? { pairs: pairList, agree: pairList.every((p) => p.instances.length === 1) && new Set(allIds).size === allIds.length }
    : undefined;
  const distribution = [...counts.entries()]
    .map(([inst, count]) => ({ instance: inst, count, share: total ? count / total : 0 }))
    .sort((a, b) => byCodeUnit(a.instance, b.instance));
  const ok = result['2xx'];
  const r: LoadtestResult = {
    route: route.name,
    url: `https://${route.host}${port === 443 ? '' : `:${port}`}${path}`,
    target: { address, port, host: route.host, path },
    durationS: Math.round(result.duration * 10) / 10,
    connections,
    requests: { total: result.requests.total, ok, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
    rps: Math.round(result.requests.average),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      mean: Math.round(result.latency.mean * 100) / 100,
      max: result.latency.max,
    },
    replicas: route.replicas,
    source,
    distribution,
    crossCheck,
    fairness: fairness(
      known.map(([, c]) => c),
      route.replicas,
      opts.alpha ?? 0.01,
    ),
  };
  return r;
}

const UNNAMED = '(replica not named)';

function header(headers: Record<string, string | string[]> | undefined, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === want) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

/** Chi-square goodness of fit against a uniform split over `replicas` buckets.
 *  Replicas that never answered count as zero (so a dead replica makes it unfair). */
export function fairness(observed: number[], replicas: number, alpha = 0.01): Fairness {
  const k = Math.max(replicas, observed.length);
  const counts = [...observed, ...new Array(Math.max(0, k - observed.length)).fill(0)] as number[];
  const n = counts.reduce((a, b) => a + b, 0);
  const missingReplicas = Math.max(0, replicas - observed.length);
  const expected = n / k;
  const df = k - 1;
  if (k < 2) {
    return {
      chiSquare: 0,
      df: 0,
      pValue: 1,
      alpha,
      verdict: n > 0 ? 'fair' : 'insufficient',
      missingReplicas,
      explanation: n > 0 ? 'one replica: nothing to balance' : 'no responses',
    };
  }
  const chiSquare = counts.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  const pValue = n > 0 ? chiSquarePValue(chiSquare, df) : 1;
  if (expected < 5) {
    return {
      chiSquare,
      df,
      pValue,
      alpha,
      verdict: 'insufficient',
      missingReplicas,
      explanation: `${n} responses over ${k} replicas: fewer than 5 expected per replica, the test is not reliable`,
    };
  }
  const fair = pValue >= alpha;
  return {
    chiSquare,
    df,
    pValue,
    alpha,
    verdict: fair ? 'fair' : 'unfair',
    missingReplicas,
    explanation: fair
      ? `consistent with an even split over ${k} replicas (p=${pValue.toPrecision(3)} >= ${alpha})`
      : `not an even split over ${k} replicas (p=${pValue.toExponential(2)} < ${alpha})` +
        `${missingReplicas ? `; ${missingReplicas} replica(s) never answered` : ''}`,
  };
}

/** P(X >= x) for X ~ chi-square(df): the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquarePValue(x: number, df: number): number {
  if (x <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

function lnGamma(z: number): number {
  // Lanczos approximation (g=7, n=9)
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let a = c[0]!;
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function gammaQ(a: number, x: number): number {
  if (x < a + 1) {
    // series for P, then Q = 1 - P
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-x + a * Math.log(x) - lnGamma(a)));
  }
  // continued fraction for Q (Lentz)
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h);
}

// The HTTP application: routes, validation, error mapping, metrics and request ids.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Cache } from './cache.js';
import type { Config } from './config.js';
import { DbUnavailableError, type Db } from './db.js';
import type { Metrics } from './metrics.js';

export interface AppState {
  migrated: boolean;
  shuttingDown: boolean;
}

export interface AppDeps {
  config: Config;
  db: Db;
  cache: Cache;
  metrics: Metrics;
  logger: Logger;
  state: AppState;
}

const DATA_KEY = 'data_cache'; // the seed's key, kept so a mixed fleet shares the cache
const itemKey = (id: number) => 'item:' + id;
const REQUEST_ID_RE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

// ---- JSON schemas (validation in, fast-json-stringify out)
const itemSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    description: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
  required: ['id', 'name', 'description', 'created_at', 'updated_at'],
} as const;
const errorSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    field: { type: 'string' },
    location: { type: 'string' },
    message: { type: 'string' },
    dependency: { type: 'string' },
    request_id: { type: 'string' },
  },
} as const;
const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } },
  required: ['id'],
} as const;
const itemBody = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', maxLength: 2000 },
  },
  required: ['name'],
  additionalProperties: false,
} as const;
const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' },
    after: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
  },
  additionalProperties: false,
} as const;

/** Friendlier wording than a regex for the string-typed numeric inputs. */
const FIELD_HINTS: Record<string, string> = {
  id: 'must be a positive integer',
  limit: 'must be an integer from 1 to 100',
  after: 'must be a non-negative integer (the last id of the previous page)',
};

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function describeValidation(issue: ValidationIssue, context: string | undefined) {
  let field = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
    field = field ? `${field}.${issue.params.missingProperty}` : issue.params.missingProperty;
  } else if (issue.keyword === 'additionalProperties' && typeof issue.params.additionalProperty === 'string') {
    field = field ? `${field}.${issue.params.additionalProperty}` : issue.params.additionalProperty;
    return { field, message: 'is not an accepted field' };
  }
  if (!field) field = context ?? 'body';
  const message = issue.keyword === 'pattern' && FIELD_HINTS[field] ? FIELD_HINTS[field] : (issue.message ?? 'is invalid');
  return { field, message: issue.keyword === 'required' ? 'is required' : message };
}

export function buildApp(deps: AppDeps) {
  const { config, db, cache, metrics, logger, state } = deps;
  const ttl = config.cacheTtlSeconds;
  const instance = config.instance;

  const app = Fastify({
    loggerInstance: logger,
    disableRequestLogging: true,
    requestIdHeader: false,
    requestIdLogLabel: 'reqId',
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    reply.header('x-instance', instance);
    done();
  });

  // During shutdown, in-flight responses close their keep-alive connection so that close()
  // does not wait for clients to hang up (connections that become idle later are not reaped).
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (state.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  // Every request is counted in metrics; log lines are for failures and slow requests by
  // default (ACCESS_LOG=all logs every request; the edge proxy keeps the full access log).
  const logAll = config.accessLog === 'all';
  const logErrors = config.accessLog !== 'none';
  app.addHook('onResponse', (req, reply, done) => {
    const endpoint = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observe(endpoint, req.method, reply.statusCode, seconds);
    if (logAll || (logErrors && (reply.statusCode >= 400 || seconds >= 1))) {
      req.log.info(
        { method: req.method, endpoint, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 },
        'request completed',
      );
    }
    done();
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not found', message: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  app.setErrorHandler(
    (err: Error & { validation?: ValidationIssue[]; validationContext?: string; statusCode?: number; code?: string }, req, reply) => {
      if (err.validation && err.validation.length) {
        const { field, message } = describeValidation(err.validation[0]!, err.validationContext);
        return reply
          .code(400)
          .send({ error: 'invalid request', field, location: err.validationContext ?? 'body', message: `${field} ${message}` });
      }
      if (err instanceof DbUnavailableError) {
        metrics.dbErrors.labels(req.routeOptions.url ?? 'unmatched').inc();
        req.log.warn({ err: { message: err.message } }, 'database unavailable');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: 'service unavailable', dependency: 'database', request_id: req.id });
      }
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        // Body parsing problems (invalid JSON, wrong content type, too large): the body is at fault.
        return reply.code(err.statusCode).send({ error: 'invalid request', field: 'body', location: 'body', message: err.message });
      }
      req.log.error({ err }, 'unhandled error');
      return reply.code(500).send({ error: 'internal server error', request_id: req.id });
    },
  );

  const requireMigrated = (reply: FastifyReply): boolean => {
    if (state.migrated) return true;
    reply
      .code(503)
      .header('retry-after', '2')
      .send({ error: 'service unavailable', dependency: 'database', message: 'schema migrations have not completed yet' });
    return false;
  };

  // ---- liveness / readiness
  app.get(
    '/health',
    {
      schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
    },
    (_req, reply) => {
      reply.send({ status: 'healthy' });
    },
  );

  const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> => {
    let t: NodeJS.Timeout;
    return Promise.race([
      p,
      new Promise<T>((_, rej) => {
        t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(t));
  };
  const checkTimeout = Math.min(2000, config.db.connectTimeoutMs + 500);

  app.get('/ready', async (_req, reply) => {
    if (state.shuttingDown) {
      return reply.code(503).send({ status: 'not ready', failing: ['shutdown'], checks: { shutdown: 'in progress' } });
    }
    const [d, r] = await Promise.allSettled([withTimeout(db.ping(), checkTimeout), withTimeout(cache.ping(), checkTimeout)]);
    const checks: Record<string, string> = {
      database: d.status === 'fulfilled' ? (state.migrated ? 'ok' : 'migrating') : 'unavailable',
      redis: !cache.enabled ? 'disabled' : r.status === 'fulfilled' ? 'ok' : 'unavailable',
    };
    const failing = Object.entries(checks)
      .filter(([, v]) => v !== 'ok' && v !== 'disabled')
      .map(([k]) => k);
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? 'not ready' : 'ready', failing, checks });
  });

  // ---- metrics
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  // ---- seed 002's cached data endpoint
  const dataLoads = new SingleFlight<string>();
  const dataHit = metrics.cacheLookups.labels('/api/data', 'hit');
  const dataMiss = metrics.cacheLookups.labels('/api/data', 'miss');
  const dataErr = metrics.cacheLookups.labels('/api/data', 'error');
  app.get(
    '/api/data',
    {
      schema: { response: { 200: { type: 'object', properties: { data: { type: 'string' }, source: { type: 'string' } } } } },
    },
    async (_req, reply) => {
      const cached = await cache.get(DATA_KEY);
      if (cached) {
        dataHit.inc();
        return reply.send({ data: cached, source: 'cache' });
      }
      if (cached === null) dataMiss.inc();
      else dataErr.inc();
      const { flight, leader } = dataLoads.load(DATA_KEY, () => db.now());
      const data = await flight.promise;
      if (leader && cached === null) cache.set(DATA_KEY, data, ttl); // skip when Redis just failed
      return reply.send({ data, source: 'database' });
    },
  );

  // ---- items
  const itemLoads = new SingleFlight<string | undefined>();
  /** After a write: no in-flight load may re-cache the old value, and the cached entry goes. */
  const invalidateItem = (id: number) => {
    itemLoads.invalidate(itemKey(id));
    return cache.del(itemKey(id));
  };
  const itemHit = metrics.cacheLookups.labels('/api/items/:id', 'hit');
  const itemMiss = metrics.cacheLookups.labels('/api/items/:id', 'miss');
  const itemErr = metrics.cacheLookups.labels('/api/items/:id', 'error');

  app.post<{ Body: { name: string; description?: string } }>(
    '/api/items',
    {
      schema: { body: itemBody, response: { 201: itemSchema, '4xx': errorSchema, '5xx': errorSchema } },
    },
    async (req, reply) => {
      if (!requireMigrated(reply)) return reply;
      const item = await db.createItem(req.body.name, req.body.description ?? '');
      await invalidateItem(item.id); // ids can be reused after a restore: never trust an old entry
      return reply.code(201).header('location', `/api/items/${item.id}`).send(item);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/items/:id',
    {
      schema: { params: idParams, response: { 200: itemSchema, '4xx': errorSchema, '5xx': errorSchema } },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      const key = itemKey(id);
      const cached = await cache.get(key);
      if (cached) {
        itemHit.inc();
        // Stored already serialised: send the bytes without parsing them again.
        return reply.header('x-cache', 'hit').type('application/json; charset=utf-8').serializer(passThrough).send(cached);
      }
      if (cached === null) itemMiss.inc();
      else itemErr.inc();
      if (!requireMigrated(reply)) return reply;
      const { flight, leader } = itemLoads.load(key, async () => {
        const item = await db.getItem(id);
        return item ? JSON.stringify(item) : undefined;
      });
      const body = await flight.promise;
      if (body === undefined) return reply.code(404).send({ error: 'not found', field: 'id', message: `item ${id} does not exist` });
      if (leader && cached === null && !flight.stale) cache.set(key, body, ttl);
      return reply
        .header('x-cache', cached === null ? 'miss' : 'error')
        .type('application/json; charset=utf-8')
        .serializer(passThrough)
        .send(body);
    },
  );

  app.put<{ Params: { id: string }; Body: { name: string; description?: string } }>(
    '/api/items/:id',
    {
      schema: { params: idParams, body: itemBody, response: { 200: itemSchema, '4xx': errorSchema, '5xx': errorSchema } },
    },
    async (req, reply) => {
      if (!requireMigrated(reply)) return reply;
      const id = Number(req.params.id);
      const item = await db.updateItem(id, req.body.name, req.body.description ?? '');
      await invalidateItem(id);
      if (!item) return reply.code(404).send({ error: 'not found', field: 'id', message: `item ${id} does not exist` });
      return reply.send(item);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/items/:id',
    {
      schema: { params: idParams, response: { '4xx': errorSchema, '5xx': errorSchema } },
    },
    async (req, reply) => {
      if (!requireMigrated(reply)) return reply;
      const id = Number(req.params.id);
      const deleted = await db.deleteItem(id);
      await invalidateItem(id);
      if (!deleted) return reply.code(404).send({ error: 'not found', field: 'id', message: `item ${id} does not exist` });
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/api/items',
    {
      schema: {
        querystring: listQuery,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: itemSchema }, next_after: { type: ['integer', 'null'] } } },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (req, reply) => {
      if (!requireMigrated(reply)) return reply;
      const limit = req.query.limit ? Number(req.query.limit) : 20;
      const after = req.query.after ? Number(req.query.after) : 0;
      const items = await db.listItems(limit, after);
      const next = items.length === limit ? items[items.length - 1]!.id : null;
      return reply.send({ items, next_after: next });
    },
  );

  return app;
}

const passThrough = (payload: unknown) => payload as string;

interface Flight<T> {
  promise: Promise<T>;
  stale: boolean;
}

/**
 * Concurrent cache misses for one key share ONE database load (no stampede when a hot entry
 * expires). Only the request that started the load writes the cache, and not if a write to that
 * key happened meanwhile (invalidate() marks the load stale), so a load racing an update cannot
 * put the old value back into the cache after the update removed it.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  load(key: string, fn: () => Promise<T>): { flight: Flight<T>; leader: boolean } {
    const existing = this.flights.get(key);
    if (existing) return { flight: existing, leader: false };
    const flight: Flight<T> = { promise: undefined as unknown as Promise<T>, stale: false };
    flight.promise = fn().finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return { flight, leader: true };
  }

  invalidate(key: string): void {
    const f = this.flights.get(key);
    if (f) {
      f.stale = true;
      this.flights.delete(key);
    }
  }
}

export type { FastifyRequest };

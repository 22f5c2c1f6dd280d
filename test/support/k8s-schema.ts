// Validates Kubernetes documents against the official OpenAPI definitions of the pinned
// version (test/data/k8s-schemas: the kinds wharf renders, cut from the Kubernetes OpenAPI
// document). Strict like kubeconform's "-strict": a field the API does not define is an error
// (the API server would drop it silently), and apiVersion/kind must be the definition's own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoRoot } from './templates.js';

export const K8S_SCHEMA_VERSION = '1.32.0';

type Schema = Record<string, any>;
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

function strict(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strict);
  if (!s || typeof s !== 'object') return s;
  const o = Object.fromEntries(
    Object.entries(s as Schema).map(([k, v]) => [
      k,
      k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, x]) => [p, strict(x)])) : strict(v),
    ]),
  );
  if (o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
  return o;
}

let cache: Map<string, ValidateFunction> | undefined;

function validators(): Map<string, ValidateFunction> {
  if (cache) return cache;
  const data = JSON.parse(readFileSync(join(repoRoot, 'test', 'data', 'k8s-schemas', `kubernetes-${K8S_SCHEMA_VERSION}.json`), 'utf8')) as {
    kinds: string[];
    definitions: Record<string, Schema>;
  };
  const defs: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(data.definitions)) defs[name] = strict(d);
  // Written as a string in the OpenAPI document, but the API takes both (what kubeconform's schemas say too)
  defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  defs['io.k8s.apimachinery.pkg.api.resource.Quantity'] = {
    oneOf: [
      {
        type: 'string',
        pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
      },
      { type: 'number' },
    ],
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  const int = (bits: number) => ({
    type: 'number' as const,
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** (bits - 1),
  });
  ajv
    .addFormat('int32', int(32))
    .addFormat('int64', int(64))
    .addFormat('double', { type: 'number', validate: () => true })
    .addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/)
    .addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addSchema({ $id: 'k8s', definitions: defs });
  cache = new Map();
  for (const kind of data.kinds) {
    const gvk = (data.definitions[kind]!['x-kubernetes-group-version-kind'] as Gvk[])[0]!;
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    const schema = {
      allOf: [
        { $ref: `k8s#/definitions/${kind}` },
        { properties: { apiVersion: { const: apiVersion }, kind: { const: gvk.kind } }, required: ['apiVersion', 'kind'] },
      ],
    };
    cache.set(`${apiVersion}/${gvk.kind}`, ajv.compile(schema));
  }
  return cache;
}

/** The kinds there are definitions for, as apiVersion/kind. */
export function k8sSchemaKinds(): string[] {
  return [...validators().keys()].sort();
}

/** Errors of one document against the official schema of its kind; undefined when there is no such schema. */
export function k8sSchemaErrors(doc: Record<string, unknown>): string[] | undefined {
  const v = validators().get(`${String(doc.apiVersion)}/${String(doc.kind)}`);
  if (!v) return undefined;
  return v(doc)
    ? []
    : (v.errors ?? []).map(
        (e) =>
          `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`,
      );
}

// Before deploying: every image the plan runs is on the engine, or is pulled now, one by one,
// so a missing registry is named per image with the spec key that replaces it, instead of
// Compose's raw pull error half-way through `up` (or BuildKit's "failed to solve").
import type { Plan } from '../plan/model.js';
import type { ImageSource } from '../engine/engine.js';
import type { Runner } from '../engine/run.js';
import { byCodeUnit } from '../plan/sort.js';
import { OperationError } from '../errors.js';

export interface NeededImage {
  image: string;
  services: string[];
  /** the spec key that replaces it: images.<key>, or services.<name>.image */
  override: string;
}

export interface UnavailableImage extends NeededImage {
  reason: string;
}

/** Images the plan runs as they are (built services make their own; their bases are checked by the build). */
export function neededImages(plan: Plan): NeededImage[] {
  const byImage = new Map<string, NeededImage>();
  for (const c of plan.components) {
    if (c.build) continue;
    const override = c.imageKey ? `images.${c.imageKey}` : `services.${c.name}.image`;
    const e = byImage.get(c.image) ?? { image: c.image, services: [], override };
    e.services.push(c.name);
    byImage.set(c.image, e);
  }
  return [...byImage.values()].sort((a, b) => byCodeUnit(a.image, b.image));
}

const PULL_FAILURE = new RegExp(
  [
    'failed to solve',
    'pull access denied',
    'manifest unknown',
    'not found: manifest',
    'dial tcp',
    'no such host',
    'connection refused',
    'i/o timeout',
    'TLS handshake timeout',
    'server misbehaving',
    'failed to resolve source metadata',
    'error pulling image',
    'Get "?https?://',
  ].join('|'),
  'i',
);

/** Output of a pull or build that failed because no registry could be reached or the image is not there. */
export function isPullFailure(output: string): boolean {
  return PULL_FAILURE.test(output);
}

export class ImageUnavailableError extends OperationError {
  constructor(
    readonly images: UnavailableImage[],
    readonly build?: { services: string[]; reason: string },
  ) {
    const lines = [
      ...(images.length
        ? [`${images.length} image${images.length > 1 ? 's' : ''} could not be pulled (is a registry reachable from this engine?):`]
        : []),
      ...images.map((i) => `  ${i.image}  for ${i.services.join(', ')}  (replace with ${i.override}): ${i.reason}`),
      ...(build ? [`building ${build.services.join(', ')} failed while fetching a base image: ${build.reason}`] : []),
      'To proceed: load the images into this engine (docker load -i FILE, or docker pull from a machine that can) and rerun,',
      'or point the spec at images this engine has (`images:` in wharf.yaml, e.g. images.postgres: registry.local/postgres:16);',
      'with no registry at all, scripts/quickstart.sh --local-images builds local substitutes from Debian packages (README: "Without a registry").',
    ];
    super(lines.join('\n'));
    this.name = 'ImageUnavailableError';
  }
}

type LocalImages = Extract<ImageSource, { kind: 'local' }>;

/** The ID of each image the engine has, asked at once (read-only: run beside the other first reads of `up`). */
export async function findImages(refs: string[], images: LocalImages, runner: Runner): Promise<Map<string, string>> {
  return refs.length ? images.find(runner, refs) : new Map();
}

/** Finds each needed image locally (or takes what `found` says) or pulls it, one by one; collects every failure, then throws once. */
export async function ensureImages(
  plan: Plan,
  images: LocalImages,
  runner: Runner,
  onPull: (image: string) => void = () => {},
  found?: Map<string, string>,
): Promise<{ present: string[]; pulled: string[] }> {
  const present: string[] = [];
  const pulled: string[] = [];
  const failed: UnavailableImage[] = [];
  const needed = neededImages(plan);
  const have =
    found ??
    (await findImages(
      needed.map((n) => n.image),
      images,
      runner,
    ));
  for (const n of needed) {
    if (have.has(n.image)) {
      present.push(n.image);
      continue;
    }
    onPull(n.image);
    const r = await runner(images.pull(n.image), { reject: false });
    if (r.exitCode === 0) {
      pulled.push(n.image);
      continue;
    }
    const out = `${r.stderr}\n${r.stdout}`.trim();
    failed.push({ ...n, reason: r.timedOut ? 'timed out' : (out.split('\n').filter(Boolean).pop() ?? `exit ${r.exitCode}`).slice(0, 300) });
  }
  if (failed.length) throw new ImageUnavailableError(failed);
  return { present, pulled };
}

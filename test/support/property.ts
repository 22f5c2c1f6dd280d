// One place for fast-check's run parameters. CI gates a submission, so under CI=true the
// seed is fixed and a run is reproducible; elsewhere each run explores new inputs. Either
// way PROPERTY_SEED and PROPERTY_RUNS override, and a failure prints the seed to replay.
const CI_SEED = 20261202;

export function propertyParams(defaultRuns: number): { numRuns: number; seed?: number; includeErrorInReport: true } {
  const numRuns = Number(process.env.PROPERTY_RUNS ?? defaultRuns);
  const seed = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : process.env.CI === 'true' ? CI_SEED : undefined;
  return { numRuns, ...(seed === undefined ? {} : { seed }), includeErrorInReport: true };
}

/**
 * The deploy's stages, named once, in Dokku's order (STYLE.md 6.1). The names are what
 * `job.stage()` sends down the queue's output channel, what `builds:info` shows as a job's
 * stage, what the `----->` headings of `git push` say, and the keys of a deploy's timings
 * (bench/deploy.sh); docs/deploys.md describes each and a unit test keeps the two in step.
 */

/** One stage: its name on the wire, the heading the user reads, and what it does. */
export interface StageSpec {
  readonly name: string;
  /** The `----->` heading's text. */
  readonly heading: string;
  /** What the stage does, in one line (docs/deploys.md). */
  readonly does: string;
}

const spec = <const N extends string>(name: N, heading: string, does: string) => ({ name, heading, does }) as const;

/** Every stage, in the order a push goes through them. */
export const stages = [
  spec('receive', 'Receiving', "the pushed commit's tree is archived from the app's bare repo into a fresh directory, checked entry by entry"),
  spec('build', 'Building', 'the Dockerfile builder or the buildpacks turn the source into an image'),
  spec('release', 'Releasing', 'a numbered release records the image, the config vars, the process types and the scale'),
  spec(
    'release-phase',
    'Running the release phase',
    "the release command (Procfile `release:` or app.json's predeploy) runs once in a one-off container of the new image",
  ),
  spec('start', 'Starting', 'new containers start for each process type at its scale, each with its PORT, DYNO and config vars'),
  spec('checks', 'Checking', 'the new web containers must pass the health checks; a failure stops them and leaves the old release serving'),
  spec('switch', 'Switching traffic', "nginx's upstreams move to the new web containers (a reload that drops no request)"),
  spec('retire', 'Retiring the old release', "the previous release's containers get SIGTERM after a grace for requests in flight, then SIGKILL"),
  spec('record', 'Recording', 'the release becomes the current one'),
] as const;

export type StageName = (typeof stages)[number]['name'];

/** The stage names in order. */
export const stageNames: readonly StageName[] = stages.map((s) => s.name);

/** The stages a job without a build (config change, scale, rollback) goes through. */
export const stagesWithoutBuild: readonly StageName[] = stageNames.filter((s) => s !== 'receive' && s !== 'build');

const byName = new Map<string, StageSpec>(stages.map((s) => [s.name, s]));

/** Whether `name` is one of the stages. */
export function isStage(name: string): name is StageName {
  return byName.has(name);
}

/** The stage's spec; undefined for a name that is not a stage. */
export function stageSpec(name: string): StageSpec | undefined {
  return byName.get(name);
}

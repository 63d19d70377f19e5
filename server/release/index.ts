/**
 * release's surface (docs/releases.md): the engine that puts a release in service (release
 * phase, containers per process type, health checks, switch, retire), its plan and settings,
 * and the app.json healthchecks check. Tests import the inner files directly.
 */
export { createReleaseEngine } from './engine.js';
export { parseHealthchecks, type AppHealthchecks } from './healthchecks.js';
export { validatePlan } from './plan.js';
export {
  defaultReleaseSettings,
  labels as releaseLabels,
  type CleanupOutcome,
  type DeployOutcome,
  type ProcessSpec,
  type ReleaseEngine,
  type ReleaseIo,
  type ReleasePlan,
  type ReleaseServices,
  type ReleaseSettings,
  type ReleaseStage,
} from './types.js';

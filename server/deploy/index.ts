/**
 * deploy's surface: the pipeline as the queue's processor, the cleanup the queue runs for a
 * job whose daemon died, and the stages named once (docs/deploys.md). The composition root
 * (daemon.ts) fills DeployPorts with the apps store, the builders, the image store and the
 * release engine, and hands both functions to the queue's worker.
 */
import { Pipeline } from './pipeline.js';
import type { DeployPorts, DeployProcessor } from './ports.js';

/** The queue's processor for every job kind: push, config, scale, rollback. */
export function createDeployProcessor(ports: DeployPorts): DeployProcessor {
  const pipeline = new Pipeline(ports);
  return (job) => pipeline.run(job);
}

export { createInterruptedCleanup } from './cleanup.js';
export { stages, stageNames, type StageName, type StageSpec } from './stages.js';
export { releaseTag } from './pipeline.js';
export { imageFacts } from './process-types.js';
export type {
  DeployPorts,
  DeployProcessor,
  DeployJob,
  InterruptedCleanup,
  InterruptedJob,
  AppsPort,
  BuildPort,
  ImagesPort,
  ImageFacts,
  ReleasePort,
  DeploySettings,
  BuiltImage,
} from './ports.js';

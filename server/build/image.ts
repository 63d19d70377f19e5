/**
 * The image each step makes: the parent's layers (plus the step's own, when it changes the
 * filesystem), the stage's config as it stands after the step, and the parent's history
 * with one more entry (`empty_layer` for a step that only changes the config), as Docker's
 * classic builder commits every step. Written with the store's public calls; untagged until
 * the build tags its last image.
 */
import {
  manifestFor,
  type ContainerConfig,
  type Descriptor,
  type History,
  type Image,
  type ImageConfig,
  type ImageStore,
  type Lease,
} from '../images/index.js';

export interface StepImage {
  /** The parent image, or undefined for `FROM scratch`. */
  parent: Image | undefined;
  layer?: { descriptor: Descriptor; diffId: string };
  config: ContainerConfig;
  history: Omit<History, 'created'>;
  author?: string;
}

/** Store the image a step made. */
export async function writeStepImage(store: ImageStore, step: StepImage, lease: Lease): Promise<Image> {
  const created = new Date().toISOString();
  const base = step.parent?.config;
  const config: ImageConfig = {
    ...(base ?? { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    created,
    config: step.config,
    rootfs: { type: 'layers', diff_ids: [...(base?.rootfs.diff_ids ?? []), ...(step.layer ? [step.layer.diffId] : [])] },
    history: [...(base?.history ?? []), { created, ...step.history, ...(step.layer ? {} : { empty_layer: true }) }],
  };
  if (step.author !== undefined) config.author = step.author;
  const layers = [...(step.parent?.manifest.layers ?? []), ...(step.layer ? [step.layer.descriptor] : [])];
  const bytes = await manifestFor(store, config, layers, lease);
  lease.add((await store.writeBlob(bytes, { what: 'manifest', lease })).digest);
  return store.addImage(bytes);
}

/** An image's short id as printed: 12 hex digits of its manifest digest. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

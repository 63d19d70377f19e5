/**
 * Image references, in Docker's grammar (distribution/reference): `[host[:port]/]path[:tag][@sha256:hex]`.
 * No Docker Hub default: Berth has no implied registry, so `busybox` means the image named
 * `busybox` in the local store, and a registry is always named (`127.0.0.1:5000/app:v1`).
 * Bad input is rejected with the offending part named, never repaired.
 */
import { BerthError } from '../core/index.js';

export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** `host[:port]` when the first component names a registry. */
  readonly registry?: string;
  /** The path after the registry: `library/busybox`, `app`. */
  readonly repository: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  readonly tag?: string;
  /** `sha256:<hex>` when the reference pins a manifest. */
  readonly digest?: string;
  /** `[registry/]repository`. */
  readonly name: string;
}

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(input: string, why: string): BerthError {
  return new BerthError('E_IMAGE_REFERENCE_INVALID', `image reference ${JSON.stringify(input)} is not valid: ${why}`, {
    details: { reference: input },
  });
}

/** Parse an image reference; `latest` is implied when there is neither tag nor digest. */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw invalid(input, 'it is empty');
  if (input.length > 512) throw invalid(input, 'it is longer than 512 characters');
  const bad = /[^A-Za-z0-9._:@/\-[\]]/.exec(input);
  if (bad) throw invalid(input, `character ${JSON.stringify(bad[0])} at position ${bad.index} is not allowed`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw invalid(input, `digest ${JSON.stringify(digest)} must be sha256:<64 lowercase hex digits>`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) {
      throw invalid(input, `tag ${JSON.stringify(tag)} must be 1 to 128 of A-Z a-z 0-9 _ . - and not start with . or -`);
    }
  }
  const parts = rest.split('/');
  let registry: string | undefined;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!hostPattern.test(first)) throw invalid(input, `registry ${JSON.stringify(first)} is not a host name or host:port`);
    const port = /:(\d+)$/.exec(first)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalid(input, `port ${port} is not between 1 and 65535`);
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => p === '')) throw invalid(input, 'the name has an empty component');
  for (const p of parts) {
    if (!component.test(p)) {
      throw invalid(input, `name component ${JSON.stringify(p)} must be lowercase letters and digits, separated by one ".", "_", "__" or dashes`);
    }
  }
  const repository = parts.join('/');
  const name = registry === undefined ? repository : `${registry}/${repository}`;
  if (name.length > 255) throw invalid(input, 'the name is longer than 255 characters');
  return {
    ...(registry === undefined ? {} : { registry }),
    repository,
    ...(tag === undefined && digest === undefined ? { tag: DEFAULT_TAG } : tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    name,
  };
}

/** `name:tag`, `name@digest` or `name:tag@digest`: the canonical text of a reference. */
export function formatReference(ref: ImageReference): string {
  return `${ref.name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The reference as a tag Berth stores (`name:tag`); digest-only references have none. */
export function tagOf(ref: ImageReference): string | undefined {
  return ref.tag === undefined ? undefined : `${ref.name}:${ref.tag}`;
}

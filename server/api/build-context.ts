/**
 * A build context received as a tar stream (what `berth image:build` and Docker's client
 * send), extracted into a fresh directory by core's extractTar, with nothing trusted: a
 * refused entry is E_BUILD_CONTEXT_INVALID naming it, more bytes than the configured maximum
 * E_BUILD_CONTEXT_TOO_LARGE. `.dockerignore` is applied by the builder when it reads the
 * context (server/build, context.ts).
 */
import type { Readable } from 'node:stream';
import { BerthError, extractTar, tarEntryPath, type ExtractedTar, type TarRules } from '../core/index.js';

const rules = (maxBytes: number): TarRules => ({
  scope: 'the context',
  maxBytes,
  invalid: (entry, why) => new BerthError('E_BUILD_CONTEXT_INVALID', `the build context's entry ${JSON.stringify(entry)} ${why}`, { details: { entry } }),
  tooLarge: (max) =>
    new BerthError('E_BUILD_CONTEXT_TOO_LARGE', `the build context is larger than ${max} bytes, the most this daemon accepts (BERTH_BUILD_CONTEXT_MAX)`, {
      details: { max },
    }),
  unreadable: (cause) => new BerthError('E_BUILD_CONTEXT_INVALID', `the build context is not a readable tar stream: ${cause.message}`, { cause }),
});

/**
 * The entry's path relative to the context root (`./a/b/` → `a/b`), or an error: absolute,
 * `..` anywhere, a NUL byte. `''` is the root itself.
 */
export const contextPath = (name: string): string => tarEntryPath(name, rules(0));

export type ExtractedContext = ExtractedTar;

/**
 * Extract the tar `body` into `dir` (which must exist and be empty), reading at most
 * `maxBytes` of it. On failure `dir` may hold part of the context (the caller removes it)
 * and `body` is left unread (the caller drains or closes it).
 */
export const extractContext = (body: Readable, dir: string, maxBytes: number): Promise<ExtractedContext> => extractTar(body, dir, rules(maxBytes));

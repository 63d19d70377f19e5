/**
 * `.dockerignore` with Docker's exact rules, through @balena/dockerignore: what the CLI
 * leaves out of the context it sends and what the builder hides from COPY and ADD read the
 * same patterns the same way (docs/builds.md, ".dockerignore").
 */
import ignoreModule from '@balena/dockerignore';

// The package is CommonJS (module.exports = factory); its types declare an ES default export.
const ignore = ignoreModule as unknown as typeof ignoreModule.default;

/** The patterns of a `.dockerignore` text: comments and blank lines dropped, each line trimmed. */
export function ignorePatterns(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export interface IgnoreMatcher {
  /** Whether a context-relative path (`a/b.txt`, no leading `/`) is excluded; `''`, the root, never is. */
  ignores(path: string): boolean;
  /**
   * Whether an exception (`!…`) may bring back something below the directory `dir`: then an
   * excluded `dir` is still walked (and still exists, for what is brought back), as Docker's
   * client does. Conservative: a wildcard before the first `/` of an exception answers yes.
   */
  reincludesBelow(dir: string): boolean;
}

export function dockerignoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const ig = ignore().add([...patterns]);
  const exceptions = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/^\/+/, ''));
  return {
    ignores: (path) => path !== '' && ig.ignores(path),
    reincludesBelow: (dir) =>
      exceptions.some((e) => {
        const literal = e.split(/[*?[]/)[0] ?? '';
        return literal.startsWith(`${dir}/`) || `${dir}/`.startsWith(literal);
      }),
  };
}

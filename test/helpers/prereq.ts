import { accessSync, constants } from 'node:fs';

/**
 * A missing prerequisite fails the test with the command that installs it; it never
 * skips (docs/architecture.md, "Conventions").
 */
export function requireBinary(path: string, aptPackage: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: install it with \`apt-get install -y ${aptPackage}\` (or run \`sudo scripts/test\`, which installs everything)`);
  }
  return path;
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root: run the tests with \`sudo scripts/test\``);
}

/**
 * This CLI's version line, for `berth --version`. package.json is read here rather than
 * through core (core/index.js loads pino and every core module, some 45 ms) so that
 * `--version` and `--help` load nothing but commander and the declarations. The relative
 * URL holds for the sources (server/cli/lib) and the build (dist/cli/lib) alike.
 */
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export const versionLine = `berth ${version} (node ${process.version})`;

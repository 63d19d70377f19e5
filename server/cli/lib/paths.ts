/** API paths the commands share (docs/api.md, "Routes"). */
import { validateAppName } from '../../core/index.js';

/** A container's path: `/v1/containers/<ref>` (an id, an id prefix or a name). */
export const containerPath = (ref: string): string => `/v1/containers/${encodeURIComponent(ref)}`;

/** An image reference in a query string: `ref=<ref>` (references hold "/" and ":"). */
export const imageQuery = (ref: string): string => `ref=${encodeURIComponent(ref)}`;

/**
 * An app's path: `/v1/apps/<name>`. The name is checked here too, as the daemon checks it:
 * `..` would otherwise be folded away by URL resolution before the daemon could refuse it.
 */
export const appPath = (name: string): string => `/v1/apps/${encodeURIComponent(validateAppName(name))}`;

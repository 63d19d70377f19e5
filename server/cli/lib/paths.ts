/** API paths the commands share (docs/api.md, "Routes"). */

/** A container's path: `/v1/containers/<ref>` (an id, an id prefix or a name). */
export const containerPath = (ref: string): string => `/v1/containers/${encodeURIComponent(ref)}`;

/** An image reference in a query string: `ref=<ref>` (references hold "/" and ":"). */
export const imageQuery = (ref: string): string => `ref=${encodeURIComponent(ref)}`;

/**
 * A build's events as Docker's classic builder prints them, one line each (no newline):
 *
 *   Step 2/3 : RUN echo hi
 *    ---> Running in 5a8c9f1d9a9e
 *   hi
 *   Removing intermediate container 5a8c9f1d9a9e
 *    ---> 8f2d4e0c2b1a
 *   Successfully built 8f2d4e0c2b1a
 *   Successfully tagged hello:latest
 */
import type { BuildEvent } from './types.js';

export function formatEvent(e: BuildEvent): string {
  switch (e.type) {
    case 'step':
      return `Step ${e.step}/${e.total} : ${e.instruction}`;
    case 'running':
      return ` ---> Running in ${e.container}`;
    case 'output':
      return e.line;
    case 'cache':
      return ' ---> Using cache';
    case 'removed':
      return `Removing intermediate container ${e.container}`;
    case 'image':
      return ` ---> ${e.id}`;
    case 'pulling':
      return `Pulling ${e.image}`;
    case 'pulled':
      return `Status: Downloaded newer image for ${e.image}`;
    case 'triggers':
      return `# Executing ${e.count} build trigger${e.count === 1 ? '' : 's'}`;
    case 'warning':
      return `[Warning] ${e.message}`;
    case 'built':
      return `Successfully built ${e.id}`;
    case 'tagged':
      return `Successfully tagged ${e.tag}`;
    case 'line':
      return e.line;
  }
}

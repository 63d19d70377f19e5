import type { ContainerManager } from '../containers/index.js';

/**
 * What the API uses of the container manager. A type of its own so that router tests can
 * stand in a small in-memory implementation (test/unit/api).
 */
export type ContainerService = Pick<
  ContainerManager,
  'list' | 'create' | 'inspect' | 'remove' | 'start' | 'stop' | 'kill' | 'stats' | 'commit' | 'logs' | 'attach' | 'exec' | 'usersOf' | 'imageRoots'
>;

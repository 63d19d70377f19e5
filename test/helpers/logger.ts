import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../server/core/index.js';

/** A JSON logger writing to `<dir>/test.log`, so a failing test's log can be read. */
export function testLogger(dir: string): Logger {
  return createLogger({ level: 'debug', pretty: false, destination: createWriteStream(join(dir, 'test.log')) });
}

import { createLogger } from '../../../core/index.js';
import { loadConfig } from '../../../config/index.js';

/** `berth daemon`: starts the daemon and returns; it serves until SIGTERM or SIGINT (its declaration is long-running). */
export async function daemon(o: { printConfig?: true }): Promise<void> {
  const config = loadConfig();
  if (o.printConfig) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  // Loaded here, not at the top: --print-config needs neither express nor ioredis.
  const { runDaemon } = await import('../../../daemon.js');
  const log = createLogger({ level: config.logLevel });
  try {
    await runDaemon(config, log);
  } catch (err) {
    log.fatal({ err }, 'the daemon could not start');
    throw err;
  }
}

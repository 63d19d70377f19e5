import { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../../config/index.js';

export const daemonCommand = new Command('daemon')
  .description('run the Berth daemon in the foreground (scripts/up starts it in the background)')
  .option('--print-config', 'validate the configuration, print it as JSON and exit')
  .action(async (options) => {
    const config = loadConfig();
    if (options.printConfig) {
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return;
    }
    // Loaded here, not at the top: other commands need neither express nor ioredis.
    const [{ createLogger }, { runDaemon }] = await Promise.all([import('../../core/index.js'), import('../../daemon.js')]);
    const log = createLogger({ level: config.logLevel });
    try {
      await runDaemon(config, log);
    } catch (err) {
      log.fatal({ err }, 'the daemon could not start');
      throw err;
    }
  });

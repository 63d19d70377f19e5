import { BerthError } from '../../../core/index.js';
import { containerPath } from '../../lib/paths.js';
import { session } from '../../lib/session.js';
import { resolveSettings } from '../../lib/settings.js';
import { localTerminal } from '../../lib/stream.js';
import { parseEnv } from './env.js';
import { withDockerStatus } from './status.js';

/** `container:exec`: a program in a running container, as a stream; exits with its status. */
export async function exec(r: string, command: string[], o: { interactive?: true; tty?: true; env: string[]; workdir?: string; user?: string }): Promise<void> {
  await withDockerStatus(async () => {
    const settings = resolveSettings();
    const size = o.tty ? localTerminal().size() : undefined;
    const env = parseEnv(o.env);
    const query = new URLSearchParams({ cmd: JSON.stringify(command) });
    if (o.tty) query.set('tty', 'true');
    if (env.length > 0) query.set('env', JSON.stringify(env));
    if (o.workdir !== undefined) query.set('workdir', o.workdir);
    if (o.user !== undefined) query.set('user', o.user);
    if (size) {
      query.set('rows', String(size.rows));
      query.set('cols', String(size.cols));
    }
    const result = await session(settings, `${containerPath(r)}/exec?${query}`, {
      interactive: o.interactive === true,
      tty: o.tty === true,
      closeStdinAtOnce: !o.interactive,
    });
    if (result.kind === 'detached') return 0;
    if (result.kind === 'exit') return result.status.exitCode;
    throw new BerthError('E_CLI_BAD_RESPONSE', "the exec stream ended without the command's exit status");
  });
}

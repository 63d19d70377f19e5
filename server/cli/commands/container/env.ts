/**
 * `-e K=V` and `-e K` of container:run and container:exec. The entry rule is core's
 * (parseEnvEntry: the daemon checks by the same one); `-e K` takes K's value from this CLI's
 * environment and is left out when K is not set there (Docker's rule).
 */
import { BerthError, parseEnvEntry } from '../../../core/index.js';

export function parseEnv(values: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const v of values) {
    const fromHere = !v.includes('=');
    try {
      parseEnvEntry(fromHere ? `${v}=` : v);
    } catch (e) {
      throw new BerthError('E_CLI_USAGE', `-e ${JSON.stringify(v)}: ${(e as Error).message}`, { cause: e });
    }
    if (!fromHere) out.push(v);
    else if (env[v] !== undefined) out.push(`${v}=${env[v]}`);
  }
  return out;
}

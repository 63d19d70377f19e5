#!/usr/bin/env node
/**
 * The `berth` command. Node's compile cache is turned on first (its V8 code cache of every
 * module the CLI loads, under the user's cache directory), then the program is loaded:
 * bench/cli.sh measures what that saves.
 */
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/berth/node-compile-cache`, else `~/.cache/berth/…`. Node reports a directory it cannot write and carries on without the cache. */
function compileCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'berth', 'node-compile-cache');
}

try {
  enableCompileCache(compileCacheDir(process.env));
} catch {
  // No home directory, or a Node without the cache: start without it.
}

const { run } = await import('./program.js');
const outcome = await run(process.argv.slice(2));
// A long-running command (the daemon) goes on after its action returned; every other one
// ends now, whatever idle sockets (HTTP keep-alive) would keep the process waiting.
if (!outcome.longRunning || outcome.status !== 0) process.exit(outcome.status);

/**
 * `berth container:*`: Docker's container commands, flags, words and columns, through the
 * daemon's API (docs/containers.md). The declarations only: each action loads its
 * command's file when it runs (lib/command.ts). `run` and `exec` exit with the program's
 * status (status.ts), and with Docker's 125 on a usage error.
 */
import { Command } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';
import { BERTH_FAILED_EXIT } from './exit.js';
import { collect, collectWith, parseCount, parseCpus, parseMemory, parsePublish, type PortMapping } from './options.js';

const run = new Command('container:run')
  .description("create a container from an image and run it (Docker's run)")
  .argument('<image>', 'the image: name[:tag] or a digest')
  .argument('[command...]', "the command and its arguments (default: the image's)")
  .option('-d, --detach', "run in the background and print the container's id")
  .option('-i, --interactive', 'keep stdin open and send yours to it')
  .option('-t, --tty', 'give the container a terminal')
  .option('--rm', 'remove the container when it exits')
  .option('-e, --env <K=V>', 'set a variable (-e K takes K from your environment); repeatable', collect, [] as string[])
  .option('--name <name>', 'name the container')
  .option('-m, --memory <size>', 'memory limit: a number with b, k, m or g (512m, 1g)', parseMemory)
  .option('--cpus <n>', 'CPU limit: a decimal number of CPUs (0.5, 2)', parseCpus)
  .option('--pids-limit <n>', 'how many processes it may have', parseCount)
  .option('-p, --publish <HOST:PORT>', "publish a container port on the host's 127.0.0.1; repeatable", collectWith(parsePublish), [] as PortMapping[])
  .option('-w, --workdir <dir>', 'the working directory inside the container')
  .option('-u, --user <user>', 'user[:group] (names or numbers) to run as')
  .option('--entrypoint <cmd>', 'override the image\'s entrypoint ("" clears it)')
  .option('-l, --label <k=v>', 'set a label; repeatable', collect, [] as string[])
  .passThroughOptions()
  .action(async (image, command, o) => (await import('./run.js')).run(image, command, o));

const ls = new Command('container:ls')
  .alias('container:ps')
  .description('list containers (running ones; -a for all)')
  .option('-a, --all', 'also the ones that are not running')
  .option('-q, --quiet', 'print only the ids')
  .option('--no-trunc', 'full ids and commands')
  .addOption(formatOption())
  .action(async (o) => (await import('./ls.js')).ls(o));

const start = new Command('container:start')
  .description('start stopped containers (changes in their filesystem are kept)')
  .argument('<container...>', 'id, id prefix or name')
  .option('-a, --attach', "attach stdout and stderr and exit with the container's status")
  .option('-i, --interactive', 'attach stdin too')
  .action(async (refs, o) => (await import('./start.js')).start(refs, o));

const stop = new Command('container:stop')
  .description('stop running containers: SIGTERM, then SIGKILL after the timeout')
  .argument('<container...>')
  .option('-t, --time <seconds>', 'seconds to wait before SIGKILL', parseCount, 10)
  .action(async (refs, o) => (await import('./stop.js')).stop(refs, o));

const kill = new Command('container:kill')
  .description('send a signal to running containers (SIGKILL by default)')
  .argument('<container...>')
  .option('-s, --signal <signal>', 'signal name or number', 'KILL')
  .action(async (refs, o) => (await import('./kill.js')).kill(refs, o));

const rm = new Command('container:rm')
  .description('remove containers (-f also a running one, killing it)')
  .argument('<container...>')
  .option('-f, --force', 'kill a running container first')
  .action(async (refs, o) => (await import('./rm.js')).rm(refs, o));

const logs = new Command('container:logs')
  .description("print a container's output (its log survives stop and start)")
  .argument('<container>')
  .option('-f, --follow', 'keep printing until the container stops')
  .option('--tail <n>', 'only the last N lines ("all" for every line)', 'all')
  .option('-t, --timestamps', 'prefix each line with its time')
  .action(async (r, o) => (await import('./logs.js')).logs(r, o));

const exec = new Command('container:exec')
  .description('run a command in a running container')
  .argument('<container>')
  .argument('<command...>')
  .option('-i, --interactive', 'send your stdin to it')
  .option('-t, --tty', 'give it a terminal')
  .option('-e, --env <K=V>', 'set a variable; repeatable', collect, [] as string[])
  .option('-w, --workdir <dir>', 'working directory')
  .option('-u, --user <user>', 'user[:group] to run as')
  .passThroughOptions()
  .action(async (r, command, o) => (await import('./exec.js')).exec(r, command, o));

const commit = new Command('container:commit')
  .description("make an image of a container's changes")
  .argument('<container>')
  .argument('[repository]', 'REPOSITORY[:TAG] to tag the image with')
  .option('-m, --message <message>', 'commit message')
  .option('-a, --author <author>', 'author ("Name <email>")')
  .option('-c, --change <instruction>', 'CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE or LABEL, as in a Dockerfile; repeatable', collect, [] as string[])
  .action(async (r, repository, o) => (await import('./commit.js')).commit(r, repository, o));

const inspect = new Command('container:inspect')
  .description('show containers as JSON (config, state, limits, network)')
  .argument('<container...>')
  .action(async (refs) => (await import('./inspect.js')).inspect(refs));

const stats = new Command('container:stats')
  .description("show running containers' CPU, memory and process counts")
  .argument('<container...>')
  .option('--no-stream', 'print once and exit')
  .action(async (refs, o) => (await import('./stats.js')).stats(refs, o));

/** Docker's run and exec exit 125 on a usage error, not the CLI's usual 2. */
const docker = { usageExit: BERTH_FAILED_EXIT };

export const containerCommands: CommandDeclaration[] = [
  { command: run, ...docker },
  { command: ls },
  { command: start },
  { command: stop },
  { command: kill },
  { command: rm },
  { command: logs },
  { command: exec, ...docker },
  { command: commit },
  { command: inspect },
  { command: stats },
];
